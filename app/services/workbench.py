"""The staff workbench: what needs doing today, in the viewer's branch scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.extensions import db
from app.models import FollowUp, FollowUpStatus, OutboxMessage, User, utcnow
from app.models.improvement import ActionStatus, ImprovementAction
from app.services import complaint_queue

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALERT_LOOKBACK_DAYS = 14
ACTIONS_SHOWN = 6
TO_DO = (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS, ActionStatus.REOPENED)


@dataclass(frozen=True)
class Workbench:
    complaints: dict[str, int]
    followups_due_today: int
    followups_open: int
    alerts: list[OutboxMessage]
    actions: list[ImprovementAction]  # the improvement actions this user owns, still to do
    actions_open: int
    actions_overdue: int


def _end_of_today(now: datetime) -> datetime:
    local = now.astimezone(SHANGHAI)
    return datetime.combine(local.date() + timedelta(days=1), time.min, SHANGHAI)


def _alerts_for(user: User, now: datetime, limit: int = 8) -> list[OutboxMessage]:
    # Staff notices name their recipient by user name, which is also the notice's shown
    # (``recipient_masked``) address: a staff name is no customer's data to mask. Selected by
    # it in SQL; the newest 500 of everyone's notices were decrypted and filtered here, and
    # after a busy sweep a manager with 74 notices saw 6.
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.channel == "staff",
                OutboxMessage.recipient_masked == user.username[:100],
                OutboxMessage.created_at >= now - timedelta(days=ALERT_LOOKBACK_DAYS),
            )
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
            .limit(limit)
        )
    )


def summary(user: User, *, now: datetime | None = None) -> Workbench:
    """Queue counts, follow-ups due, and escalation notices addressed to this user."""
    now = now or utcnow()
    open_followups = select(func.count(FollowUp.id)).where(
        FollowUp.status.in_([FollowUpStatus.OPEN, FollowUpStatus.SCHEDULED])
    )
    return Workbench(
        complaints=complaint_queue.counts(user),
        followups_due_today=db.session.scalar(
            open_followups.where(FollowUp.due_at < _end_of_today(now))
        )
        or 0,
        followups_open=db.session.scalar(open_followups) or 0,
        alerts=_alerts_for(user, now),
        **_own_actions(user, now),
    )


def _own_actions(user: User, now: datetime) -> dict:
    """The improvement actions the user owns and has still to do, the soonest due first."""
    mine = (ImprovementAction.owner_id == user.id, ImprovementAction.status.in_(TO_DO))
    today = now.astimezone(SHANGHAI).date()
    count = select(func.count(ImprovementAction.id)).where(*mine)
    return {
        "actions": list(
            db.session.scalars(
                select(ImprovementAction)
                .where(*mine)
                .order_by(ImprovementAction.due_on, ImprovementAction.id)
                .limit(ACTIONS_SHOWN)
            )
        ),
        "actions_open": db.session.scalar(count) or 0,
        "actions_overdue": db.session.scalar(count.where(ImprovementAction.due_on < today)) or 0,
    }
