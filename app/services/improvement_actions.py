"""Improvement actions (整改措施): plan, progress, evidence, re-survey, reminders and escalation."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select

from app.extensions import db
from app.models import (
    Branch,
    Complaint,
    Customer,
    ImprovementAction,
    Response,
    User,
    utcnow,
)
from app.models.improvement import (
    ACTION_VERB_LABELS,
    OPEN_ACTIONS,
    ActionAttachment,
    ActionStatus,
    Problem,
    ProblemEvent,
    ProblemLink,
    ProblemStatus,
)
from app.security import uploads as upload_checks
from app.services import campaigns, notify, org
from app.services import complaint_clock as clock
from app.services import improvement_figures as figures
from app.services.errors import Conflict, NotFound, ValidationFailed
from app.services.improvement_verification import Verification
from app.services.improvements import (
    check_owner,
    drop_override,
    get_problem,
    record,
    require_manager,
    sync_status,
)
from app.services.tx import after_commit, transactional

REMIND_DAYS = 3
MAX_ATTACHMENT = upload_checks.ATTACHMENT_MAX_BYTES


@dataclass(frozen=True)
class ActionData:
    title: str
    due_on: date | None
    detail: str = ""
    owner_id: int | None = None


@dataclass(frozen=True)
class Resurvey:
    """Invite the customers of the problem's cases to a short survey through a campaign."""

    survey_id: int
    channel: str = "sms"


def _check(
    data: ActionData,
    today: date,
    problem: Problem,
    *,
    kept: date | None = None,
    owner: int | None = None,
) -> None:
    """Refuse an action without content or due date, with an unknown owner, or due before
    ``today`` (Beijing date) — unless the date is ``kept``: the action's own date, unchanged
    by an edit of its other fields."""
    if not (data.title or "").strip():
        raise ValidationFailed("请填写整改内容", field="title")
    if data.due_on is None:
        raise ValidationFailed("请填写完成期限", field="due_on")
    if data.due_on < today and data.due_on != kept:
        raise ValidationFailed(
            f"完成期限不能早于今天（{today:%Y-%m-%d}），请填写今天或以后的日期", field="due_on"
        )
    check_owner(data.owner_id, db.session.get(Branch, problem.branch_id), "owner_id", kept=owner)


@transactional
def add_action(
    problem_id: int, data: ActionData, *, actor: User, now: datetime | None = None
) -> ImprovementAction:
    """A planned action on an unclosed problem, due today or later; raises ValidationFailed /
    Conflict. A standing override (人工认定) judged the problem without it: it ends."""
    require_manager(actor)
    problem = get_problem(problem_id)
    if problem.status == ProblemStatus.CLOSED:
        raise Conflict("问题已闭环，不能再添加整改措施")
    _check(data, clock.local_date(now or utcnow()), problem)
    action = ImprovementAction(
        problem=problem,
        title=data.title.strip()[:200],
        detail=(data.detail or "").strip(),
        owner_id=data.owner_id or problem.owner_id,
        due_on=data.due_on,
        status=ActionStatus.PLANNED,
        evidence="",
    )
    db.session.add(action)
    db.session.flush()
    record(
        problem,
        actor,
        "action_added",
        f"新增整改措施：{action.title}（期限 {action.due_on}）",
        action_id=action.id,
    )
    drop_override(problem, actor, f"新增整改措施“{action.title}”")
    sync_status(problem)
    return action


def _owner_name(user_id: int | None) -> str:
    user = db.session.get(User, user_id) if user_id else None
    return user.display_name if user else "未指定"


@transactional
def update_action(
    problem_id: int,
    action_id: int,
    data: ActionData,
    *,
    actor: User,
    now: datetime | None = None,
) -> ImprovementAction:
    """Correct an open action's content, owner or due date (recorded in the history with what
    changed). A new due date may not be in the past; an unchanged past one does not stop the
    other fields being corrected. A changed due date gets its own reminder and escalation."""
    require_manager(actor)
    action = get_action(problem_id, action_id)
    problem = action.problem
    if problem.status == ProblemStatus.CLOSED:
        raise Conflict("问题已闭环，不能再修改整改措施")
    if not action.is_open:
        raise Conflict(f"整改措施当前为“{action.status_label}”，只能修改未完成的整改措施")
    today = clock.local_date(now or utcnow())
    _check(data, today, problem, kept=action.due_on, owner=action.owner_id)
    new = {
        "title": data.title.strip()[:200],
        "detail": (data.detail or "").strip(),
        "owner_id": data.owner_id or problem.owner_id,
        "due_on": data.due_on,
    }
    changed, said = {}, []
    for key, value in new.items():
        old = getattr(action, key)
        if old == value:
            continue
        changed[key] = [None if old is None else str(old), None if value is None else str(value)]
        if key == "title":
            said.append(f"整改内容改为“{value}”")
        elif key == "detail":
            said.append("修改了具体做法")
        elif key == "owner_id":
            said.append(f"责任人 {_owner_name(old)} → {_owner_name(value)}")
        else:
            said.append(f"期限 {old} → {value}")
        setattr(action, key, value)
    if not changed:
        return action
    if "due_on" in changed:
        action.reminded_at = action.escalated_at = None
    record(
        problem,
        actor,
        "action_changed",
        f"修改整改措施：{changed.get('title', [action.title])[0]}（{'；'.join(said)}）",
        action_id=action.id,
        detail={"changed": changed},
    )
    return action


EVIDENCE = "evidence"  # 补充证据: not a transition, possible in any status of an open problem
CHOICE_LABELS = {**ACTION_VERB_LABELS, EVIDENCE: "补充证据"}


@dataclass(frozen=True)
class Choice:
    """An operation the problem page offers on an action; ``blocker`` says why it cannot be done
    now (the button is shown disabled with it), None when it can."""

    verb: str
    blocker: str | None = None

    @property
    def label(self) -> str:
        return CHOICE_LABELS[self.verb]


def _closed(problem: Problem, verb: str) -> bool:
    """On a closed problem an action can only be reopened (which reopens the problem)."""
    return problem.status == ProblemStatus.CLOSED and verb != "reopen"


def _verify_blocker(problem: Problem, result: Verification) -> str | None:
    """Only a passing verdict verifies an action: a manager's override (人工认定) closes a
    problem without the figures, it does not make its actions 已验证."""
    if result.holds:
        return None
    if not result.started:
        return f"{result.reason}，暂不能标记为已验证"
    return f"整改效果尚未通过验证（{result.label}），不能标记为已验证（人工认定不等于验证通过）"


# Offered in the action's own 修改 / 撤销 form (with its reason), not among the 办理 buttons.
SEPARATE_VERBS = frozenset({"cancel"})


def choices(action: ImprovementAction, result: Verification) -> list[Choice]:
    """What can be done to ``action`` now, as ``change_action`` and ``add_evidence`` decide it:
    the transitions its status allows (the model's table; 撤销 apart), then 补充证据; nothing
    but 重新打开 on a closed problem, nothing at all on a cancelled action. ``result`` is the
    problem's current verification."""
    problem = action.problem
    if action.cancelled:
        return []
    out = []
    for verb in [*action.allowed(), EVIDENCE]:
        if _closed(problem, verb) or verb in SEPARATE_VERBS:
            continue
        out.append(Choice(verb, _verify_blocker(problem, result) if verb == "verify" else None))
    return out


def get_action(problem_id: int, action_id: int) -> ImprovementAction:
    problem = get_problem(problem_id)
    action = db.session.get(ImprovementAction, action_id)
    if action is None or action.problem_id != problem.id:
        raise NotFound("整改措施不存在")
    return action


def _attach(
    action: ImprovementAction, uploads: list[upload_checks.FileData], actor: User | None
) -> list[str]:
    names = []
    for up in uploads:
        if not up.data:
            continue
        if len(up.data) > MAX_ATTACHMENT:
            raise ValidationFailed(
                f"附件不能超过 {upload_checks.mb(MAX_ATTACHMENT)}", field="files"
            )
        if upload_checks.extension(up.filename) not in upload_checks.EVIDENCE_EXTENSIONS:
            raise ValidationFailed(
                "附件类型不支持，请上传图片、PDF、Word、Excel 或文本文件", field="files"
            )
        name = upload_checks.display_name(up.filename)
        db.session.add(
            ActionAttachment(
                action_id=action.id,
                filename=name,
                content_type=(up.content_type or "application/octet-stream")[:100],
                size=len(up.data),
                sha256=hashlib.sha256(up.data).hexdigest(),
                data=up.data,
                uploaded_by_id=actor.id if actor else None,
            )
        )
        names.append(name)
    return names


@transactional
def change_action(
    problem_id: int,
    action_id: int,
    verb: str,
    *,
    actor: User,
    text: str = "",
    uploads: list[upload_checks.FileData] | None = None,
    resurvey: Resurvey | None = None,
    due_on: date | None = None,
    now: datetime | None = None,
) -> ImprovementAction:
    """Start, complete (evidence required), verify, reopen or cancel (reason required) an action.
    Reopening takes a new due date (``due_on``), required when the old one has passed: kept,
    the action was overdue and escalated the moment it was reopened.

    A cancelled action (撤销) no longer blocks closing and is never counted as done; it stays
    on the page and in the history with its reason. Completing may start a re-survey campaign
    of the problem's customers; it is sent after the commit. Raises InvalidTransition,
    ValidationFailed or Conflict.
    """
    require_manager(actor)
    now = now or utcnow()
    action = get_action(problem_id, action_id)
    problem = action.problem
    text = (text or "").strip()
    if _closed(problem, verb):
        raise Conflict("问题已闭环")
    if verb == "complete" and not (text or action.evidence or uploads):
        raise ValidationFailed("完成整改须填写整改证据（做了什么、效果如何）", field="text")
    if verb == "reopen" and len(text) < 4:
        raise ValidationFailed("请写明重新打开的原因", field="text")
    today = clock.local_date(now)
    if verb == "reopen" and due_on is None and action.due_on < today:
        raise ValidationFailed(
            f"原完成期限（{action.due_on:%Y-%m-%d}）已过，重新打开须填写新的完成期限",
            field="due_on",
        )
    if verb == "reopen" and due_on is not None and due_on < today:
        raise ValidationFailed(f"完成期限不能早于今天（{today:%Y-%m-%d}）", field="due_on")
    if verb == "cancel" and len(text) < 4:
        raise ValidationFailed("请写明撤销的原因（不少于 4 个字）", field="text")
    if verb == "verify" and (blocker := _verify_blocker(problem, figures.refresh(problem, now))):
        raise Conflict(blocker)
    before, after = action.transition(verb, at=now)
    if verb == "complete" and text:
        action.evidence = (action.evidence + "\n" + text).strip()
    files = _attach(action, uploads or [], actor)
    detail = {"from": before.value, "to": after.value, "files": files}
    if verb == "cancel":
        detail["reason"] = text
    if verb == "reopen" and due_on is not None and due_on != action.due_on:
        detail["due_on"] = [action.due_on.isoformat(), due_on.isoformat()]
        text += f"（完成期限改为 {due_on:%Y-%m-%d}）"
        action.due_on = due_on
    # 开始整改措施 / 完成整改措施 (the button says 开始整改: not 开始整改整改措施)
    label = f"{ACTION_VERB_LABELS[verb].removesuffix('整改')}整改措施：{action.title}"
    record(
        problem,
        actor,
        f"action_{verb}",
        label + (f"。{text}" if text else ""),
        action_id=action.id,
        detail=detail,
    )
    if verb == "reopen" and problem.status == ProblemStatus.CLOSED:
        problem.status, problem.closed_at, problem.verified_at = (
            ProblemStatus.IN_PROGRESS,
            None,
            None,
        )
        problem.override_reason = problem.override_by_id = problem.override_at = None
        record(problem, actor, "reopened", "整改措施重新打开，问题回到整改中")
    elif verb == "reopen":
        drop_override(problem, actor, f"整改措施“{action.title}”重新打开")
    sync_status(problem)
    if verb in ("complete", "reopen", "cancel"):  # the board's badge reads the stored verdict
        figures.refresh(problem, now)
    if verb == "complete" and resurvey is not None:
        _start_resurvey(problem, resurvey, actor, now)
    return action


@transactional
def add_evidence(
    problem_id: int,
    action_id: int,
    *,
    actor: User,
    text: str,
    uploads: list[upload_checks.FileData],
) -> ImprovementAction:
    require_manager(actor)
    action = get_action(problem_id, action_id)
    if _closed(action.problem, EVIDENCE):
        raise Conflict("问题已闭环")
    text = (text or "").strip()
    if not text and not any(u.data for u in uploads):
        raise ValidationFailed("请填写证据说明或上传附件", field="text")
    if text:
        action.evidence = (action.evidence + "\n" + text).strip()
    files = _attach(action, uploads, actor)
    record(
        action.problem,
        actor,
        "evidence",
        f"补充证据：{action.title}。{text}".rstrip("。"),
        action_id=action.id,
        detail={"files": files},
    )
    return action


def attachment(problem_id: int, action_id: int, attachment_id: int) -> ActionAttachment:
    action = get_action(problem_id, action_id)
    item = db.session.get(ActionAttachment, attachment_id)
    if item is None or item.action_id != action.id:
        raise NotFound("附件不存在")
    return item


def resurvey_customers(problem: Problem) -> list[str]:
    """Customer numbers of the problem's complaints and poor answers (for the re-survey)."""
    poor = or_(Response.detractor.is_(True), Response.csat <= 3, Response.nps <= 6)
    links = select(ProblemLink.customer_id).where(
        ProblemLink.problem_id == problem.id, ProblemLink.customer_id.is_not(None)
    )
    complaint_ids = links.where(ProblemLink.source_type.in_(["complaint", "followup"]))
    response_ids = links.where(
        ProblemLink.source_type == "response",
        ProblemLink.source_id.in_(select(Response.id).where(poor)),
    )
    stmt = select(Customer.external_id).where(
        or_(Customer.id.in_(complaint_ids), Customer.id.in_(response_ids))
    )
    return sorted(set(db.session.scalars(stmt.execution_options(include_all_branches=True))))


def _start_resurvey(problem: Problem, choice: Resurvey, actor: User, now: datetime) -> None:
    ids = resurvey_customers(problem)
    if not ids:
        raise ValidationFailed("该问题没有可回访的客户（关联案例均无客户号）", field="resurvey")
    data = campaigns.CampaignInput(
        name=f"整改回访：{problem.title}"[:200],
        survey_id=choice.survey_id,
        channel=choice.channel,
        audience="list",
        window_start=now,
        window_end=now + timedelta(days=7),
        list_text="\n".join(ids),
        expires_days=14,
    )
    # The campaign row joins this use case's transaction (its body, without its own commit).
    campaign = campaigns.create_campaign.__wrapped__(data, actor=actor, now=now)
    record(
        problem,
        actor,
        "resurvey",
        f"发起整改回访调查（{len(ids)} 位客户）",
        detail={"campaign_id": campaign.id, "customers": len(ids)},
    )

    def send() -> None:
        from app.jobs import broker
        from app.jobs.surveys import send_campaign

        args = (campaign.id,)
        broker.send(send_campaign, args, fallback=broker.run_inline(send_campaign, args))

    after_commit(send)


def _managers_for(problem: Problem) -> list[User]:
    return org.managers_in_charge(problem.branch_id)


@dataclass
class ReminderReport:
    reminded: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    refreshed: int = (
        0  # open problems whose stored verdict (the board's badge) was brought up to date
    )


def _tell(people: list[User], text: str, subject: str, action: ImprovementAction, purpose: str):
    for person in {p.id: p for p in people if p}.values():
        notify.send(
            "staff",
            person.username,
            text,
            subject=subject,
            related_type="improvement_action",
            related_id=action.id,
            purpose=purpose,
        )


@transactional
def remind_and_escalate(*, now: datetime | None = None) -> ReminderReport:
    """Remind owners of actions due within 3 days; escalate overdue ones to managers, once each;
    bring the stored verdict of every open problem up to date (an observation window ends,
    answers and complaints arrive: the board shows what is stored).

    Runs unscoped (job or CLI); safe to run as often as wanted.
    """
    now = now or utcnow()
    today, report = clock.local_date(now), ReminderReport()
    stmt = (
        select(ImprovementAction)
        .where(ImprovementAction.status.in_([s.value for s in OPEN_ACTIONS]))
        .where(
            or_(ImprovementAction.reminded_at.is_(None), ImprovementAction.escalated_at.is_(None))
        )
        .where(ImprovementAction.due_on <= today + timedelta(days=REMIND_DAYS))
        .order_by(ImprovementAction.due_on, ImprovementAction.id)
    )
    for action in db.session.scalars(stmt).all():
        problem = action.problem
        owner = action.owner or problem.owner
        if action.due_on < today and action.escalated_at is None:
            text = (
                f"整改措施“{action.title}”（问题：{problem.title}）已于 {action.due_on} 到期未完成"
            )
            _tell(
                [owner, problem.owner, *_managers_for(problem)],
                text,
                "整改措施逾期",
                action,
                "improvement_overdue",
            )
            action.reminded_at, action.escalated_at = action.reminded_at or now, now
            record(problem, None, "escalated", text, action_id=action.id)
            report.escalated.append(action.id)
        elif action.due_on >= today and action.reminded_at is None:
            text = f"整改措施“{action.title}”将于 {action.due_on} 到期，请按时完成并上传证据"
            _tell([owner or problem.owner], text, "整改措施即将到期", action, "improvement_due")
            action.reminded_at = now
            record(problem, None, "reminded", text, action_id=action.id)
            report.reminded.append(action.id)
    open_problems = select(Problem).where(Problem.status != ProblemStatus.CLOSED)
    for problem in db.session.scalars(open_problems).all():
        figures.refresh(problem, now)
        report.refreshed += 1
    db.session.flush()
    return report


def complaint_ids_matching(problem: Problem, *, q: str = "", code: str = "", limit: int = 50):
    """Complaints in the viewer's scope for the bulk-link list (newest first)."""
    stmt = select(Complaint).order_by(Complaint.received_at.desc()).limit(limit)
    if code:
        stmt = stmt.where(Complaint.code_business.startswith(code))
    if q:
        stmt = stmt.where(or_(Complaint.reference.contains(q), Complaint.content.contains(q)))
    branch = db.session.get(Branch, problem.branch_id)
    if branch is not None:
        stmt = stmt.where(
            Complaint.branch_id.in_(select(Branch.id).where(Branch.path.startswith(branch.path)))
        )
    return list(db.session.scalars(stmt))


def cancellations(problem: Problem) -> dict[int, ProblemEvent]:
    """The history entry that cancelled each cancelled action (its reason, who, when)."""
    stmt = (
        select(ProblemEvent)
        .where(ProblemEvent.problem_id == problem.id, ProblemEvent.kind == "action_cancel")
        .order_by(ProblemEvent.at, ProblemEvent.id)
    )
    return {e.action_id: e for e in db.session.scalars(stmt) if e.action_id is not None}


def days_late(action: ImprovementAction) -> int:
    """How many days after its due date (Beijing dates) an action was completed; 0 on time or
    not completed."""
    if action.done_at is None or action.due_on is None:
        return 0
    return max(0, (clock.local_date(action.done_at) - action.due_on).days)


def action_status_values() -> list[str]:
    return [s.value for s in ActionStatus]
