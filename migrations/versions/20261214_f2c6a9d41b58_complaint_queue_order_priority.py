"""complaint queue order: urgent cases first among those due the same day

The queues list the cases in work major first, then by deadline. Every deadline ends at
23:59:59 Beijing time, so a day's intake shares one due time and its cases came in the order
they were registered: a complaint threatening to go to the regulator (12378) sat on page 2 of
待分派 below ordinary cases due the same day. The index now orders by priority (特急, then 紧急,
then the rest) between the deadline and the id, so a page still reads its rows off it without
sorting every open case.

Revision ID: f2c6a9d41b58
Revises: e4b8f2a6c913
Create Date: 2026-12-14 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f2c6a9d41b58"
down_revision = "e4b8f2a6c913"
branch_labels = None
depends_on = None

# Written out (not imported from the app): a migration keeps what it created, whatever the model
# says later. Equal to app.models.complaint's IN_WORK_SQL and PRIORITY_RANK_SQL when written.
IN_WORK = (
    "merged_into_id IS NULL AND status IN ('accepted', 'decided', 'in_progress', 'paused', "
    "'received', 'review_decided', 'review_requested')"
)
PRIORITY_RANK = "(CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 ELSE 2 END)"


def _create(with_priority: bool) -> None:
    columns = [sa.text("is_major DESC"), sa.text("(due_at IS NULL)"), "due_at"]
    if with_priority:
        columns.append(sa.text(PRIORITY_RANK))
    op.create_index(
        "ix_complaint_queue_order",
        "complaint",
        [*columns, sa.text("id DESC")],
        postgresql_where=sa.text(IN_WORK),
        sqlite_where=sa.text(IN_WORK),
    )


def upgrade():
    op.drop_index("ix_complaint_queue_order", table_name="complaint")
    _create(with_priority=True)


def downgrade():
    op.drop_index("ix_complaint_queue_order", table_name="complaint")
    _create(with_priority=False)
