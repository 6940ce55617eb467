"""follow-up rollup: tasks called at least once (the reach rate's denominator)

The reach rate divided the tasks reached by every task, so tasks still waiting for their first
call counted as unreachable (a month whose call-backs were not yet made showed 0 %). The new
count is filled here from the raw rows, per (Beijing day of creation, branch, reason), the way
``rollup_rows.followup_counts`` counts it: a task with a recorded call, a failed-call counter
above zero, or settled as done without a call log (``flask dashboards rebuild`` gives the same).

Revision ID: 3e298b866ba2
Revises: f18f92b0521c
Create Date: 2026-12-04 01:37:06.702316

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3e298b866ba2"
down_revision = "f18f92b0521c"
branch_labels = None
depends_on = None

CALLED = """
UPDATE rollup_followup SET called = (
    SELECT count(*) FROM followup f
    WHERE {local_day} = rollup_followup.day
      AND f.reason = rollup_followup.reason
      AND {same_branch}
      AND (f.attempts > 0
           OR (f.status = 'done' AND f.closed_at IS NOT NULL)
           OR EXISTS (SELECT 1 FROM call_attempt c WHERE c.followup_id = f.id))
)
"""


def upgrade():
    with op.batch_alter_table("rollup_followup", schema=None) as batch_op:
        batch_op.add_column(sa.Column("called", sa.Integer(), nullable=False, server_default="0"))
    if op.get_bind().dialect.name == "postgresql":
        local_day = "(f.created_at AT TIME ZONE 'Asia/Shanghai')::date"
        same_branch = "f.branch_id IS NOT DISTINCT FROM rollup_followup.branch_id"
    else:  # SQLite stores naive UTC; Beijing has kept UTC+8 without daylight saving since 1991
        local_day = "date(f.created_at, '+8 hours')"
        same_branch = "f.branch_id IS rollup_followup.branch_id"
    op.execute(CALLED.format(local_day=local_day, same_branch=same_branch))
    with op.batch_alter_table("rollup_followup", schema=None) as batch_op:
        batch_op.alter_column("called", server_default=None)


def downgrade():
    with op.batch_alter_table("rollup_followup", schema=None) as batch_op:
        batch_op.drop_column("called")
