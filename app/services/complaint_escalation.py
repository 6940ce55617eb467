"""Escalation: major complaints at once (Art. 29), overdue ones by the deadline sweep."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import User, utcnow
from app.models.complaint import Complaint, deadline_running_clause
from app.services import notify, org
from app.services.complaints import record_event
from app.services.tx import transactional

REASONS = {"major": "重大投诉，立即上报", "overdue": "已超过办理时限，升级督办"}


def recipients(complaint: Complaint) -> list[User]:
    """Branch managers on the complaint's branch path and every head-office manager."""
    return org.managers_in_charge(complaint.branch_id)


def escalate_row(complaint: Complaint, reason: str, actor: User | None = None) -> list[User]:
    """Notify the managers in charge and record the escalation (flush only)."""
    people = recipients(complaint)
    text = f"投诉 {complaint.reference}：{REASONS[reason]}"
    for person in people:
        notify.send(
            "staff",
            person.username,
            text,
            subject=REASONS[reason],
            related_type="complaint",
            related_id=complaint.id,
            purpose=f"escalation_{reason}",
        )
    record_event(
        complaint,
        actor,
        "escalated",
        text,
        detail={"reason": reason, "notified": [p.username for p in people]},
    )
    return people


# Cases escalated per transaction: a backlog (2,079 overdue cases after an outage, 143 s) was
# escalated in one, every case locked until the end and a handler saving one of them waiting
# past gunicorn's timeout.
SWEEP_BATCH = 100


def sweep_deadlines(*, now=None) -> list[str]:
    """Escalate every case past its deadline whose clock runs (or whose decision was not
    communicated yet), once; returns their references. In transactions of ``SWEEP_BATCH``
    cases (``sweep_batch``)."""
    done: list[str] = []
    while True:
        batch = sweep_batch(now=now)
        done += batch
        if len(batch) < SWEEP_BATCH:
            return done


@transactional
def sweep_batch(*, now=None) -> list[str]:
    """Escalate up to ``SWEEP_BATCH`` cases past their deadline, the most overdue first.

    Runs unscoped (job or CLI); safe to run as often as wanted.

    The cases are locked as they are read (PostgreSQL; SQLite's writers take turns anyway),
    skipping any a handler is saving at this moment: read unlocked, such a case was changed
    under the sweep, and its versioned UPDATE (StaleDataError) rolled back every escalation of
    the run. A skipped case is escalated by the next run, if still overdue; a sweep running
    at once skips this one's cases too.
    """
    now = now or utcnow()
    stmt = (
        select(Complaint)
        .where(
            deadline_running_clause(),  # (a decision not yet communicated included)
            Complaint.due_at.is_not(None),
            Complaint.due_at < now,
            Complaint.escalated_at.is_(None),
            Complaint.merged_into_id.is_(None),
        )
        .order_by(Complaint.due_at, Complaint.id)
        .limit(SWEEP_BATCH)
        .with_for_update(of=Complaint, skip_locked=True)
        .execution_options(populate_existing=True)
    )
    done = []
    for complaint in db.session.scalars(stmt).all():
        escalate_row(complaint, "overdue")
        complaint.escalated_at = now
        done.append(complaint.reference)
    db.session.flush()
    return done
