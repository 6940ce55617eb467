"""invitation.external_ref: an integrator's retry of POST /api/v1/invitations sends nothing twice

An integrator that timed out waiting for the answer and asked again got a second invitation, a
second link and a second SMS for the same customer. The optional ``external_ref`` (the
integrator's own id for the request) is unique: a retry with it returns the first invitation and
its link, also when the retries arrive at once.

Revision ID: a7c3e1f9b260
Revises: f2c6a9d41b58
Create Date: 2026-12-15 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a7c3e1f9b260"
down_revision = "f2c6a9d41b58"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invitation") as batch:
        batch.add_column(sa.Column("external_ref", sa.String(length=100), nullable=True))
    op.create_index("uq_invitation_external_ref", "invitation", ["external_ref"], unique=True)


def downgrade():
    op.drop_index("uq_invitation_external_ref", table_name="invitation")
    with op.batch_alter_table("invitation") as batch:
        batch.drop_column("external_ref")
