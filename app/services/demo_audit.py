"""The demo bank's audit log: what its staff would have left there over the last weeks.

Sign-ins on working mornings (now and then a mistyped password first), complainants' and
customers' full contact data looked at by the staff handling them, each with the reason, and
head office's weekly export of the answers. Every entry is written by the same ``audit`` calls as
the real action and dated back before it is first stored (the log is append-only), so the 审计日志
page, its filters and a complaint's 审计记录 have something to show an auditor in a demo.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Complaint, Survey, User, utcnow
from app.services import audit
from app.services.demo_complaints import within_hours

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
OFFICE = (8 * 60 + 30, 18 * 60)  # when staff open a record: 08:30–18:00, on weekdays
DAYS = 28
# each demo account's desk on the intranet
DESKS = {
    "admin": "10.10.1.5",
    "hq": "10.10.2.31",
    "manager": "10.21.3.12",
    "agent": "10.21.3.47",
    "manager_nj": "10.25.1.20",
    "agent_nj": "10.25.6.33",
    "agent_sz": "10.27.4.18",
}
CONTACT_REASONS = (
    "回访客户核实处理结果",
    "客户来电要求回拨，核对联系方式",
    "寄送书面处理意见，核对收件信息",
    "告知客户处理进度",
    "客户提供的号码有误，核实后更新",
)
CUSTOMER_REASONS = ("差评回访前核对联系方式", "客户要求更换回访时间", "核实客户身份")


def _when(day: datetime, rng: random.Random, start: time, hours: float) -> datetime:
    """A moment of ``day`` (Beijing) from ``start``, within ``hours``, in UTC."""
    local = datetime.combine(day.astimezone(LOCAL_TZ).date(), start, LOCAL_TZ)
    return (local + timedelta(minutes=rng.uniform(0, hours * 60))).astimezone(UTC)


# an entry to write: when, whose desk, and the audit call that writes it
Planned = tuple[datetime, str, Callable[[], AuditLog]]


def seed_audit(rng_seed: int = 2026) -> int:
    """Write the demo entries (call once, with the demo data); returns how many."""
    rng = random.Random(rng_seed)
    now = utcnow()
    staff = {u.username: u for u in db.session.scalars(select(User)) if u.username in DESKS}
    plan: list[Planned] = []
    for back in range(DAYS, 0, -1):
        day = now - timedelta(days=back)
        if day.astimezone(LOCAL_TZ).weekday() >= 5:
            continue
        for username, user in staff.items():
            if username == "admin" and rng.random() < 0.7:
                continue  # the administrator signs in now and then
            at = _when(day, rng, time(8, 30), 1.5)
            sign_in = partial(
                audit.record,
                object_type="staff_user",
                object_id=user.id,
                detail={"username": username},
            )
            if rng.random() < 0.04:  # a mistyped password first
                mistyped = partial(sign_in, "login.failure")
                plan.append((at - timedelta(seconds=40), username, mistyped))
            plan.append((at, username, partial(sign_in, "login.success", actor=user)))
    plan += _contact_views(rng, staff, now)
    plan += _weekly_exports(rng, staff.get("hq"), now)
    # written in the order they happened, as a running bank's log is (its pages list by id)
    for at, username, write in sorted(plan, key=lambda planned: planned[0]):
        entry = write()
        entry.at, entry.ip = at, DESKS[username]
    return len(plan)


def _contact_views(rng: random.Random, staff: dict[str, User], now: datetime) -> list[Planned]:
    """About a third of the recent assigned cases: the handler opens the complainant's full
    contact data once, a few hours after taking the case; a branch manager now and then opens
    a customer's before a call-back."""
    plan: list[Planned] = []
    cases = db.session.scalars(
        select(Complaint)
        .where(
            Complaint.assignee_id.is_not(None),
            Complaint.assigned_at >= now - timedelta(days=DAYS),
        )
        .order_by(Complaint.id)
    )
    managers = [u for u in staff.values() if u.role == "branch_manager"]
    for case in cases:
        if rng.random() > 0.35 or case.assignee.username not in staff:
            continue
        taken = case.assigned_at + timedelta(minutes=rng.uniform(20, 300))
        at = within_hours(taken, OFFICE, weekdays=True)
        if at > now:
            continue
        view = partial(
            audit.record_unmasked_view,
            "complaint",
            case.id,
            actor=case.assignee,
            reason=rng.choice(CONTACT_REASONS),
            detail={"reference": case.reference},
        )
        plan.append((at, case.assignee.username, view))
        manager = next((m for m in managers if m.branch_id == case.assignee.branch_id), None)
        if manager and case.customer and rng.random() < 0.4:
            customer = case.customer
            view = partial(
                audit.record_unmasked_view,
                "customer",
                customer.id,
                actor=manager,
                reason=rng.choice(CUSTOMER_REASONS),
                detail={"external_id": customer.external_id},
            )
            later = within_hours(at + timedelta(hours=rng.uniform(1, 20)), OFFICE, weekdays=True)
            if later <= now:
                plan.append((later, manager.username, view))
    return plan


def _weekly_exports(rng: random.Random, hq: User | None, now: datetime) -> list[Planned]:
    """Head office exports the last week's answers of the branch survey every Monday."""
    survey = db.session.scalar(select(Survey).where(Survey.code == "branch-service"))
    if hq is None or survey is None:
        return []
    plan: list[Planned] = []
    for back in range(DAYS, 0, -1):
        day = now - timedelta(days=back)
        if day.astimezone(LOCAL_TZ).weekday() != 0:
            continue
        local_day = day.astimezone(LOCAL_TZ).date()
        export = partial(
            audit.record,
            "responses.export",
            actor=hq,
            object_type="survey_response",
            detail={
                "format": "xlsx",
                "rows": rng.randint(150, 260),
                "question_columns": 6,
                "filter": {
                    "survey_id": str(survey.id),
                    "date_from": str(local_day - timedelta(days=7)),
                    "date_to": str(local_day - timedelta(days=1)),
                },
            },
        )
        plan.append((_when(day, rng, time(10, 0), 2), "hq", export))
    return plan
