"""Complaint intake from every channel: reference, customer matching, classification, receipt.

``create_complaint`` is idempotent on channel + external_ref, also under concurrent retries: the
insert runs in a savepoint, and a unique-constraint race returns the complaint that won.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import undefer

import nlp
from app.extensions import db
from app.models import Branch, Customer, Product, User, utcnow
from app.models.complaint import (
    Channel,
    Complaint,
    ComplaintAttachment,
    ComplaintEvent,
    Status,
    raise_priority_for_major,
)
from app.models.outbox import MessageStatus, OutboxMessage
from app.models.user import USERNAME_PATTERN
from app.security import pii, uploads
from app.security.uploads import FileData
from app.services import analysis, audit, channels, notify, scope
from app.services import complaint_clock as clock
from app.services.analysis_sources import complaint_text
from app.services.complaint_files import (
    UPLOADED,
    FileRules,
    attachment_problems,
    attachment_row,
)
from app.services.customers import (
    CustomerData,
    blank,
    branch_by_code,
    check_phone,
    customer_number,
    printable_text,
    upsert_customer_row,
)
from app.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.services.tx import get_in_scope_or_raise, next_id, transactional

MAX_CONTENT = 5000
# Anything older is a typing error (and Asia/Shanghai had other offsets before 1901).
EARLIEST_RECEIPT = datetime(2000, 1, 1, tzinfo=clock.TZ)  # Beijing time, as the metrics' dates
MAJOR_GROUP_SIZE = 20  # Art. 29: group complaints of 20 or more people in person


@dataclass(frozen=True)
class TextCues:
    """What the text suggests: JR/T 0169 codes (``nlp.classify_complaint``) and urgency."""

    suggestion: Any
    urgency: Any


@dataclass(frozen=True)
class IntakeData:
    """One complaint as it arrives from a channel."""

    channel: str
    content: str
    name: str
    external_id: str | None = None
    phone: str | None = None
    email: str | None = None
    branch_code: str | None = None
    # The unit that took the complaint (staff entry): the case's branch when no branch is named
    # and the customer is unknown or belongs to a unit outside it (first-contact handling), so
    # that the clerk's case never lands where the clerk cannot see it.
    receiving_branch_code: str | None = None
    product_code: str | None = None
    received_at: datetime | None = None
    external_ref: str | None = None
    demand: str | None = None
    regulator_ref: str | None = None
    regulator_received_on: Any = None
    group_size: int | None = None
    major_reason: str | None = None
    source_response_id: int | None = None
    intake_ip: str | None = None
    attachments: tuple[FileData, ...] = field(default_factory=tuple)
    file_rules: FileRules = UPLOADED  # (the mailbox keeps more kinds: complaint_files.MAILED)
    cues: TextCues | None = None  # worked out before the transaction (see ``register``)
    refs: References | None = None  # looked up before the transaction (see ``register``)


@dataclass(frozen=True)
class References:
    """The rows an intake points at, read before its transaction (``register``).

    ``customer`` is None when none was found: with a customer number the intake then looks
    again inside its transaction and creates the customer; by phone alone it stays None."""

    customer: Customer | None
    branch: Branch | None
    product: Product | None


def actor_name(actor: User | None) -> str:
    """Who acted, as stored in the history: the display name and the login (unambiguous
    even when two people share a name)."""
    return f"{actor.display_name}（{actor.username}）" if actor else "系统"


_STORED_ACTOR = re.compile(rf"^(?P<name>.+)（(?P<login>{USERNAME_PATTERN})）$")


def actor_parts(stored: str) -> tuple[str, str | None]:
    """A stored ``actor_name`` as (display name, login or None), so pages show the name alone
    ("李坐席（杭州分行）", not "李坐席（杭州分行）（agent）", whose login read like a role code)
    and the login only as the 工号 where an id is wanted."""
    match = _STORED_ACTOR.match(stored or "")
    return (match["name"], match["login"]) if match else (stored, None)


def record_event(
    complaint: Complaint,
    actor: User | None,
    kind: str,
    text: str | None = None,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    detail: dict[str, Any] | None = None,
) -> ComplaintEvent:
    """Append one history entry (flush only; the caller's use case commits)."""
    entry = ComplaintEvent(
        complaint_id=complaint.id,
        actor_id=actor.id if actor else None,
        actor_name=actor_name(actor),
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        text=text,
        detail=detail or {},
    )
    db.session.add(entry)
    return entry


def reference(complaint_id: int, received_at: datetime) -> str:
    """The case number given to the complainant: TS + the Beijing date received + the id."""
    return f"TS{clock.local_date(received_at):%Y%m%d}-{complaint_id:06d}"


def refresh_due(complaint: Complaint) -> None:
    complaint.due_at = clock.due_at(complaint.clock_facts())


def _ref(text: str | None) -> str | None:
    """A reference as stored and looked up (a retry finds its case whatever blanks or
    direction controls it adds); None for a blank one."""
    return printable_text(text) or None


def _validate(data: IntakeData) -> None:
    if any("\x00" in (v or "") for v in (data.content, data.name, data.demand)):
        raise ValidationFailed("内容包含无法保存的字符", field="content")
    if data.channel not in set(Channel):
        raise ValidationFailed(f"未知渠道：{data.channel}", field="channel")
    if blank(data.content):
        raise ValidationFailed("请填写投诉内容", field="content")
    if len(data.content) > MAX_CONTENT:
        raise ValidationFailed(f"投诉内容不能超过 {MAX_CONTENT} 字", field="content")
    if blank(data.name) and not (data.external_id or "").strip():
        raise ValidationFailed("请填写投诉人姓名", field="name")
    if data.received_at is not None:
        if data.received_at.tzinfo is None:
            raise ValidationFailed("接收时间须带时区", field="received_at")
        if data.received_at > utcnow() + timedelta(minutes=5):
            raise ValidationFailed("接收时间不能晚于当前时间", field="received_at")
        if data.received_at < EARLIEST_RECEIPT:
            raise ValidationFailed(
                "接收时间过早，请核对（应不早于 2000 年 1 月 1 日）", field="received_at"
            )
    on = data.regulator_received_on
    if on is not None and on > clock.local_date(utcnow()):
        raise ValidationFailed("监管转办日期不能晚于今天", field="regulator_received_on")
    if on is not None and on < EARLIEST_RECEIPT.date():
        raise ValidationFailed(
            "监管转办日期过早，请核对（应不早于 2000 年 1 月 1 日）", field="regulator_received_on"
        )
    received_on = clock.local_date(data.received_at or utcnow())
    if on is not None and on > received_on:
        # the regulator forwards what it received: it cannot reach the bank before that day
        raise ValidationFailed(
            f"监管部门接收日期不能晚于本行接收日期（{received_on:%Y年%m月%d日}），请核对",
            field="regulator_received_on",
        )
    check_phone(data.phone)
    problems = attachment_problems(data.attachments, rules=data.file_rules)
    if problems:  # (before the transaction: a refused file leaves no complaint behind)
        raise ValidationFailed("；".join(problems), field="attachments")


def find_customer(data: IntakeData) -> Customer | None:
    """The known customer: by customer number, else by phone if exactly one has it (a read)."""
    if data.external_id:
        return db.session.scalar(
            select(Customer)
            .where(Customer.external_id == customer_number(data.external_id))
            .execution_options(include_all_branches=True)
        )
    if data.phone:
        rows = db.session.scalars(
            select(Customer)
            .where(Customer.phone_index == pii.blind_index("phone", data.phone))
            .limit(2)
            .execution_options(include_all_branches=True)
        ).all()
        if len(rows) == 1:
            return rows[0]
    return None


def match_customer(data: IntakeData) -> Customer | None:
    """By customer number (created when unknown and a name is given), else by phone if unique."""
    found = find_customer(data)
    if found is not None or not data.external_id:
        return found
    if blank(data.name):  # a customer number the bank does not know yet
        raise ValidationFailed("客户号未找到，请填写投诉人姓名", field="name")
    customer, _ = upsert_customer_row(
        CustomerData(
            external_id=customer_number(data.external_id)[:64],
            name=data.name,
            phone=data.phone,
            email=data.email,
            branch_code=data.branch_code,
        ),
        inactive_branch_ok=True,  # (a complaint is taken about any unit: see _branch_of)
    )
    return customer


def _head_office() -> Branch | None:
    return db.session.scalar(
        select(Branch).where(Branch.parent_id.is_(None)).order_by(Branch.id).limit(1)
    )


def _product(code: str | None) -> Product | None:
    if not code:
        return None
    product = db.session.scalar(select(Product).where(Product.code == code.strip()))
    if product is None:
        raise ValidationFailed(f"产品代码 {code} 不存在", field="product_code")
    return product


def text_cues(content: str) -> TextCues:
    """The category suggestion and urgency of a complaint's text (pure work)."""
    return TextCues(nlp.classify_complaint(content), nlp.urgency(content))


def _classify(complaint: Complaint, cues: TextCues | None) -> None:
    cues = cues or text_cues(complaint_text(complaint.content, complaint.demand))
    suggestion = cues.suggestion
    complaint.suggestion = suggestion.to_dict()
    for attr, pick in (
        ("code_channel", suggestion.channel),
        ("code_business", suggestion.business),
        ("code_cause", suggestion.cause),
    ):
        if pick is not None and getattr(complaint, attr) is None:
            setattr(complaint, attr, pick.code)
    cue = cues.urgency
    complaint.priority = cue.priority
    complaint.urgency_reasons = [list(r) for r in cue.reasons]


def _regulator_ref(data: IntakeData) -> str | None:
    """The regulator's reference of a forwarded case; a system forwarding it that gives none
    separately uses the regulator's number as its own ``external_ref``."""
    ref = _ref(data.regulator_ref)
    if not ref and data.channel == Channel.REGULATOR:
        ref = _ref(data.external_ref)
    # (NFKC: ＪＲ－２０２６－０００１ typed on a Chinese keyboard is the regulator's JR-2026-0001)
    return unicodedata.normalize("NFKC", ref)[:100] if ref else None


def _major_flag(complaint: Complaint, data: IntakeData) -> None:
    """Art. 29: a group of ``MAJOR_GROUP_SIZE`` or more complaining in person (registered at a
    branch counter) is major by itself; staff designate the other major cases (a disaster, the
    regulator's designation, or a group they judge so on another channel)."""
    in_person = data.channel == Channel.BRANCH
    if data.major_reason in ("group", "disaster", "regulator"):  # (staff's reason stands)
        complaint.is_major, complaint.major_reason = True, data.major_reason
    elif in_person and data.group_size and data.group_size >= MAJOR_GROUP_SIZE:
        complaint.is_major, complaint.major_reason = True, "group"
    raise_priority_for_major(complaint)


def _branch_of(data: IntakeData, customer: Customer | None) -> Branch | None:
    # A complaint about a unit since closed (or a product no longer sold) is still taken and
    # counted where it arose: the bank may not refuse it, and the unit above handles it.
    branch = branch_by_code(data.branch_code, inactive_ok=True) if data.branch_code else None
    if branch is not None:
        return branch
    own = customer.branch if customer else None
    receiving = (
        branch_by_code(data.receiving_branch_code, inactive_ok=True)
        if data.receiving_branch_code
        else None
    )
    if receiving is not None and not (own is not None and own.path.startswith(receiving.path)):
        return receiving
    return own or _head_office()


def look_up(data: IntakeData) -> References:
    """The customer, branch and product the intake names (ValidationFailed for an unknown
    code). Only reads: ``register`` runs it before its transaction takes the write lock."""
    customer = find_customer(data)
    if data.branch_code and data.product_code:  # (an integrator's usual case: one round trip)
        both = db.session.execute(
            select(Branch, Product)
            .join_from(Branch, Product, true())  # (two independent rows, one each)
            .where(
                Branch.code == data.branch_code.strip().upper(),
                Product.code == data.product_code.strip(),
            )
        ).first()
        if both is not None:
            return References(customer, both.Branch, both.Product)
    return References(customer, _branch_of(data, customer), _product(data.product_code))


def _references(data: IntakeData) -> References:
    refs = data.refs or look_up(data)
    if refs.customer is None and data.external_id:
        # a customer number not known at the look-up: looked up again, and created, here
        customer = match_customer(data)
        branch = refs.branch if data.branch_code else _branch_of(data, customer)
        refs = replace(refs, customer=customer, branch=branch)
    return refs


def _build(data: IntakeData) -> Complaint:
    refs = _references(data)
    customer, branch = refs.customer, refs.branch
    # (a sending system's clock a few minutes ahead, which ``_check`` allows, is not taken as
    # the receipt: the case would be registered before it was received)
    received = min(data.received_at or utcnow(), utcnow())
    # (the acknowledgement's message id in the same round trip: ``acknowledge``)
    ident = next_id(Complaint, also=(OutboxMessage,))
    # The matched customer's own contact data fills what the complainant left blank, but only
    # for a viewer who may read that customer: a clerk typing another unit's customer number
    # (or a phone it holds) must not get that customer's phone and e-mail onto a case they
    # can then reveal (the customer stays linked for the bank's records).
    known = (
        customer
        if customer is not None and scope.current(db.session).covers(customer.branch)
        else None
    )
    complaint = Complaint(
        id=ident,
        reference=reference(ident, received),
        channel=Channel(data.channel),
        external_ref=_ref(data.external_ref),
        status=Status.RECEIVED,
        received_at=received,
        customer=customer,
        complainant_name=(
            (known.name if known else "") if blank(data.name) else printable_text(data.name)
        )[:100],
        complainant_phone=(data.phone or "").strip() or (known.phone if known else None),
        complainant_email=(data.email or "").strip() or (known.email if known else None),
        product=refs.product,
        content=printable_text(data.content),
        demand=printable_text(data.demand) or None,
        regulator_ref=_regulator_ref(data),
        regulator_received_on=data.regulator_received_on,
        group_size=data.group_size,
        source_response_id=data.source_response_id,
        intake_ip=data.intake_ip,
        branch=branch,  # the object, so readers after the commit need no extra SELECT
        branch_id=branch.id if branch else None,
        pauses=[],
        extension_level=0,
        is_major=False,
        named_staff_ids=[],
        remedies=[],
    )
    phone = complaint.complainant_phone
    complaint.phone_index = pii.blind_index("phone", phone) if phone else None
    _classify(complaint, data.cues)
    _major_flag(complaint, data)
    refresh_due(complaint)
    return complaint


RESULT_ASAP = "我们会尽快告知您处理结果。"


def promise_by(due: date) -> str:
    """The receipt's promise of the decision by ``due`` (a local date; the last day counts)."""
    return f"我们最迟于 {due:%Y年%m月%d日}（含当日）告知您处理结果。"


def result_promise(complaint: Complaint) -> str:
    """When the complainant will hear the decision, in the receipt's words (the SMS and the
    form's confirmation page say the same: the last day counts)."""
    due = clock.local_date(complaint.due_at) if complaint.due_at else None
    if due is None:
        return ""
    if due < clock.local_date(utcnow()):  # registered late (a backdated receipt)
        return RESULT_ASAP
    return promise_by(due)


def acknowledge(complaint: Complaint, actor: User | None = None) -> ComplaintEvent:
    """Tell the complainant the complaint was received, through the channel's adapter; the
    message and the history entry are written with the caller's next flush."""
    body = (
        f"{channels.sms_signature()}您的投诉已收到，编号 {complaint.reference}。"
        f"{result_promise(complaint)}"
    )
    if complaint.phone_index:  # (the progress page asks for the number given: one to give)
        base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
        body += f"凭编号和手机号码可查询进度：{base}/complaint/progress"
    target = _ack_target(complaint)
    if target is None:
        return record_event(
            complaint,
            actor,
            "notice",
            "无可用的联系方式，未能自动发送受理回执",
            detail={"method": "none", "purpose": "acknowledgement", "outcome": "none"},
        )
    channel, recipient = target
    message = notify.send(
        channel,
        recipient,
        body,
        subject="投诉受理回执",
        related_type="complaint",
        related_id=complaint.id,
        purpose="acknowledgement",
        flush=False,
    )
    return record_event(
        complaint,
        actor,
        "notice",
        body,
        detail={
            "method": channel,
            "purpose": "acknowledgement",
            "outcome": message.status,
            "message_id": message.id,
            "recipient": message.recipient_masked,
        },
    )


# The receipt's channel as the complainant knows it.
RECEIPT_BY = {"sms": "短信", "email": "电子邮件", "wechat": "微信消息", "app": "手机银行消息"}


def receipt_sent(complaint: Complaint) -> str:
    """What the form's confirmation page may truthfully say of the receipt: sent, on its way
    (queued, or failed and due to be tried again) or not delivered, by which channel and to
    whom (masked); "" when none went out (no contact data). The page said 已通过短信发送 to
    a customer whose SMS was still queued or had failed."""
    message = db.session.scalar(
        select(OutboxMessage)
        .where(
            OutboxMessage.related_type == "complaint",
            OutboxMessage.related_id == complaint.id,
            OutboxMessage.purpose == "acknowledgement",
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)  # (delivered after the commit, inline)
    )
    if message is None:
        return ""
    by, to = RECEIPT_BY.get(message.channel, "消息"), message.recipient_masked
    if message.status == MessageStatus.SENT:
        return f"受理回执已通过{by}发送至 {to}。"
    if message.status == MessageStatus.FAILED and message.next_attempt_at is None:
        return f"受理回执未能通过{by}发送至 {to}，请记下上方的投诉编号。"
    return f"受理回执将通过{by}发送至 {to}。"


def references(ids: Iterable[int]) -> dict[int, str]:
    """{id: reference} of the given cases (those in the viewer's scope)."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = db.session.execute(
        select(Complaint.id, Complaint.reference).where(Complaint.id.in_(wanted))
    )
    return {row.id: row.reference for row in rows}


def can_acknowledge(complaint: Complaint) -> bool:
    """Whether a receipt can go out by itself (a phone number or an e-mail address to send it
    to); without one, staff tell the complainant another way."""
    return _ack_target(complaint) is not None


def _ack_target(complaint: Complaint) -> tuple[str, str] | None:
    if complaint.channel == Channel.EMAIL and complaint.complainant_email:
        return "email", complaint.complainant_email
    if complaint.complainant_phone:
        channel = {"wechat": "wechat", "app": "app"}.get(complaint.channel, "sms")
        return channel, complaint.complainant_phone
    if complaint.complainant_email:
        return "email", complaint.complainant_email
    return None


def registered(channel: str, external_ref: str) -> Complaint | None:
    """The complaint already taken in under this channel and key (a retry's first), or None."""
    return _existing(channel, external_ref)


def _existing(channel: str, external_ref: str | None) -> Complaint | None:
    ref = _ref(external_ref)
    if ref is None:
        return None
    return db.session.scalar(
        select(Complaint)
        .where(Complaint.channel == channel, Complaint.external_ref == ref)
        .execution_options(include_all_branches=True, populate_existing=True)
    )


def _forwarded_before(data: IntakeData, *, hold: bool = False) -> Complaint | None:
    """The case of this customer the regulator forwarded under the same number, if any: a
    forwarded case sent again (a retry without its external_ref, or by another system) was
    registered, and counted in the regulator's figures, twice. Another customer under the
    same number is a case of its own (a group forwarded under one letter). ``hold``: inside
    the intake's transaction, copies arriving at once take turns first (PostgreSQL: an
    advisory lock on the number; SQLite's writers take turns anyway)."""
    number = _regulator_ref(data) if data.channel == Channel.REGULATOR else None
    if not number:
        return None
    if hold and db.session.get_bind().dialect.name == "postgresql":
        key = func.hashtext(f"complaint.regulator_ref:{number}")
        db.session.execute(select(func.pg_advisory_xact_lock(key)))
    same_number = db.session.scalars(
        select(Complaint)
        .where(Complaint.channel == Channel.REGULATOR, Complaint.regulator_ref == number)
        .order_by(Complaint.id)
        .limit(50)
        .execution_options(include_all_branches=True, populate_existing=True)
    )
    return next((c for c in same_number if _same_customer(c, data)), None)


def _same_customer(found: Complaint, data: IntakeData) -> bool:
    """Whether ``data`` names the customer of ``found``, judged on what both name: the
    customer number, else the phone, else the name (a retry adding a number or a phone the
    first request lacked is the same customer; nothing in common contradicts nothing)."""
    number = customer_number(data.external_id)[:64] if (data.external_id or "").strip() else ""
    theirs = found.customer.external_id if found.customer is not None else None
    if number and theirs:
        return number == theirs
    phone = (data.phone or "").strip()
    if phone and found.phone_index:
        return found.phone_index == pii.blind_index("phone", phone)
    if not blank(data.name) and found.complainant_name:
        return printable_text(data.name)[:100] == found.complainant_name
    return True


def _retry(found: Complaint, data: IntakeData) -> Intake:
    """A retry: the first case. The same key for another customer is the sender's mistake (a
    reused reference), refused rather than answered with that customer's case: the new
    complaint was lost unseen, and the caller was shown someone else's."""
    if not _same_customer(found, data):
        raise Conflict(
            f"external_ref“{found.external_ref}”已用于另一位客户的投诉：重试须与首次提交的"
            "客户相同，新的投诉请换用新的 external_ref",
            field="external_ref",
        )
    return Intake(found, False)


@dataclass(frozen=True)
class Intake:
    """What registering a complaint did."""

    complaint: Complaint
    created: bool
    # The case's whole history when this intake wrote all of it (an API answer built from it
    # needs no re-read); None when there may be more (a case found again, a major complaint's
    # escalation).
    history: tuple[ComplaintEvent, ...] | None = None
    # The case's files when this intake stored all of them (None: a case found again).
    attachments: tuple[ComplaintAttachment, ...] | None = None


def intake_row(data: IntakeData, actor: User | None = None) -> tuple[Complaint, bool]:
    """Create the complaint inside the caller's transaction; (complaint, created)."""
    done = intake(data, actor)
    return done.complaint, done.created


def intake(data: IntakeData, actor: User | None = None) -> Intake:
    """Create the complaint inside the caller's transaction.

    Two flushes: the complaint itself (its id and reference are taken before the INSERT), then
    its history, acknowledgement message and attachments together. The acknowledgement goes
    to the channel's adapter only once the complaint's INSERT has succeeded."""
    if data.refs is None:  # (``register`` did both before the transaction)
        _validate(data)
        found = _existing(data.channel, data.external_ref)
        if found is not None:
            return _retry(found, data)
    forwarded = _forwarded_before(data, hold=True)  # (again, in turn: a copy may have landed)
    if forwarded is not None:
        return Intake(forwarded, False)
    # The savepoint guards the (channel, external_ref) idempotency key only: without a key
    # there is no conflict to recover from (and two round trips fewer).
    savepoint = db.session.begin_nested() if _ref(data.external_ref) else None
    try:
        complaint = _build(data)
        db.session.add(complaint)
        db.session.flush()
    except IntegrityError:
        if savepoint is None:
            raise
        savepoint.rollback()
        found = _existing(data.channel, data.external_ref)
        if found is None:
            raise
        return _retry(found, data)
    if savepoint is not None:
        savepoint.commit()
    files = tuple(attachment_row(complaint.id, item) for item in data.attachments)
    db.session.add_all(files)
    received = record_event(
        complaint,
        actor,
        "status",
        f"经{complaint.channel_label}渠道登记",
        to_status=Status.RECEIVED,
        detail={"channel": complaint.channel},
    )
    notice = acknowledge(complaint, actor)
    analysis.request_analysis("complaint", complaint.id, branch_id=complaint.branch_id, new=True)
    if complaint.is_major:
        from app.services.complaint_escalation import escalate_row

        escalate_row(complaint, "major", actor)
    db.session.flush()
    return Intake(complaint, True, None if complaint.is_major else (received, notice), files)


def create_complaint(data: IntakeData, *, actor: User | None = None) -> tuple[Complaint, bool]:
    """Register a complaint from any channel; the same channel + external_ref returns the first.

    Returns (complaint, created). Raises ValidationFailed with a Chinese message and field.
    """
    done = register(data, actor=actor)
    return done.complaint, done.created


def register(data: IntakeData, *, actor: User | None = None) -> Intake:
    """``create_complaint`` for callers that show the new case's history (the API).

    What needs no write lock happens before the transaction begins: on SQLite the writers of
    every process queue for one lock, held from the transaction's start, so every step taken
    out of it shortens the queue. Before: the validation, the look-up of a case already
    registered under the same channel + external_ref (a retry never waits for the lock), the
    text's classification (pure work) and the look-up of the customer, branch and product.
    Inside: the INSERTs (and a customer number not known before, looked up again and created).
    """
    _validate(data)
    found = _existing(data.channel, data.external_ref)
    if found is not None:
        return _retry(found, data)
    forwarded = _forwarded_before(data)
    if forwarded is not None:
        return Intake(forwarded, False)
    return _register(replace(with_cues(data), refs=look_up(data)), actor=actor)


@transactional
def _register(data: IntakeData, *, actor: User | None = None) -> Intake:
    return intake(data, actor)


def with_cues(data: IntakeData) -> IntakeData:
    """``data`` with its text's category suggestion and urgency worked out."""
    content = printable_text(data.content)
    if data.cues is not None or not content or len(data.content) > MAX_CONTENT:
        return data  # (an empty or too long text is refused by the validation anyway)
    return replace(data, cues=text_cues(complaint_text(content, printable_text(data.demand))))


@transactional
def create_from_survey_response(
    response_id: int,
    *,
    content: str,
    name: str,
    actor: User,
    external_id: str | None = None,
    phone: str | None = None,
    branch_code: str | None = None,
    product_code: str | None = None,
) -> Complaint:
    """Open a complaint (channel ``survey``) from a detractor's answer; once per response."""
    data = IntakeData(
        channel=Channel.SURVEY,
        content=content,
        name=name,
        external_id=external_id,
        phone=phone,
        branch_code=branch_code,
        product_code=product_code,
        external_ref=f"response-{response_id}",
        source_response_id=response_id,
    )
    complaint, _ = intake_row(data, actor)
    return complaint


def web_submissions_since(ip: str, since: datetime) -> int:
    """How many web complaints this address filed since ``since`` (the public form's limit)."""
    stmt = (
        select(func.count(Complaint.id))
        .where(
            Complaint.channel == Channel.WEB,
            Complaint.intake_ip == ip[:64],
            Complaint.received_at >= since,
        )
        .execution_options(include_all_branches=True)
    )
    return db.session.scalar(stmt) or 0


def get_complaint(complaint_id: int) -> Complaint:
    """A complaint inside the viewer's branch scope; NotFound otherwise."""
    return get_in_scope_or_raise(Complaint, complaint_id, "投诉")


def history(complaint: Complaint) -> list[ComplaintEvent]:
    stmt = (
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint.id)
        .order_by(ComplaintEvent.at, ComplaintEvent.id)
    )
    return list(db.session.scalars(stmt))


def attachments(complaint: Complaint) -> list[ComplaintAttachment]:
    """The case's files in the order they came (their content stays in the database)."""
    stmt = (
        select(ComplaintAttachment)
        .where(ComplaintAttachment.complaint_id == complaint.id)
        .order_by(ComplaintAttachment.id)
    )
    return list(db.session.scalars(stmt))


@transactional
def download_attachment(complaint_id: int, attachment_id: int, *, actor: User):
    """A complaint's file for staff who see the case, every channel's alike; the download is
    written to the audit log (a customer's photo or statement can show full card or ID numbers).
    Returns (attachment, the file name to save it under: its number and the extension of its
    type, never the sender's name)."""
    complaint = get_complaint(complaint_id)
    item = db.session.get(
        ComplaintAttachment, attachment_id, options=[undefer(ComplaintAttachment.data)]
    )
    if item is None or item.complaint_id != complaint.id:
        raise NotFound("附件不存在")
    audit.record(
        "complaint.attachment_download",
        actor=actor,
        object_type="complaint",
        object_id=complaint.id,
        detail={
            "reference": complaint.reference,
            "attachment_id": item.id,
            "filename": item.filename,
            "sha256": item.sha256,
        },
    )
    ext = uploads.EXTENSIONS.get(item.content_type)
    return item, f"attachment-{item.id}" + (f".{ext}" if ext else "")


RECUSED = (
    "您是本投诉涉及的人员（或在投诉涉及的机构任职），根据回避规定（第十七条）不能办理本投诉，"
    "请由其他人员办理"
)


def conflicted(complaint: Complaint, user: User) -> bool:
    """Art. 17: nobody the case names, nor a handler of the unit it names, may check it."""
    if user.id in (complaint.named_staff_ids or []):
        return True
    return complaint.named_branch_id is not None and user.branch_id == complaint.named_branch_id


def forbid_named(complaint: Complaint, actor: User | None) -> None:
    """Art. 17 for whoever acts on the case, not only whom it is assigned to: someone it names
    may not move it on, decide it, tell the customer, extend it, route it or change whom it
    names (they may still add a note, e.g. their own account of what happened)."""
    if actor is not None and conflicted(complaint, actor):
        raise Forbidden(RECUSED)


def reference_of(complaint_id: int | None) -> str | None:
    """The reference of a case by id (e.g. the one a merged repeat joined), or None."""
    if complaint_id is None:
        return None
    return db.session.scalar(
        select(Complaint.reference)
        .where(Complaint.id == complaint_id)
        .execution_options(include_all_branches=True)
    )


@transactional
def reveal_contact(complaint_id: int, *, actor: User, reason: str) -> Complaint:
    """The complaint with the complainant's full contact data; the view is audited. Not for
    whom the case names (回避): they have no call to reach the complainant."""
    complaint = get_complaint(complaint_id)
    forbid_named(complaint, actor)
    audit.record_unmasked_view(
        "complaint",
        complaint.id,
        actor=actor,
        reason=reason,
        detail={"reference": complaint.reference},
    )
    return complaint
