"""invitation.complaint_id, and the invitation status ``cancelled``

A complaint-resolution survey is scheduled 24 hours after a complaint is closed. When the
customer asks for a review (核查) before it goes out, it must not ask how satisfied they are
with a resolution being re-examined: the invitation now records its complaint, so the review
request can cancel it (status ``cancelled``, the reason in ``failure``; the row is kept).
Invitations scheduled before this migration have no complaint recorded and are left alone.

Revision ID: 8d2a6f4b1c57
Revises: 3e7b5c1d9a40
Create Date: 2026-12-06 03:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "8d2a6f4b1c57"
down_revision = "3e7b5c1d9a40"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invitation") as batch:
        batch.add_column(sa.Column("complaint_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_invitation_complaint_id"), ["complaint_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_invitation_complaint_id_complaint"), "complaint", ["complaint_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("invitation") as batch:
        batch.drop_constraint(batch.f("fk_invitation_complaint_id_complaint"), type_="foreignkey")
        batch.drop_index(batch.f("ix_invitation_complaint_id"))
        batch.drop_column("complaint_id")
