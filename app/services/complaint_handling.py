"""Handling a complaint: every state change goes through ``Complaint.transition`` and the history.

Each public function is one use case and one commit. Functions that change a case take the
``version`` the handler saw: if someone else saved the case since, they raise Conflict and the
handler's input is kept by the view (optimistic locking, plus ``version_id_col`` for races).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import Role, User, utcnow
from app.models.complaint import (
    ACTION_LABELS,
    DECIDED_STATES,
    Complaint,
    ComplaintEvent,
    Status,
)
from app.services import channels, notify
from app.services import complaint_clock as clock
from app.services import complaint_decisions as decisions
from app.services.complaints import (
    actor_parts,
    forbid_named,
    get_complaint,
    record_event,
    refresh_due,
)
from app.services.domain_events import DomainEvent, publish
from app.services.errors import Conflict, Forbidden, ValidationFailed
from app.services.tx import transactional

# Names who saved first in the sentence ("已被李坐席（杭州分行）修改"), not in brackets of its
# own, which nested the unit's: "已被他人修改（李坐席（杭州分行））".
STALE = "该投诉已被{who}修改，您填写的内容未丢失，请核对最新状态后重新提交。"
REMEDIES = {
    "review": "向上级机构申请核查",
    "mediation": "申请调解",
    "arbitration": "申请仲裁",
    "litigation": "提起诉讼",
}
NOTICE_METHODS = {
    "sms": "短信",
    "email": "电子邮件",
    "phone": "电话",
    "letter": "书面信函",
    "in_person": "当面送达",
}
NOTICE_PURPOSES = {
    "decision": "处理决定告知",
    "acknowledgement": "受理告知",
    "decline": "不予受理告知",
    "extension": "延期告知",
    "pause": "中止计时告知",
    "resume": "恢复计时告知",
    "review_decision": "核查决定告知",
    "other": "其他告知",
}
PROVEN = {"sent", "reached", "posted", "handed"}
DECISION_PURPOSES = notify.DECISION_PURPOSES  # notices that tell the customer a decision


def guarded(fn):
    """Turn a concurrent save (StaleDataError) into the Chinese Conflict message.

    The versioned UPDATE is flushed here: left to the commit (``transactional``, outside this
    guard), a handler whose save lost the race to one committed after its version check got a
    500 instead of the message."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            result = fn(*args, **kwargs)
            db.session.flush()
            return result
        except StaleDataError as err:
            db.session.rollback()
            # (the winner's save has committed: its history names who it was)
            ident = args[0] if args and isinstance(args[0], int) else None
            raise Conflict(STALE.format(who=last_actor(ident))) from err

    return run


def last_actor(complaint_id: int | None) -> str:
    """Who wrote the case's latest history entry, for the conflict messages."""
    last = (
        db.session.scalar(
            select(ComplaintEvent.actor_name)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(ComplaintEvent.id.desc())
            .limit(1)
        )
        if complaint_id is not None
        else None
    )
    return actor_parts(last)[0] if last else "其他用户"


def load(complaint_id: int, version: int | None) -> Complaint:
    complaint = get_complaint(complaint_id)
    if version is not None and complaint.version != version:
        raise Conflict(STALE.format(who=last_actor(complaint.id)))
    return complaint


def load_to_act(complaint_id: int, version: int | None, actor: User | None) -> Complaint:
    """``load`` for an action that moves the case on: refused first to whom it names (回避),
    before anything they typed is checked."""
    complaint = load(complaint_id, version)
    forbid_named(complaint, actor)
    return complaint


def _require(text: str | None, field: str, label: str, minimum: int = 2) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationFailed(f"请填写{label}", field=field)
    if len(text) < minimum:
        raise ValidationFailed(f"{label}过于简短，请至少写 {minimum} 个字", field=field)
    return text


def _move(
    complaint: Complaint, action: str, actor: User | None, text: str | None = None, **detail
) -> None:
    before, after = complaint.transition(action)
    record_event(
        complaint,
        actor,
        "status",
        text or ACTION_LABELS[action],
        from_status=before,
        to_status=after,
        detail={"action": action, **detail},
    )


def notice_target(complaint: Complaint) -> tuple[str, str] | None:
    """Where an automatic notice goes: (channel, recipient) by SMS, else e-mail; None when the
    complainant left neither."""
    if complaint.complainant_phone:
        return "sms", complaint.complainant_phone
    if complaint.complainant_email:
        return "email", complaint.complainant_email
    return None


def untold_text(purpose: str) -> str:
    """The history's words for an automatic notice that could not go out (no contact data)."""
    whom = "投诉提出人" if purpose == "decline" else "客户"
    return (
        f"无可用的联系方式，未能自动发送{NOTICE_PURPOSES[purpose]}，须以电话、书面或当面方式"
        f"告知{whom}，并在“记录告知”中留存告知凭证"
    )


def _auto_notice(complaint: Complaint, actor: User | None, purpose: str, body: str) -> bool:
    """Send a notice by SMS (or e-mail) when contact data is known; True when sent. Without
    any, the history says the customer was not told and must be told another way, with what
    they are to be told (Art. 18, 21: pauses, extensions and declines are told too)."""
    target = notice_target(complaint)
    if target is None:
        record_event(
            complaint,
            actor,
            "notice",
            f"{untold_text(purpose)}。应告知内容：{body}",
            detail={"method": "none", "purpose": purpose, "outcome": "none"},
        )
        return False
    channel, recipient = target
    msg = notify.send(
        channel,
        recipient,
        f"{channels.sms_signature()}投诉 {complaint.reference}：{body}",
        related_type="complaint",
        related_id=complaint.id,
        purpose=purpose,
    )
    record_event(
        complaint,
        actor,
        "notice",
        msg.body,
        detail={
            "method": channel,
            "purpose": purpose,
            "outcome": msg.status,
            "message_id": msg.id,
            "recipient": msg.recipient_masked,
        },
    )
    return True


# Who raised the complaint (Art. 14, 22): the customer, a legal representative, an agent with
# a signed mandate or an heir; recorded on accepting when staff state it.
CAPACITIES = {
    "self": "本人",
    "legal_rep": "法定代理人",
    "agent": "受托人",
    "heir": "继承人",
}
# How the complainant's identity was checked on accepting (Art. 22: identity is checked before
# a complaint's personal data is discussed); recorded in the history when stated.
IDENTITY_CHECKS = {
    "caller_number": "来电号码与预留手机号一致",
    "callback": "回拨预留手机号核实",
    "id_document": "查验身份证件",
    "online_login": "手机银行或网上银行登录身份",
    "mandate": "查验授权委托书及双方身份证件",
    "kinship": "查验监护、继承关系证明及身份证件",
    "not_verified": "暂未核验（处理中核验）",
}
IDENTITY_UNCHECKED = "not_verified"
IDENTITY_NEEDED = (
    "作出处理决定前须核验投诉人身份（第二十二条）：请选择核验方式（来电号码、回拨、证件、"
    "登录身份或授权委托书等）"
)
# The only ground a complaint may be declined on (Art. 18); every other complaint is handled.
DECLINE_GROUNDS = {"not_entitled": "非消费者本人、其法定代理人或受托人提出"}
DECLINE_ONLY = (
    "不予受理仅限于投诉非由消费者本人、其法定代理人或受托人提出的情形（第十八条）；"
    "持授权委托书的受托人和继承人提出的投诉应当受理（第十四条）"
)


@transactional
@guarded
def accept(
    complaint_id: int,
    *,
    actor: User,
    capacity: str | None = None,
    identity_check: str | None = None,
    take: bool = False,
    version: int | None = None,
) -> Complaint:
    """``capacity``: who raised it (``CAPACITIES``); ``identity_check``: how their identity
    was checked (``IDENTITY_CHECKS``); each kept in the history when stated. ``take``: the
    handler accepting a case nobody holds handles it too (受理后由我处理), in the same step."""
    complaint = load_to_act(complaint_id, version, actor)
    faults = {}
    if capacity and capacity not in CAPACITIES:
        faults["capacity"] = "请选择投诉人身份（本人、法定代理人、受托人或继承人）"
    if identity_check and identity_check not in IDENTITY_CHECKS:
        faults["identity_check"] = "请选择身份核验方式"
    if faults:
        raise ValidationFailed("；".join(faults.values()), fields=faults)
    stated, detail = [], {}
    if capacity:
        stated.append(f"投诉人身份：{CAPACITIES[capacity]}")
        detail["capacity"] = capacity
    if identity_check:
        stated.append(f"身份核验：{IDENTITY_CHECKS[identity_check]}")
        detail["identity_check"] = identity_check
        if is_identity_check(identity_check):
            complaint.identity_check = identity_check
    text = f"受理（{'；'.join(stated)}）" if stated else None
    _move(complaint, "accept", actor, text, **detail)
    if take and complaint.assignee_id is None:
        from app.services.complaint_casework import take_row  # (casework imports this module)

        take_row(complaint, actor)  # (refused, as a hand assignment, if they may not hold it)
    return complaint


def is_identity_check(method: str | None) -> bool:
    """A way the identity was checked: one of ``IDENTITY_CHECKS`` but "暂未核验"."""
    return method in IDENTITY_CHECKS and method != IDENTITY_UNCHECKED


def _check_identity(complaint: Complaint, actor: User, method: str | None) -> None:
    """Art. 22: a decision is made on a complaint whose complainant's identity was checked.
    Checked on accepting, recorded later (``record_identity``) or stated with the decision
    (``method``), then kept in the history before the decision's entry. A check already
    recorded stands (``method`` is ignored)."""
    if complaint.identity_check:
        return
    if not is_identity_check(method):
        raise ValidationFailed(IDENTITY_NEEDED, field="identity_check")
    _identity_checked(complaint, actor, method)


@transactional
@guarded
def record_identity(
    complaint_id: int, *, actor: User, method: str | None, version: int | None = None
) -> Complaint:
    """Art. 22: how the complainant's identity was checked, recorded when it was done (a call
    back days before the decision, say) for a case accepted without it; once per case."""
    complaint = load_to_act(complaint_id, version, actor)
    if not complaint.is_open:
        raise Conflict(f"该投诉当前状态为“{complaint.status_label}”，无须再记录身份核验")
    if complaint.identity_check:
        raise Conflict(identity_recorded(complaint))
    if not is_identity_check(method):
        raise ValidationFailed("请选择身份核验方式", field="method")
    _identity_checked(complaint, actor, method)
    return complaint


def identity_recorded(complaint: Complaint) -> str:
    """Why a second 记录身份核验 does nothing."""
    done = IDENTITY_CHECKS.get(complaint.identity_check or "", complaint.identity_check)
    return f"已记录身份核验（{done}），无须重复记录"


def _identity_checked(complaint: Complaint, actor: User | None, method: str) -> None:
    complaint.identity_check = method
    record_event(
        complaint,
        actor,
        "identity",
        f"身份核验：{IDENTITY_CHECKS[method]}",
        detail={"identity_check": method},
    )


@transactional
@guarded
def start(complaint_id: int, *, actor: User, version: int | None = None) -> Complaint:
    complaint = load_to_act(complaint_id, version, actor)
    _move(complaint, "start", actor)
    return complaint


@transactional
@guarded
def decline(
    complaint_id: int,
    *,
    actor: User,
    reason: str,
    ground: str | None = None,
    version: int | None = None,
) -> Complaint:
    """Art. 18: only a complaint not raised by the customer, their legal representative or
    agent (``ground``, one of ``DECLINE_GROUNDS``); ``reason`` says who raised it. Whoever
    raised it is told the ground."""
    complaint = load_to_act(complaint_id, version, actor)
    if ground not in DECLINE_GROUNDS:
        raise ValidationFailed(f"请选择不予受理的理由。{DECLINE_ONLY}", field="ground")
    reason = _require(reason, "reason", "提出人及情况说明", 4)
    label = DECLINE_GROUNDS[ground]
    _move(complaint, "decline", actor, f"{label}：{reason}", ground=ground, explanation=reason)
    _auto_notice(complaint, actor, "decline", decline_notice(label, reason))
    complaint.closed_at = utcnow()
    return complaint


def decline_notice(ground_label: str, explanation: str | None) -> str:
    """What whoever raised a declined complaint is told: the ground, and who raised it."""
    why = f"投诉{ground_label}" if ground_label in DECLINE_GROUNDS.values() else ground_label
    said = f"（{explanation.rstrip('。')}）" if explanation else ""
    return f"经核实，您提出的投诉不予受理，理由：{why}{said}。"


@transactional
@guarded
def withdraw(
    complaint_id: int,
    *,
    actor: User,
    reason: str,
    on: date | None = None,
    version: int | None = None,
) -> Complaint:
    """Art. 15: the case ends on the day the withdrawal is received, ``on`` (default today: a
    letter that arrived earlier ends the case on the day it arrived, not when it is entered),
    never before handling already recorded (``_latest_handling_day``)."""
    complaint = load_to_act(complaint_id, version, actor)
    today = clock.local_date(utcnow())
    day = on or today
    received = clock.local_date(complaint.received_at)
    if day < received:
        raise ValidationFailed(
            f"收到撤回的日期不能早于投诉接收日期（{received:%Y年%m月%d日}）", field="on"
        )
    if day > today:
        raise ValidationFailed("收到撤回的日期不能晚于今天", field="on")
    later = _latest_handling_day(complaint)
    if later is not None and day < later[0]:
        raise ValidationFailed(
            f"收到撤回的日期不能早于本投诉已登记的{later[1]}（{later[0]:%Y年%m月%d日}）："
            "撤回之日投诉即告终结，此后不应再有办理事项，请核对撤回日期",
            field="on",
        )
    reason = _require(reason, "reason", "撤回说明")
    text = reason if day == today else f"{reason}（{day:%Y年%m月%d日}收到撤回）"
    _move(complaint, "withdraw", actor, text, on=day.isoformat())
    # the case ended that day: its last moment, for a day before today
    complaint.closed_at = (
        utcnow() if day == today else datetime.combine(day, time.max, clock.TZ).astimezone(UTC)
    )
    return complaint


def _latest_handling_day(complaint: Complaint) -> tuple[date, str] | None:
    """The latest Beijing day on which handling already recorded took effect, and what it
    was: the decision (a review's too), its proof of notice, a review request, a pause or
    resume, a restart on new facts. A withdrawal ends the case on the day it is received
    (Art. 15), so it is not dated before any of these: backdated before a decision, it counted
    that decision as made in time with its notice excused."""
    days: list[tuple[date, str]] = []
    if complaint.decided_at is not None:
        days.append((clock.local_date(complaint.decided_at), "处理决定日期"))
    if complaint.decision_notified_at is not None:
        days.append((clock.local_date(complaint.decision_notified_at), "处理决定告知日期"))
    if complaint.review_requested_on is not None:
        days.append((complaint.review_requested_on, "核查申请日期"))
    if complaint.clock_restarted_on is not None:
        days.append((complaint.clock_restarted_on, "时限重新起算日期（收到新事实）"))
    for start, end in complaint.pauses or []:
        days.append((date.fromisoformat(start), "中止计时日期"))
        if end:
            days.append((date.fromisoformat(end), "恢复计时日期"))
    return max(days, key=lambda d: d[0]) if days else None


def _check_pause_day(complaint: Complaint, day: date) -> None:
    """A pause starts on a day the clock runs: not before it started, not in the future, not
    after the deadline, and not inside an earlier pause (on or after that pause's resume
    date). Nor is one registered once the deadline has passed, whatever day it claims: the
    customer is told when the clock pauses (Art. 18), and a pause entered late and backdated
    into the period, told only now, turned an overdue case into one decided in time."""
    expired = run_out_on(complaint)
    if expired is not None:
        raise ValidationFailed(
            f"办理时限已于 {expired:%Y年%m月%d日} 届满，不能再补登中止计时；"
            "中止计时须在时限内登记并告知客户",
            field="on",
        )
    started = clock.start_date(complaint.clock_facts())
    if day < started:
        what = "时限重新起算日期" if complaint.clock_restarted_on else "投诉接收日期"
        raise ValidationFailed(f"中止日期不能早于{what}（{started:%Y年%m月%d日}）", field="on")
    if day > clock.local_date(utcnow()):
        raise ValidationFailed("中止日期不能晚于今天", field="on")
    due = clock.local_date(complaint.due_at) if complaint.due_at else None
    if due is not None and day > due:
        # the period had run out by then: nothing is left to pause, and the paused days would
        # move a passed deadline (a late case read as on time)
        raise ValidationFailed(
            f"中止日期不能晚于办理时限（{due:%Y年%m月%d日}），时限届满后不能中止计时", field="on"
        )
    resumed = [date.fromisoformat(p[1]) for p in complaint.pauses or [] if p[1]]
    if resumed and day < max(resumed):
        raise ValidationFailed(
            f"中止日期不能早于上次恢复计时的日期（{max(resumed):%Y年%m月%d日}），中止期间不能重叠",
            field="on",
        )


# A pause may be entered a few days after it began (an appraisal handed over on Friday is entered
# on Monday); one dated further back is a 补登 that a unit manager or head office enters: the
# customer hears of it only now (Art. 18: told when the clock pauses), and an agent could
# otherwise buy a late case days of clock by dating a mediation weeks back.
PAUSE_BACKDATE_DAYS = 3


def _check_backdating(
    actor: User,
    day: date,
    *,
    what: str = "中止日期",
    rule: str = "中止计时须及时登记并告知客户",
    field: str = "on",
) -> int:
    """How many days before today ``day`` lies; refused past PAUSE_BACKDATE_DAYS for anyone
    but a unit manager or head office (a pause's start, a letter's posting date)."""
    back = (clock.local_date(utcnow()) - day).days
    if back > PAUSE_BACKDATE_DAYS and not (
        actor.has_role(Role.BRANCH_MANAGER) or actor.has_role(Role.HQ_MANAGER)
    ):
        raise Forbidden(
            f"{what}早于 {PAUSE_BACKDATE_DAYS} 天前（{day:%Y年%m月%d日}，{back} 天前）："
            f"{rule}，补登须由机构负责人或总行管理人员办理",
            field=field,
        )
    return back


@transactional
@guarded
def pause(
    complaint_id: int,
    *,
    actor: User,
    kind: str,
    reason: str,
    on: date | None = None,
    version: int | None = None,
) -> Complaint:
    """Outside appraisal or mediation: the clock stops from ``on`` and the customer is told."""
    complaint = load_to_act(complaint_id, version, actor)
    if kind not in ("appraisal", "mediation"):
        raise ValidationFailed("请选择中止计时的原因类型", field="kind")
    reason = _require(reason, "reason", "中止说明")
    day = on or clock.local_date(utcnow())
    _check_pause_day(complaint, day)
    back = _check_backdating(actor, day)
    if back > PAUSE_BACKDATE_DAYS:  # (the history says so: 补登, by whom, how late)
        reason = f"{reason}（{back} 天后补登）"
    late = {"entered_days_later": back} if back else {}
    _move(complaint, "pause", actor, reason, kind=kind, on=day.isoformat(), **late)
    complaint.pauses = [*(complaint.pauses or []), [day.isoformat(), None]]
    refresh_due(complaint)
    label = "第三方鉴定/评估" if kind == "appraisal" else "调解"
    _auto_notice(complaint, actor, "pause", f"因{label}，处理时限自{day:%Y年%m月%d日}起中止计算。")
    return complaint


@transactional
@guarded
def resume(
    complaint_id: int, *, actor: User, on: date | None = None, version: int | None = None
) -> Complaint:
    complaint = load_to_act(complaint_id, version, actor)
    day = on or clock.local_date(utcnow())
    pauses = [list(p) for p in complaint.pauses or []]
    if not pauses or pauses[-1][1] is not None:
        raise Conflict("没有进行中的中止计时")
    paused_on = date.fromisoformat(pauses[-1][0])
    if day < paused_on:
        raise ValidationFailed(f"恢复日期不能早于中止日期（{paused_on:%Y年%m月%d日}）", field="on")
    if day > clock.local_date(utcnow()):
        raise ValidationFailed("恢复日期不能晚于今天", field="on")
    pauses[-1][1] = day.isoformat()
    complaint.pauses = pauses
    _move(complaint, "resume", actor, f"恢复计时（{day:%Y-%m-%d}）", on=day.isoformat())
    refresh_due(complaint)
    # the customer was told at the pause that they would hear of the resumption too: now the
    # new last day (it was promised on the progress page and never sent)
    told = (
        f"我们最迟于 {clock.local_date(complaint.due_at):%Y年%m月%d日}（含当日）告知您处理结果"
        if complaint.due_at
        else "告知处理结果的日期另行通知"
    )
    _auto_notice(complaint, actor, "resume", f"处理时限自{day:%Y年%m月%d日}起恢复计算，{told}。")
    return complaint


@transactional
@guarded
def extend(
    complaint_id: int, *, actor: User, level: int, reason: str, version: int | None = None
) -> Complaint:
    """30 days for complex cases; a further 30 only with the approval of a superior institution
    or a head-office senior manager (Art. 20): an hq_manager at the head office, or the manager
    of a unit above the case's own (a 分行's manager for a case at one of its 支行)."""
    complaint = load_to_act(complaint_id, version, actor)
    if complaint.status == Status.REVIEW_REQUESTED:
        # Art. 23: the review is due 30 days after the request; no extension applies to it
        raise Conflict("核查期间不能延期：核查决定须在收到核查申请之日起 30 日内作出")
    if not complaint.clock_running and complaint.status != Status.PAUSED:
        raise Conflict(f"当前状态为“{complaint.status_label}”，不能延期")
    if level not in (1, 2) or level <= complaint.extension_level:
        raise ValidationFailed("延期只能逐级延长（30日、60日）", field="level")
    if level == 2 and not may_approve_second_extension(actor, complaint):
        raise Forbidden("再延长 30 日须经上级机构负责人或总行管理人员审批", field="level")
    if level == 2 and complaint.extension_level < 1:
        raise ValidationFailed("须先延长至 30 日", field="level")
    due = run_out_on(complaint)
    if due is not None:
        raise ValidationFailed(
            f"办理时限已于 {due:%Y年%m月%d日} 届满，不能再延期；延期须在时限届满前决定并告知客户",
            field="level",
        )
    reason = _require(reason, "reason", "延期理由", 4)
    complaint.extension_level = level
    refresh_due(complaint)
    days = clock.PERIOD_DAYS[level]
    by_hq = head_office_manager(actor)
    # (the history and the API say how far and, for the second, who approved it: Art. 20)
    what = (
        "延长至 30 日"
        if level == 1
        else "再延长至 60 日（经{}审批）".format("总行管理人员" if by_hq else "上级机构负责人")
    )
    record_event(
        complaint,
        actor,
        "extended",
        f"{what}：{reason}",
        detail={
            "level": level,
            "days": days,
            "approved_by_hq": level == 2 and by_hq,
            "approved_by_superior": level == 2 and not by_hq,
        },
    )
    # (the receipt's words for the new last day: the 处理结果 told by it, the day itself counted)
    told = (
        f"我们最迟于 {clock.local_date(complaint.due_at):%Y年%m月%d日}（含当日）告知您处理结果"
        if complaint.due_at
        else "告知处理结果的日期另行通知"
    )
    # (Art. 20: the further 30 days need approval, and the customer is told they were approved)
    why = (
        "因情况复杂，处理期限延长"
        if level == 1
        else "因情况特别复杂，经{}批准，处理期限再延长 30 日".format(
            "总行" if by_hq else "上级机构"
        )
    )
    _auto_notice(complaint, actor, "extension", f"{why}，{told}。原因：{reason}")
    return complaint


EXTENDABLE = frozenset({Status.ACCEPTED, Status.IN_PROGRESS, Status.PAUSED})


def run_out_on(complaint: Complaint) -> date | None:
    """The due date when it has passed (Beijing days; the last day itself still counts), else
    None. A period is extended before it runs out: granted afterwards, it would turn a late
    case into one decided "in time" (Art. 18, 20)."""
    due = clock.local_date(complaint.due_at) if complaint.due_at else None
    return due if due is not None and clock.local_date(utcnow()) > due else None


def extension_levels(actor: User, complaint: Complaint) -> list[int]:
    """The levels ``actor`` may extend the case to now (what the case page offers): 30 days
    once the case is accepted, then 60 days for those who may approve it, nothing beyond,
    and nothing once the period has run out."""
    if complaint.status not in EXTENDABLE or run_out_on(complaint) is not None:
        return []
    if complaint.extension_level == 0:
        return [1]
    if complaint.extension_level == 1 and may_approve_second_extension(actor, complaint):
        return [2]
    return []


def head_office_manager(actor: User) -> bool:
    """An hq_manager placed at the head office (or at no unit): Art. 20's 总行高级管理人员. An
    hq_manager account placed at a 分行 is that 分行's manager, no more."""
    own = actor.branch
    return actor.has_role(Role.HQ_MANAGER) and (own is None or own.parent_id is None)


def may_approve_second_extension(actor: User, complaint: Complaint) -> bool:
    """A head-office manager, or a manager of a unit strictly above the case's branch (a
    superior institution, Art. 20); a manager of the case's own unit may not."""
    if head_office_manager(actor):
        return True
    own, case = actor.branch, complaint.branch
    return (
        actor.has_role(Role.BRANCH_MANAGER, Role.HQ_MANAGER)
        and own is not None
        and case is not None
        and case.path.startswith(own.path)
        and case.path != own.path
    )


REVIEW_BY_SUPERIOR = (
    "核查须由上级机构办理（第二十三条）：请由{superior}的人员作出核查决定，"
    "作出原处理决定的人员不能核查"
)


def _last_move_to(complaint: Complaint, status: Status) -> ComplaintEvent | None:
    """The history's latest entry of the case moving to ``status``."""
    return db.session.scalar(
        select(ComplaintEvent)
        .where(
            ComplaintEvent.complaint_id == complaint.id,
            ComplaintEvent.kind == "status",
            ComplaintEvent.to_status == status,
        )
        .order_by(ComplaintEvent.id.desc())
        .limit(1)
    )


def original_decider_id(complaint: Complaint) -> int | None:
    """Who made the decision under review (the last 作出处理决定 in the history)."""
    entry = _last_move_to(complaint, Status.DECIDED)
    return entry.actor_id if entry is not None else None


def superior_names(complaint: Complaint) -> str:
    """The institutions above the case's branch, nearest first ("杭州分行或总行")."""
    case = complaint.branch
    if case is None or case.parent is None:
        return "总行其他"
    names, unit = [], case.parent
    while unit is not None:
        names.append(unit.name)
        unit = unit.parent
    return "或".join(names)


def may_decide_review(actor: User, complaint: Complaint) -> bool:
    """Art. 23: the customer asks the superior institution for a review, so it is decided by a
    handler of a unit strictly above the case's branch (head-office staff are above every
    branch; a case held at the head office itself is reviewed there), and never by whoever made
    the decision under review."""
    if actor.id == original_decider_id(complaint):
        return False
    own, case = actor.branch, complaint.branch
    at_head_office = (
        own is None
        and actor.has_role(Role.HQ_MANAGER)
        or (own is not None and own.parent_id is None)
    )
    if case is None or case.parent_id is None:
        return at_head_office
    if own is None:
        return at_head_office
    return case.path.startswith(own.path) and case.path != own.path


@dataclass(frozen=True)
class Decision:
    verified: str
    basis: str
    text: str
    remedies: tuple[str, ...]
    # how the complainant's identity was checked, when it was not on accepting (Art. 22)
    identity_check: str | None = None


@transactional
@guarded
def decide(
    complaint_id: int, *, actor: User, decision: Decision, version: int | None = None
) -> Complaint:
    """Art. 19: what was verified, the basis and reasons, and the remedies open to the customer."""
    complaint = load_to_act(complaint_id, version, actor)
    if complaint.status == Status.REVIEW_REQUESTED and not may_decide_review(actor, complaint):
        raise Forbidden(REVIEW_BY_SUPERIOR.format(superior=superior_names(complaint)))
    verified = _require(decision.verified, "verified", "核实情况", 4)
    basis = _require(decision.basis, "basis", "处理依据和理由", 4)
    text = _require(decision.text, "decision_text", "处理决定", 4)
    remedies = [r for r in decision.remedies if r in REMEDIES]
    if not remedies:
        raise ValidationFailed("请至少告知一种救济途径（核查、调解、仲裁、诉讼）", field="remedies")
    _check_identity(complaint, actor, decision.identity_check)
    action = "decide_review" if complaint.status == Status.REVIEW_REQUESTED else "decide"
    # (the history keeps every decision in full: a review's replaces the first on the case row
    # only; Art. 19, 28)
    kept = decisions.detail(
        decisions.REVIEW if action == "decide_review" else decisions.FIRST,
        verified,
        basis,
        text,
        remedies,
    )
    extra = {}
    if action == "decide_review" and not decisions.first_is_kept(decisions.entries(complaint)):
        extra["replaces"] = decisions.snapshot(complaint)  # (recorded before entries kept it)
    _move(complaint, action, actor, text, decision=kept, **extra)
    complaint.decision_verified, complaint.decision_basis = verified, basis
    complaint.decision_text, complaint.remedies = text, remedies
    complaint.decided_at = utcnow()
    if action == "decide":  # (a review's decision is judged apart; the first one stays theirs)
        complaint.decided_by_id = actor.id
    return complaint


@transactional
@guarded
def record_notice(
    complaint_id: int,
    *,
    actor: User,
    method: str,
    purpose: str,
    outcome: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
    posted_on: date | None = None,
    version: int | None = None,
) -> Complaint:
    """Art. 21 proof: SMS/e-mail sent through the adapter, a call, a letter, handed over."""
    complaint = load_to_act(complaint_id, version, actor)
    if method not in NOTICE_METHODS:
        raise ValidationFailed("请选择告知方式", field="method")
    if purpose not in NOTICE_PURPOSES:
        raise ValidationFailed("请选择告知事项", field="purpose")
    if purpose in DECISION_PURPOSES and complaint.decided_at is None:
        # (an empty form once sent the customer "处理决定告知" about no decision at all)
        raise ValidationFailed(
            "尚未作出处理决定，不能告知处理决定，请选择其他告知事项", field="purpose"
        )
    if purpose in DECISION_PURPOSES and (purpose == "review_decision") != (
        complaint.decision_is_review
    ):
        # (a review's decision told as "处理决定" once reached the customer under that name)
        raise ValidationFailed(
            "本案当前的决定是核查决定，请选择“核查决定告知”"
            if complaint.decision_is_review
            else "本案尚未作出核查决定，请选择“处理决定告知”",
            field="purpose",
        )
    note = (note or "").strip()
    detail = {"method": method, "purpose": purpose}
    if method in ("sms", "email"):
        recipient = complaint.complainant_phone if method == "sms" else complaint.complainant_email
        if not recipient:
            raise ValidationFailed("投诉人没有该联系方式", field="method")
        body = _notice_body(complaint, purpose, note, short=method == "sms")
        msg = notify.send(
            method,
            recipient,
            f"{channels.sms_signature()}投诉 {complaint.reference}：{body}",
            related_type="complaint",
            related_id=complaint.id,
            purpose=purpose,
        )
        detail |= {"outcome": msg.status, "message_id": msg.id, "recipient": msg.recipient_masked}
        note = msg.body
    elif method == "phone":
        if outcome not in ("reached", "no_answer", "unreachable"):
            raise ValidationFailed("请选择通话结果", field="outcome")
        detail |= {"outcome": outcome, "at": (at or utcnow()).isoformat()}
    elif method == "letter":
        if posted_on is None:
            raise ValidationFailed("请填写寄出日期", field="posted_on")
        _check_posted_on(complaint, purpose, posted_on)
        # a posting date days back is a 补登 (a late decision letter dated back counted as
        # told in time): as for a pause, a manager's, and the history says so
        back = _check_backdating(
            actor, posted_on, what="寄出日期", rule="信函寄出须及时登记", field="posted_on"
        )
        detail |= {"outcome": "posted", "posted_on": posted_on.isoformat()}
        if back > PAUSE_BACKDATE_DAYS:
            detail["entered_days_later"] = back
            late = f"（{posted_on:%Y年%m月%d日}寄出，{back} 天后补登）"
            note = f"{note or NOTICE_PURPOSES[purpose]}{late}"
    else:
        detail |= {"outcome": "handed", "at": (at or utcnow()).isoformat()}
    record_event(complaint, actor, "notice", note or NOTICE_PURPOSES[purpose], detail=detail)
    if purpose in DECISION_PURPOSES and detail.get("outcome") in PROVEN:
        reached = utcnow() if posted_on is None else clock.end_of_day(posted_on)
        decision_reached(complaint, min(reached, utcnow()))
    if method == "phone" and outcome in ("no_answer", "unreachable"):
        record_event(complaint, actor, "contact", "电话未能联系上客户", detail=detail)
    complaint.updated_at = utcnow()
    return complaint


def _check_posted_on(complaint: Complaint, purpose: str, posted_on: date) -> None:
    """A letter is posted after what it tells happened (the decision, for a decision notice;
    the complaint's receipt, for any other) and not after today: a letter dated later would
    count as proof that the customer was told inside the deadline."""
    if purpose in DECISION_PURPOSES:
        earliest, what = clock.local_date(complaint.decided_at), "处理决定日期"
    else:
        earliest, what = clock.local_date(complaint.received_at), "投诉接收日期"
    if posted_on < earliest:
        raise ValidationFailed(
            f"寄出日期不能早于{what}（{earliest:%Y年%m月%d日}）", field="posted_on"
        )
    if posted_on > clock.local_date(utcnow()):
        raise ValidationFailed("寄出日期不能晚于今天", field="posted_on")


def decision_reached(complaint: Complaint, at: datetime) -> None:
    """Note the first proof that the decision reached the customer (a call answered, a letter
    posted or handed over, a message its gateway accepted): the legal clock stops there
    (Art. 18: made and communicated). A notice about an earlier decision counts for nothing."""
    decided, known = complaint.decided_at, complaint.decision_notified_at
    if decided is None or (known is not None and known >= decided):
        return
    if Status(complaint.status) not in DECIDED_STATES and complaint.status != Status.CLOSED:
        return
    complaint.decision_notified_at = max(at, decided)


def _notice_body(complaint: Complaint, purpose: str, note: str, *, short: bool = False) -> str:
    """The text of a notice sent by SMS or e-mail. A decision's (or a decline's) always
    carries what it tells (``_default_notice``): a note typed with it is added after it, never
    instead of it (a note alone once counted as proof the decision was told, Art. 19, 21); a
    note that repeats that text is not added twice. Other notices: the note, else the default.
    ``short`` (an SMS): the findings and the basis are cut at SMS_PART_CHARS each."""
    told = _default_notice(complaint, purpose, short=short)
    if told == NOTICE_PURPOSES[purpose]:  # (nothing of its own to tell: the note says it)
        return note or told
    if not note or note in told:
        return told
    if told in note:
        return note
    return f"{told}补充说明：{note}"


def _clause(text: str, limit: int | None = None) -> str:
    text = text.strip().rstrip("。；;，,.!！")
    return text if limit is None or len(text) <= limit else text[:limit] + "……"


# An SMS of the decision carries the findings and the basis cut at this many characters each (a
# decision's texts ran to 2,000 characters: a gateway may refuse or cut such a message); the
# decision itself and the remedies whole. The e-mail and the letter carry everything.
SMS_PART_CHARS = 150


def _default_notice(complaint: Complaint, purpose: str, *, short: bool = False) -> str:
    """A notice's own text: a decision's states what was verified, the basis and reasons, the
    decision and the remedies (Art. 19); a decline's, its ground (Art. 18)."""
    if purpose in DECISION_PURPOSES and complaint.decision_text:
        label = "核查决定" if purpose == "review_decision" else "处理决定"
        cut = SMS_PART_CHARS if short else None
        parts = [
            f"核实情况：{_clause(complaint.decision_verified, cut)}。"
            if complaint.decision_verified
            else "",
            f"处理依据和理由：{_clause(complaint.decision_basis, cut)}。"
            if complaint.decision_basis
            else "",
            f"{label}：{_clause(complaint.decision_text)}。",
        ]
        remedies = "、".join(REMEDIES[r] for r in complaint.remedies or [] if r in REMEDIES)
        if remedies:
            parts.append(f"如有异议，您可{remedies}。")
        return "".join(parts)
    if purpose == "decline":
        entry = _last_move_to(complaint, Status.DECLINED)
        if entry is not None:
            detail = entry.detail or {}
            ground = DECLINE_GROUNDS.get(detail.get("ground"))
            if ground:
                return decline_notice(ground, detail.get("explanation"))
            if entry.text:  # (declined before a ground was recorded: the reason given)
                return decline_notice(_clause(entry.text), None)
    return NOTICE_PURPOSES[purpose]


@transactional
@guarded
def add_note(
    complaint_id: int, *, actor: User, text: str, kind: str = "note", version: int | None = None
) -> Complaint:
    """An internal note or a contact-log entry; notes never reach the customer."""
    complaint = load(complaint_id, version)
    if kind not in ("note", "contact"):
        raise ValidationFailed("未知记录类型", field="kind")
    record_event(complaint, actor, kind, _require(text, "text", "记录内容")[:5000])
    complaint.updated_at = utcnow()
    return complaint


@transactional
@guarded
def request_review(
    complaint_id: int, *, actor: User, requested_on: date, reason: str, version: int | None = None
) -> Complaint:
    """Art. 23: a written review request within 30 days of the day the decision reached the
    customer (``clock.review_window_opens``); due 30 days later; one review per case.

    Publishes ``complaint.reopened`` inside this transaction (the survey side cancels the
    complaint-resolution survey of an earlier close that has not gone out yet)."""
    complaint = load_to_act(complaint_id, version, actor)
    if complaint.decided_at is None:
        # a repeat merged into another case is closed without a decision of its own: the
        # customer asks for the review of the case it went into
        raise Conflict(
            "该投诉已并入其他投诉，没有单独的处理决定，请在其并入的投诉上登记核查申请"
            if complaint.merged_into_id
            else "该投诉尚未作出处理决定，不能登记核查申请"
        )
    if complaint.first_decided_at is not None:
        # Art. 23 gives one review by the superior institution; its decision is the bank's last
        # word (a second one let the reviewer review their own review)
        raise Conflict(
            f"该投诉已于 {clock.local_date(complaint.decided_at):%Y年%m月%d日} 作出核查决定，"
            "不能再次申请核查；客户仍有异议的，可申请调解、仲裁或提起诉讼"
        )
    decided_on = clock.local_date(complaint.decided_at)
    if requested_on < decided_on:
        raise ValidationFailed(
            f"核查申请日期不能早于处理决定日期（{decided_on:%Y年%m月%d日}）", field="requested_on"
        )
    if requested_on > clock.local_date(utcnow()):
        raise ValidationFailed("申请日期不能晚于今天", field="requested_on")
    opened = clock.review_window_opens(complaint.decided_at, complaint.decision_notified_at)
    if not clock.review_request_in_time(opened, requested_on):
        last = opened + timedelta(days=clock.REVIEW_REQUEST_WINDOW_DAYS)
        raise ValidationFailed(
            f"核查申请须在收到处理决定之日起 30 日内提出：处理决定于 {opened:%Y年%m月%d日} "
            f"告知客户，申请期限至 {last:%Y年%m月%d日}",
            field="requested_on",
        )
    _move(complaint, "request_review", actor, _require(reason, "reason", "核查申请事由"))
    complaint.first_decided_at = complaint.decided_at
    complaint.first_due_at = complaint.due_at
    complaint.first_decision_notified_at = complaint.decision_notified_at
    complaint.review_requested_on = requested_on
    complaint.closed_at = None
    complaint.escalated_at = None  # (the review's own deadline is escalated when it passes)
    refresh_due(complaint)
    db.session.flush()
    publish(  # (the survey side cancels a survey on the resolution not sent yet)
        DomainEvent(
            "complaint.reopened",
            occurred_at=utcnow(),
            customer_id=complaint.customer_id,
            branch_id=complaint.branch_id,
            product_id=complaint.product_id,
            attributes={"complaint_id": complaint.id, "reason": "客户已申请核查"},
        )
    )
    return complaint
