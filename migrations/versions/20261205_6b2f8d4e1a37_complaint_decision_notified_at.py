"""complaint.decision_notified_at: when the decision was proven to reach the customer

Art. 18 wants a complaint's decision made *and communicated* inside the deadline. A case in
状态 已作出处理决定 dropped out of the clock at the decision, so a decision told to the customer
weeks later still counted as on time, and one never told was never overdue. This column holds
when the first proof of the decision notice (a call answered, a letter posted or handed over,
a message its gateway accepted) was recorded after the latest decision; until then the clock
runs on.

Existing cases get it from their history: the first decision notice, at or after the decision,
that proves delivery (for messages: their outbox row is sent); a case a review reopened whose
new decision was not told yet keeps the time its earlier decision was (the application does
the same: a proof older than ``decided_at`` is that of a decision since replaced).

Revision ID: 6b2f8d4e1a37
Revises: 9a4e1c6b3d72
Create Date: 2026-12-05 04:00:00

"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "6b2f8d4e1a37"
down_revision = "9a4e1c6b3d72"
branch_labels = None
depends_on = None

PROVEN = {"sent", "reached", "posted", "handed"}
PURPOSES = {"decision", "review_decision"}
BATCH = 1000


def upgrade():
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(
            sa.Column("decision_notified_at", sa.DateTime(timezone=True), nullable=True)
        )
    _backfill(op.get_bind())


def _backfill(conn) -> None:
    complaint = sa.table(
        "complaint",
        sa.column("id", sa.Integer),
        sa.column("decided_at", sa.DateTime(timezone=True)),
        sa.column("decision_notified_at", sa.DateTime(timezone=True)),
    )
    event = sa.table(
        "complaint_event",
        sa.column("complaint_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("detail", sa.JSON),
    )
    outbox = sa.table("outbox_message", sa.column("id", sa.Integer), sa.column("status", sa.String))
    last = 0
    while True:
        cases = conn.execute(
            sa.select(complaint.c.id, complaint.c.decided_at)
            .where(complaint.c.decided_at.is_not(None), complaint.c.id > last)
            .order_by(complaint.c.id)
            .limit(BATCH)
        ).all()
        if not cases:
            return
        last = cases[-1].id
        decided = {row.id: _aware(row.decided_at) for row in cases}
        notices = conn.execute(
            sa.select(event.c.complaint_id, event.c.at, event.c.detail)
            .where(event.c.complaint_id.in_(list(decided)), event.c.kind == "notice")
            .order_by(event.c.complaint_id, event.c.at)
        ).all()
        message_ids = {
            _detail(n.detail).get("message_id") for n in notices if _detail(n.detail)
        } - {None}
        sent = (
            {
                row.id
                for row in conn.execute(
                    sa.select(outbox.c.id).where(
                        outbox.c.id.in_(list(message_ids)), outbox.c.status == "sent"
                    )
                )
            }
            if message_ids
            else set()
        )
        # the first proof after the decision; else the last before it (the decision a review
        # reopened was told then: the latest one still waits, as the application records it)
        found: dict[int, object] = {}
        for n in notices:
            detail = _detail(n.detail)
            if detail.get("purpose") not in PURPOSES:
                continue
            outcome = detail.get("outcome")
            if detail.get("message_id"):
                outcome = "sent" if detail["message_id"] in sent else None
            if outcome not in PROVEN:
                continue
            known = found.get(n.complaint_id)
            if known is None or _aware(known) < decided[n.complaint_id]:
                found[n.complaint_id] = n.at  # (as stored: naive UTC on SQLite)
        for complaint_id, at in found.items():
            conn.execute(
                sa.update(complaint)
                .where(complaint.c.id == complaint_id)
                .values(decision_notified_at=at)
            )


def _detail(value) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _aware(value):
    from datetime import UTC

    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def downgrade():
    with op.batch_alter_table("complaint") as batch:
        batch.drop_column("decision_notified_at")
