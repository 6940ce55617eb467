"""branch customer counts: the population of complaints per 10,000 customers

Each branch may carry the bank's own count of its customers (set with ``flask branches
set-customers``). Existing branches start without one: the dashboards show the figure as
unknown until the bank registers its counts, rather than dividing by Kesheng's customer table.

Revision ID: f18f92b0521c
Revises: 2042a6b96846
Create Date: 2026-12-04 01:30:22.782286

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f18f92b0521c"
down_revision = "2042a6b96846"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("branch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_count", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("branch", schema=None) as batch_op:
        batch_op.drop_column("customer_count")
