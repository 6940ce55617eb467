"""complaint.decided_by_id: who made the decision the timeliness figures judge

看板 · 处理人员 credits each decision to the staff member who made it. Finding them in the
history meant grouping a year's 作出处理决定 steps for every page view (0.3 s for 90,000
decisions); the complaint now records them, set by the same step. It is the decision
``first_decision`` refers to: a review's decision (to 核查已决定) leaves it alone, a case decided
again after its clock restarted takes the new decider.

Existing complaints are filled from their history: the latest step to 已作出处理决定.

Revision ID: d3a7c5e9f104
Revises: b6d2e8f41c07
Create Date: 2026-12-12 10:00:00

"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d3a7c5e9f104"
down_revision = "b6d2e8f41c07"
branch_labels = None
depends_on = None


FK = "fk_complaint_decided_by_id_staff_user"


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        # A plain ADD COLUMN with its reference inline (which Alembic does not write for SQLite):
        # a batch rebuild of the complaint table would lose its hand-written expression index
        # (ix_complaint_queue_order), and fails on a table other rows point at.
        op.execute(
            f"ALTER TABLE complaint ADD COLUMN decided_by_id INTEGER "
            f"CONSTRAINT {FK} REFERENCES staff_user (id)"
        )
    else:
        op.add_column("complaint", sa.Column("decided_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FK, "complaint", "staff_user", ["decided_by_id"], ["id"])
    _backfill(op.get_bind())


def _backfill(conn) -> None:
    conn.execute(
        sa.text(
            """
        UPDATE complaint SET decided_by_id = (
            SELECT e.actor_id FROM complaint_event e
            WHERE e.complaint_id = complaint.id AND e.kind = 'status'
              AND e.to_status = 'decided'
            ORDER BY e.id DESC LIMIT 1
        )
        WHERE decided_at IS NOT NULL
        """
        )
    )


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("complaint") as batch:
        if not sqlite:  # (SQLite's rebuild leaves the column's reference out with the column)
            batch.drop_constraint(FK, type_="foreignkey")
        batch.drop_column("decided_by_id")
    if sqlite:  # (SQLite's batch rebuild does not carry expression indexes over)
        path = Path(__file__).with_name("20261204_1f3d19e6d70e_complaint_queue_order_index.py")
        spec = importlib.util.spec_from_file_location("queue_order_index", path)
        queue = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(queue)
        op.execute("DROP INDEX IF EXISTS ix_complaint_queue_order")
        queue.upgrade()
