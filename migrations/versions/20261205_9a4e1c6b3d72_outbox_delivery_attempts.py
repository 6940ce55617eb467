"""outbox_message.attempts, next_attempt_at: customer notices delivered after the commit

Complaint notices (the acknowledgement, extension, decision …) went to the outbox adapter
only, which marks them sent and delivers nothing, even where a real SMS gateway or mail server
was configured for the channel. They now go through the channel's configured backend after the
use case commits, retried with back-off; these columns hold the attempts and the next one due.

Revision ID: 9a4e1c6b3d72
Revises: 5d0c7a9e2f61
Create Date: 2026-12-05 03:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9a4e1c6b3d72"
down_revision = "5d0c7a9e2f61"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_outbox_message_next_attempt_at", "outbox_message", ["next_attempt_at"], unique=False
    )


def downgrade():
    op.drop_index("ix_outbox_message_next_attempt_at", table_name="outbox_message")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
