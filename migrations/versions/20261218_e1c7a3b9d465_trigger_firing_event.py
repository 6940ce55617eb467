"""trigger_firing.event: what the integrator said of the event (unit, product, attributes)

``POST /api/v1/events`` accepted ``attributes`` (a loan's number and amount, the account opened)
and kept none of it: the agent calling a customer about a loan paid out could not see which
loan. The event's ``branch_code``, ``product_code`` and ``attributes`` (texts redacted) are kept
with each rule's record of it and shown beside the call or the answers it led to.

Revision ID: e1c7a3b9d465
Revises: d8b4f1a6c372
Create Date: 2026-12-18 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e1c7a3b9d465"
down_revision = "d8b4f1a6c372"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("trigger_firing") as batch:
        batch.add_column(sa.Column("event", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("trigger_firing") as batch:
        batch.drop_column("event")
