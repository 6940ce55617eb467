"""campaign.once_per_device: an anonymous link takes one answer per browser

An anonymous campaign link took any number of answers from one browser: refreshing the
thank-you page or submitting again stored another response. New anonymous campaigns take one
answer per browser unless staff untick it (a branch's shared tablet). Campaigns made before
keep taking any number (server default false).

Revision ID: 7e3b9d2f4a18
Revises: 5d1f7a3c9e62
Create Date: 2026-12-09 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7e3b9d2f4a18"
down_revision = "5d1f7a3c9e62"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("once_per_device", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_column("once_per_device")
