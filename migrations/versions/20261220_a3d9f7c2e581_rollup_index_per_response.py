"""rollup_satisfaction: the 100-point index as the mean of the responses' own indexes

The index pooled every 1–5 answer (``index_steps`` / ``index_answers``), so a questionnaire with
a grid of six ratings outweighed one with a single rating six to one, and the figure differed
from the mean of the per-response indexes its drill-down lists. The rollup now sums each
response's mean step (``index_units``, in 1/720720 of a step; see
``surveys.scoring.INDEX_UNITS_PER_STEP``) over ``index_n`` responses.

Each existing cell (one day, unit, product, channel and questionnaire) is carried over with its
own pooled mean as every response's, so periods and groups add cells up by respondents at once:
the figures follow the new definition from the upgrade on (exactly where the responses of one
cell answered the same number of ratings; ``flask --app wsgi dashboards rebuild`` makes it exact
where optional ratings were skipped). The downgrade writes the pooled columns back from the
units (to 1/100 of a step per response), so a downgrade and an upgrade keep the figures.

Revision ID: a3d9f7c2e581
Revises: f2a8d4c6b017
Create Date: 2026-12-20 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a3d9f7c2e581"
down_revision = "f2a8d4c6b017"
branch_labels = None
depends_on = None

UNITS = 720_720


def upgrade():
    with op.batch_alter_table("rollup_satisfaction") as batch:
        batch.add_column(
            sa.Column("index_units", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.execute(
        f"UPDATE rollup_satisfaction SET index_units = "
        f"CAST(index_steps AS BIGINT) * {UNITS} * index_n / index_answers "
        f"WHERE index_answers > 0"
    )
    with op.batch_alter_table("rollup_satisfaction") as batch:
        batch.drop_column("index_steps")
        batch.drop_column("index_answers")


def downgrade():
    with op.batch_alter_table("rollup_satisfaction") as batch:
        batch.add_column(
            sa.Column("index_answers", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("index_steps", sa.Integer(), nullable=False, server_default="0"))
    # each response as 100 answers of its mean step (rounded to 1/100 of a step): the pooled
    # figure of the old code is then the mean of the responses' own indexes, as now
    op.execute(
        f"UPDATE rollup_satisfaction SET index_answers = index_n * 100, "
        f"index_steps = CAST(ROUND(index_units * 100.0 / {UNITS}) AS INTEGER) "
        f"WHERE index_n > 0"
    )
    with op.batch_alter_table("rollup_satisfaction") as batch:
        batch.drop_column("index_units")
