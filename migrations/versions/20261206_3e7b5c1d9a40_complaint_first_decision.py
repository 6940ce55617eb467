"""complaint.first_decided_at, first_due_at, first_decision_notified_at: the first decision

A review (核查) decision overwrote ``decided_at`` (and, once told, ``decision_notified_at``),
and a review request moved ``due_at`` to the review's deadline, so the dashboards, rollups and
the regulator report counted a reviewed case's days to decision, its decision day and whether
it was decided in time from the review instead of the first decision. These columns keep the
first decision as it stood when the review was requested (NULL for a case never reviewed:
there the decision is the first).

Existing reviewed cases get them from their history: the first status change to 已作出处理决定,
the first proof of that decision's notice from then until the review request (as migration
6b2f8d4e1a37 reads notices: a message only once its outbox row was sent), and the deadline the
clock gave before the review (received date or the last restart before the review request,
plus 15/30/60 days and the days of the pauses since).

Revision ID: 3e7b5c1d9a40
Revises: 6b2f8d4e1a37
Create Date: 2026-12-06 03:00:00

"""

import json
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3e7b5c1d9a40"
down_revision = "6b2f8d4e1a37"
branch_labels = None
depends_on = None

COLUMNS = ("first_decided_at", "first_due_at", "first_decision_notified_at")
PROVEN = {"sent", "reached", "posted", "handed"}
PERIOD_DAYS = {0: 15, 1: 30, 2: 60}
TZ = ZoneInfo("Asia/Shanghai")
BATCH = 1000


def upgrade():
    with op.batch_alter_table("complaint") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    _backfill(op.get_bind())


def _backfill(conn) -> None:
    complaint = sa.table(
        "complaint",
        sa.column("id", sa.Integer),
        sa.column("received_at", sa.DateTime(timezone=True)),
        sa.column("extension_level", sa.Integer),
        sa.column("pauses", sa.JSON),
        sa.column("review_requested_on", sa.Date),
        *(sa.column(name, sa.DateTime(timezone=True)) for name in COLUMNS),
    )
    event = sa.table(
        "complaint_event",
        sa.column("id", sa.Integer),
        sa.column("complaint_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("to_status", sa.String),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("detail", sa.JSON),
    )
    outbox = sa.table("outbox_message", sa.column("id", sa.Integer), sa.column("status", sa.String))
    sqlite = conn.dialect.name == "sqlite"
    last = 0
    while True:
        cases = conn.execute(
            sa.select(
                complaint.c.id,
                complaint.c.received_at,
                complaint.c.extension_level,
                complaint.c.pauses,
            )
            .where(complaint.c.review_requested_on.is_not(None), complaint.c.id > last)
            .order_by(complaint.c.id)
            .limit(BATCH)
        ).all()
        if not cases:
            return
        last = cases[-1].id
        history: dict[int, list] = {row.id: [] for row in cases}
        for e in conn.execute(
            sa.select(
                event.c.complaint_id, event.c.kind, event.c.to_status, event.c.at, event.c.detail
            )
            .where(
                event.c.complaint_id.in_(list(history)),
                event.c.kind.in_(["status", "notice", "merged"]),
            )
            .order_by(event.c.complaint_id, event.c.at, event.c.id)
        ):
            history[e.complaint_id].append(e)
        message_ids = {
            _detail(e.detail).get("message_id")
            for events in history.values()
            for e in events
            if e.kind == "notice"
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
        for case in cases:
            values = _first_decision(case, history[case.id], sent)
            if values is None:
                continue
            if sqlite:  # (stored as the application stores them: naive UTC on SQLite)
                values = {k: v.replace(tzinfo=None) if v else v for k, v in values.items()}
            conn.execute(sa.update(complaint).where(complaint.c.id == case.id).values(**values))


def _first_decision(case, events, sent) -> dict | None:
    decided = requested = notified = restarted = None
    for e in events:
        at = _aware(e.at)
        if decided is None:
            if e.kind == "status" and e.to_status == "decided":
                decided = at
            elif e.kind == "merged" and _detail(e.detail).get("restarted_on"):
                restarted = date.fromisoformat(_detail(e.detail)["restarted_on"])
            continue
        if e.kind == "status" and e.to_status == "review_requested":
            requested = at
            break
        if e.kind == "merged" and _detail(e.detail).get("restarted_on"):
            restarted = date.fromisoformat(_detail(e.detail)["restarted_on"])
        detail = _detail(e.detail)
        if e.kind != "notice" or notified is not None or detail.get("purpose") != "decision":
            continue
        outcome = detail.get("outcome")
        if detail.get("message_id"):
            outcome = "sent" if detail["message_id"] in sent else None
        if outcome in PROVEN:
            notified = at
    if decided is None or requested is None:
        return None
    return {
        "first_decided_at": decided,
        "first_due_at": _due_before_review(case, restarted),
        "first_decision_notified_at": notified,
    }


def _due_before_review(case, restarted: date | None) -> datetime | None:
    """The deadline as app.services.complaint_clock.due_at gave it before the review."""
    start = restarted or _aware(case.received_at).astimezone(TZ).date()
    pauses = [p for p in _list(case.pauses) if date.fromisoformat(p[0]) >= start]
    if any(p[1] is None for p in pauses):
        return None
    paused = sum(max(0, (date.fromisoformat(p[1]) - date.fromisoformat(p[0])).days) for p in pauses)
    days = PERIOD_DAYS.get(case.extension_level or 0, 15) + paused
    return datetime.combine(start + timedelta(days=days), time(23, 59, 59), tzinfo=TZ).astimezone(
        UTC
    )


def _list(value) -> list:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return value if isinstance(value, list) else []


def _detail(value) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _aware(value):
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def downgrade():
    with op.batch_alter_table("complaint") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
