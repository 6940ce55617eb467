"""complaint first-decision time: an index on coalesce(first_decided_at, decided_at)

看板 · 处理人员 counts the decisions first made in a period, by who made them. The time of a
case's first decision is ``coalesce(first_decided_at, decided_at)`` (first_decision_clause);
without an index on it every page view read the whole complaint table, and PostgreSQL, with no
statistics on the expression, guessed 500 rows for a year's 90,000 and sorted them on disk to
group them (125 ms in the dashboards bench). With the index a month is read off it, and the
statistics PostgreSQL gathers for an expression index give a year's decisions their real size,
which it then hashes (45 ms).

SQLite cannot read an expression index back (autogenerate leaves it to this migration: it is
``hand_written`` in the model), and a batch rebuild of the complaint table would drop it: a later
migration rebuilding that table must write it again, as d3a7c5e9f104 does for
ix_complaint_queue_order.

Revision ID: e4b8f2a6c913
Revises: d3a7c5e9f104
Create Date: 2026-12-13 10:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e4b8f2a6c913"
down_revision = "d3a7c5e9f104"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_complaint_first_decided",
        "complaint",
        [sa.text("coalesce(first_decided_at, decided_at)")],
    )


def downgrade():
    op.drop_index("ix_complaint_first_decided", table_name="complaint")
