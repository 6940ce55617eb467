"""invitation.token_sealed: the link's token kept sealed, so resends carry the same link

A retry or a reminder used to make a new token and replace the hash, so the customer's first
message and the URL an integrator got from POST /api/v1/invitations stopped working. The token
is now also stored AES-GCM encrypted under the personal-data key. Invitations sent before this
revision have none: their next resend makes a new link, as before.

Revision ID: 5d0c7a9e2f61
Revises: 8c41d2a7e5b3
Create Date: 2026-12-05 02:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5d0c7a9e2f61"
down_revision = "8c41d2a7e5b3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invitation") as batch:
        batch.add_column(sa.Column("token_sealed", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("invitation") as batch:
        batch.drop_column("token_sealed")
