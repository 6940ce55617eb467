"""rollup_followup: product and survey of each task (the 回访 page's filters)

The 回访 dashboard showed the whole bank's figures under a product or questionnaire filter
(its header naming the filter): the rollup kept only the day, branch and reason of each task.
The rows now also carry the task's product and survey. Rows written before this revision have
neither, so a filtered 回访 page counts only tasks created since, until
``flask --app wsgi dashboards rebuild`` recomputes them (unfiltered figures are unchanged).

Revision ID: f2a8d4c6b017
Revises: e1c7a3b9d465
Create Date: 2026-12-19 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f2a8d4c6b017"
down_revision = "e1c7a3b9d465"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("rollup_followup") as batch:
        batch.add_column(sa.Column("product_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("survey_id", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("rollup_followup") as batch:
        batch.drop_column("survey_id")
        batch.drop_column("product_id")
