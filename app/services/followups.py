"""Follow-up visits (回访): the agents' call queue, call attempts and answers taken by phone."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Branch,
    CallAttempt,
    Customer,
    FollowUp,
    FollowUpStatus,
    Response,
    Role,
    User,
    utcnow,
)
from app.models.survey_response import OPEN_FOLLOWUP_STATUSES
from app.services import analysis, audit, paging, scope, surveys
from app.services.customers import require_customer_by_external_id
from app.services.errors import InvalidTransition, NotFound, ValidationFailed
from app.services.paging import Page
from app.services.responses import AnswersInvalid, store_response
from app.services.rollup_rows import CALLBACK_WINDOW  # a detractor reached within 48 hours
from app.services.surveys import definition_of
from app.services.tx import get_or_raise, transactional
from surveys import answers_from_form, validate

OUTCOMES = ("reached", "no_answer", "busy", "invalid_number", "refused", "callback")
# Unanswered calls are spread out: the second try two hours later, the third the next day,
# in calling hours (a retry falling at night waits for the morning).
RETRY_SPACING = (timedelta(hours=2), timedelta(hours=20))
CALLING_HOURS = (9, 20)  # Beijing time: from 09:00, until 20:00
BEIJING = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 50


def queue(*, status: str = "open", page: int = 1) -> Page:
    """Follow-ups in the viewer's branch scope; ``open`` means open or scheduled, due first."""
    stmt = select(FollowUp).options(
        selectinload(FollowUp.survey),
        selectinload(FollowUp.branch),
    )
    if status == "open":
        stmt = stmt.where(FollowUp.status.in_([FollowUpStatus.OPEN, FollowUpStatus.SCHEDULED]))
        stmt = stmt.order_by(FollowUp.due_at, FollowUp.id)
    else:
        if status != "all":
            stmt = stmt.where(FollowUp.status == status)
        # by the time the page shows (应回访时间), latest first: by last change the rows read
        # shuffled, and a seeded or imported batch all changed at one moment
        stmt = stmt.order_by(FollowUp.due_at.desc(), FollowUp.id.desc())
    page, pages, total, more = paging.window(stmt, page, PAGE_SIZE)
    rows = db.session.scalars(stmt.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
    return Page(list(rows), page, pages, total, more)


# The customers who must be reached within 48 hours: a low score, or a problem they reported
# in the survey (a tied sale, an unresolved case).
URGENT_REASONS = frozenset({"detractor", "reported"})


@dataclass(frozen=True, slots=True)
class CallDue:
    """When an open task may be called and, for a detractor or a reported problem, by when it
    must be reached."""

    callable_now: bool  # its time has come (the first call, a retry or the agreed call-back)
    callback_by: datetime | None  # a detractor's 48 hours end (None: no such target)
    late: bool  # those 48 hours are over
    after_hours: bool = False  # its time has come, but customers are not called now

    @property
    def label(self) -> str:
        if self.callable_now:
            return "可拨打"
        if self.after_hours:
            opens, closes = CALLING_HOURS
            return f"非拨打时段，{opens:02d}:00–{closes:02d}:00 可拨打"
        return "未到拨打时间"


def call_due(task: FollowUp, now: datetime) -> CallDue:
    """What the call queue shows beside an open task's time: a task due at night (a detractor
    who answered at 23:46) is not 可拨打 before the calling hours open."""
    by = task.created_at + CALLBACK_WINDOW if task.reason in URGENT_REASONS else None
    due = task.due_at <= now
    after_hours = due and in_calling_hours(now) != now
    return CallDue(due and not after_hours, by, by is not None and by < now, after_hours)


_NOT_FOUND = "回访任务不存在或不在您的管辖范围内"


def get_followup(followup_id: int) -> FollowUp:
    return get_or_raise(FollowUp, followup_id, _NOT_FOUND)


@transactional
def reveal_phone(followup_id: int, *, actor: User) -> str:
    """The full number of an open task's customer, to dial it: the task is the reason, written
    to the audit log with it. Only the phone (the customer's page shows e-mail and ID number
    too, more than a call needs) and only of a customer of the agent's own units (NotFound
    else, as the customer's page)."""
    task = get_followup(followup_id)
    if not task.is_open:
        raise InvalidTransition("该回访任务已结束，无需再拨打")
    customer = get_or_raise(Customer, task.customer_id, "客户档案不在您的管辖范围内")
    if not customer.phone:
        raise ValidationFailed("该客户没有登记手机号码")
    audit.record_unmasked_view(
        "customer",
        customer.id,
        actor=actor,
        reason=f"回访任务 #{task.id} 拨打电话",
        detail={"external_id": customer.external_id, "fields": ["phone"], "followup": task.id},
    )
    return customer.phone


def _open_task(followup_id: int) -> FollowUp:
    """The open task, locked until the commit: on PostgreSQL two agents (or a double click)
    saving at once would otherwise each see it open and each store a call or an answer sheet;
    the later one waits here and then finds it closed. (SQLite's writers are serialised.)"""
    task = db.session.get(FollowUp, followup_id, with_for_update=True, populate_existing=True)
    if task is None:
        raise NotFound(_NOT_FOUND)
    if not task.is_open:
        raise InvalidTransition(f"该回访任务状态为“{task.status_label}”，已结束，不能再记录")
    return task


@transactional
def record_attempt(
    followup_id: int,
    outcome: str,
    *,
    agent: User,
    note: str = "",
    callback_at: datetime | None = None,
    now: datetime | None = None,
) -> FollowUp:
    """Record one call. No answer / busy: retried later, after ``max_attempts`` unreachable
    (refused outside calling hours: such a call must not count against the customer);
    wrong number: unreachable; refused: closed; callback: due at the agreed time; reached: the
    agent goes on to enter the answers (``submit_phone_answers``)."""
    now = now or utcnow()
    if outcome not in OUTCOMES:
        raise ValidationFailed("请选择通话结果", field="outcome")
    task = _open_task(followup_id)
    opens, closes = CALLING_HOURS
    retry = in_calling_hours(now)
    if outcome in ("no_answer", "busy") and retry != now:
        # (three unanswered calls at night made a customer 无法联系 and closed the task)
        retry = retry.astimezone(BEIJING)
        raise ValidationFailed(
            f"现在不在回访时段（北京时间 {opens}:00–{closes}:00），时段外拨打未接通不计入回访"
            f"次数：请于 {retry:%m-%d %H:%M} 之后再拨并登记（接通、预约回拨、空号、拒绝等结果"
            "随时可以登记）",
            field="outcome",
        )
    if outcome in ("no_answer", "busy") and task.attempts and now < task.due_at:
        # (three presses of 无人接听 within a minute made the task unreachable, and a
        # detractor counted as tried though called once)
        retry = task.due_at.astimezone(BEIJING)
        raise ValidationFailed(
            f"上次未接通，按回访规则须间隔后再拨：请于 {retry:%m-%d %H:%M} 之后再拨并登记"
            "（接通、预约回拨、空号、拒绝等结果随时可以登记）",
            field="outcome",
        )
    if outcome == "callback":
        if callback_at is None or callback_at <= now:
            raise ValidationFailed("请填写晚于当前时间的预约回拨时间", field="callback_at")
        if callback_at > now + timedelta(days=60):
            raise ValidationFailed("预约回拨时间不能超过 60 天", field="callback_at")
        if not opens <= callback_at.astimezone(BEIJING).hour < closes:
            raise ValidationFailed(
                f"预约回拨时间须在回访时段内（北京时间 {opens}:00–{closes}:00）；"
                "客户希望更晚或更早联系的，请约在次日或当日时段内",
                field="callback_at",
            )
    attempt = CallAttempt(
        followup_id=task.id,
        agent_id=agent.id,
        outcome=outcome,
        note=(note or "").strip()[:1000],
        callback_at=callback_at if outcome == "callback" else None,
        at=now,
    )
    db.session.add(attempt)
    if attempt.note:
        db.session.flush()
        analysis.request_analysis("call_note", attempt.id, branch_id=task.branch_id, new=True)
    task.assigned_to_id = task.assigned_to_id or agent.id
    if outcome in ("no_answer", "busy"):
        task.attempts += 1
        if task.attempts >= task.max_attempts:
            task.status, task.closed_at = FollowUpStatus.UNREACHABLE, now
        else:
            spacing = RETRY_SPACING[min(task.attempts, len(RETRY_SPACING)) - 1]
            task.due_at = in_calling_hours(now + spacing)
    elif outcome == "invalid_number":
        task.attempts += 1
        task.status, task.closed_at = FollowUpStatus.UNREACHABLE, now
    elif outcome == "refused":
        task.status, task.closed_at = FollowUpStatus.REFUSED, now
    elif outcome == "callback":
        task.status, task.due_at = FollowUpStatus.SCHEDULED, callback_at
    return task


def in_calling_hours(at: datetime) -> datetime:
    """``at``, or the next 09:00 Beijing time when ``at`` falls outside calling hours."""
    local = at.astimezone(BEIJING)
    opens, closes = CALLING_HOURS
    if local.hour < opens:
        local = local.replace(hour=opens, minute=0, second=0, microsecond=0)
    elif local.hour >= closes:
        local = (local + timedelta(days=1)).replace(hour=opens, minute=0, second=0, microsecond=0)
    return local.astimezone(at.tzinfo)


@transactional
def submit_phone_answers(
    followup_id: int, form: Mapping[str, Any], *, agent: User, now: datetime | None = None
) -> Response:
    """The answers the customer gave on the phone, stored as a response with channel ``phone``;
    the task is done. Raises AnswersInvalid with per-question errors."""
    now = now or utcnow()
    task = _open_task(followup_id)
    defn = definition_of(task.version)
    raw = answers_from_form(defn, form)
    result = validate(defn, raw)
    if not result.ok:
        raise AnswersInvalid(result.errors, raw)
    response = store_response(
        task.version,
        result.cleaned,
        channel="phone",
        now=now,
        customer_id=task.customer_id,
        branch_id=task.branch_id,
        product_id=task.product_id,
        call_back_on_problems=False,
    )
    last = db.session.scalar(
        select(CallAttempt.outcome)
        .where(CallAttempt.followup_id == task.id)
        .order_by(CallAttempt.at.desc(), CallAttempt.id.desc())
        .limit(1)
    )
    if last != "reached":  # (answers after a logged 接通 call belong to that call: not a second)
        db.session.add(
            CallAttempt(followup_id=task.id, agent_id=agent.id, outcome="reached", at=now)
        )
    db.session.flush()
    task.result_response_id = response.id
    task.status, task.closed_at = FollowUpStatus.DONE, now
    task.assigned_to_id = task.assigned_to_id or agent.id
    return response


@transactional
def assign_manually(
    *, external_id: str, survey_code: str, note: str, actor: User, due_at: datetime | None = None
) -> FollowUp:
    """A follow-up created by hand for a customer in the creator's scope."""
    customer = require_customer_by_external_id((external_id or "").strip())
    version = surveys.published_version(survey_code)
    task = FollowUp(
        customer_id=customer.id,
        survey_id=version.survey_id,
        version_id=version.id,
        branch_id=customer.branch_id,
        reason="manual",
        note=(note or "").strip()[:1000] or f"{actor.display_name} 指派的回访",
        due_at=due_at or utcnow(),
        assigned_to_id=None,
    )
    db.session.add(task)
    db.session.flush()
    return task


def release_out_of_sight(*, user: User | None = None, branch_ids: list[int] | None = None) -> int:
    """After an agent left, or their unit or role changed (``user``), or units moved in the
    tree (the tasks at ``branch_ids``): each open follow-up whose agent can no longer sign in,
    see its customer or make calls (an administrator) goes back to the shared queue (rows
    locked), for the agents who can. Flush only; returns how many."""
    stmt = (
        select(FollowUp, Branch, User)
        .join(User, User.id == FollowUp.assigned_to_id)
        .outerjoin(Branch, Branch.id == FollowUp.branch_id)
        .where(FollowUp.status.in_([s.value for s in OPEN_FOLLOWUP_STATUSES]))
        .order_by(FollowUp.id)
        .with_for_update(of=FollowUp)
        .execution_options(include_all_branches=True)
    )
    if user is not None:
        stmt = stmt.where(FollowUp.assigned_to_id == user.id)
    if branch_ids is not None:
        stmt = stmt.where(FollowUp.branch_id.in_(branch_ids))
    released = 0
    for task, branch, agent in db.session.execute(stmt):
        if (
            not agent.active
            or agent.role == Role.ADMIN
            or not scope.scope_for(agent).covers(branch)
        ):
            task.assigned_to_id = None
            released += 1
    return released


def release_agent(user: User) -> int:
    """An agent leaves (their account is disabled): their open follow-ups go back to the shared
    queue, for any agent to call. Flush only (the caller's use case commits); returns how many."""
    return release_out_of_sight(user=user)
