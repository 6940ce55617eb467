"""Trigger rules: a business event schedules a survey or a follow-up visit after a delay.

Events arrive from integrators (``POST /api/v1/events``) and, for ``complaint.closed``, from the
complaints area in-process (app.services.domain_events); both go through ``apply_rules``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

import nlp
from app.extensions import db
from app.models import (
    Branch,
    Customer,
    FollowUp,
    Invitation,
    InvitationStatus,
    Product,
    ProductCategory,
    TriggerFiring,
    TriggerRule,
    utcnow,
)
from app.models.org import PRODUCT_CATEGORY_LABELS
from app.services import domain_events, invitations, surveys
from app.services.customers import CustomerData, branch_by_code, upsert_customer_row
from app.services.errors import Conflict, ValidationFailed
from app.services.responses_query import local
from app.services.tx import get_or_raise, insert_or_existing, transactional
from surveys import CustomerContactState, check_contact
from surveys.contact import ContactRules, in_quiet_hours

DEFAULT_RULES = (
    ("loan.disbursed", "loan-followup", "survey", "sms", 7 * 24),
    ("account.opened", "branch-service", "survey", "sms", 24),
    ("complaint.closed", "complaint-resolution", "survey", "sms", 24),
)
_ACTION_NAMES = {"survey": "问卷调查", "visit": "回访"}
MAX_EVENT_AGE = timedelta(days=90)  # older events are recorded as skipped, nothing scheduled
EVENT_LABELS = {
    "loan.disbursed": "贷款发放",
    "account.opened": "开户",
    "complaint.closed": "投诉办结",
    "card.issued": "信用卡开卡",
    "mobile.registered": "手机银行注册",
}

# Events Kesheng raises itself, never taken from an integrator: a complaint.closed for a case
# Kesheng does not hold sent a 处理满意度 survey about a complaint the customer never made here.
OWN_EVENTS = {
    "complaint.closed": (
        "投诉办结（complaint.closed）事件由客声在投诉办结时自行产生，经接口提交的不安排调查"
    ),
}


@dataclass(frozen=True)
class EventData:
    type: str
    customer: CustomerData
    occurred_at: datetime
    branch_code: str | None = None
    product_code: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    updates_customer: bool = True  # (as ``InvitationRequest.updates_customer``)


def list_rules() -> list[TriggerRule]:
    return list(db.session.scalars(select(TriggerRule).order_by(TriggerRule.event_type)))


ACTIVITY_DAYS = 30  # the rules page sums up what each rule did over this many days
# why a rule took an event and scheduled nothing (TriggerFiring.outcome; surveys.contact codes)
SKIP_LABELS = {
    "frequency_cap": "频次上限",
    "opted_out": "客户已退订",
    "channel_opted_out": "客户已退订该渠道",
    "open_complaint": "客户有未办结投诉",
    "not_sampled": "抽样未选中",
    "no_contact": "缺少联系方式",
}


@dataclass(frozen=True)
class RuleActivity:
    """What one rule did with the events it took in the last ACTIVITY_DAYS days, and when it
    last took one at all. Repeats of an event and events too old to act on are not counted:
    they are answered at once and leave no record."""

    events: int = 0
    scheduled: int = 0
    skipped: tuple[tuple[str, int], ...] = ()  # (Chinese reason, count), the most frequent first
    last_at: datetime | None = None


def rule_activity(rule_ids: Iterable[int], now: datetime | None = None) -> dict[int, RuleActivity]:
    """Each rule's RuleActivity, by rule id (rules that never took an event are left out).

    One rule at a time: each statement reads only that rule's stretch of the (rule_id,
    created_at, outcome) index, so the page costs the last 30 days' events, not the years
    before them (a whole-table GROUP BY took 0.25 s at 2 million events on PostgreSQL)."""
    since = (now or utcnow()) - timedelta(days=ACTIVITY_DAYS)
    activity = {}
    for rule_id in rule_ids:
        of_rule = TriggerFiring.rule_id == rule_id
        last_at = db.session.scalar(select(func.max(TriggerFiring.created_at)).where(of_rule))
        if last_at is None:
            continue
        outcomes: dict[str, int] = dict(
            db.session.execute(
                select(TriggerFiring.outcome, func.count())
                .where(of_rule, TriggerFiring.created_at >= since)
                .group_by(TriggerFiring.outcome)
            )
            .tuples()
            .all()
        )
        refused = [(code, n) for code, n in outcomes.items() if code not in _ACTION_NAMES]
        skipped = sorted(
            ((SKIP_LABELS.get(code, code), n) for code, n in refused),
            key=lambda item: (-item[1], item[0]),
        )
        activity[rule_id] = RuleActivity(
            events=sum(outcomes.values()),
            scheduled=sum(n for code, n in outcomes.items() if code in _ACTION_NAMES),
            skipped=tuple(skipped),
            last_at=last_at,
        )
    return activity


def _contact_refusal(customer: Customer, rule: TriggerRule, due: datetime) -> dict | None:
    """Why the contact rules forbid this triggered survey, or None. Quiet hours only delay the
    sending (dispatch waits), so they are not a refusal here."""
    from app.services.campaigns import OPEN_COMPLAINT_LOOKUPS

    rules = ContactRules()
    window = timedelta(days=rules.frequency_cap_days)
    when = func.coalesce(Invitation.sent_at, Invitation.scheduled_at)
    nearby = db.session.scalars(
        select(when)
        .where(
            Invitation.customer_id == customer.id,
            Invitation.status.not_in(["failed", "expired", "cancelled"]),
            when > due - window,
            when < due + window,
        )
        .execution_options(include_all_branches=True)
    ).all()
    state = CustomerContactState(
        last_surveyed_at=tuple(nearby),
        has_open_complaint=any(
            customer.id in lookup([customer.id]) for lookup in OPEN_COMPLAINT_LOOKUPS
        ),
        opted_out=customer.opted_out,
        opted_out_channels=Customer.channels_opted_out(customer.opted_out_channels),
    )
    decision = check_contact(state, rule.survey.code, rule.channel, due, rules)
    if decision.allowed or decision.reason_code == "quiet_hours":
        return None
    return {"reason_code": decision.reason_code, "reason": decision.reason}


def _claim_event(
    rule: TriggerRule, customer: Customer, occurred_at: datetime, detail: dict[str, Any] | None
) -> tuple[TriggerFiring, bool]:
    """The record of this event taken by this rule for this customer, and whether this call made
    it (False: the same event came before, e.g. an integrator's retry after a timeout). The
    unique constraint decides between copies arriving at once in other sessions: on PostgreSQL
    the second INSERT waits for the first transaction and fails once it commits (flushes)."""

    def earlier() -> TriggerFiring | None:
        return db.session.scalar(
            select(TriggerFiring).where(
                TriggerFiring.rule_id == rule.id,
                TriggerFiring.customer_id == customer.id,
                TriggerFiring.occurred_at == occurred_at,
            )
        )

    found = earlier()
    if found is not None:
        return found, False
    firing = TriggerFiring(
        rule_id=rule.id, customer_id=customer.id, occurred_at=occurred_at, event=detail
    )
    return insert_or_existing(firing, earlier)


def _reachable(customer: Customer, rule: TriggerRule) -> bool:
    """Whether the rule's action can reach the customer: a survey by its channel's address, a
    call-back (回访) by any phone number. Either was scheduled without one, answered 202 as
    such, and failed when it fell due (or sat in the call queue with nothing to dial)."""
    if rule.action == "visit":
        return bool((customer.phone or "").strip())
    return invitations.address_of(customer, rule.channel) is not None


def _unreachable(rule: TriggerRule) -> dict[str, str]:
    """The skip of an event whose rule cannot reach the customer."""
    if rule.action == "visit":
        return {"reason_code": "no_contact", "reason": "缺少电话号码，无法电话回访"}
    code, reason = invitations.no_contact_reason(rule.channel)
    return {"reason_code": code, "reason": f"{reason}，无法通过{rule.channel_label}发送"}


def _reachable_since(firing: TriggerFiring, customer: Customer, rule: TriggerRule) -> bool:
    """Whether an event skipped for want of an address is taken again now that the customer
    has one (sent again after the number reached Kesheng: it was a duplicate, the survey lost
    for good). The record is locked first: two such repeats at once schedule one survey."""
    if firing.outcome != "no_contact" or not _reachable(customer, rule):
        return False
    db.session.refresh(firing, with_for_update=True)
    return firing.outcome == "no_contact" and firing.invitation_id is None


def _duplicate(rule: TriggerRule, first: TriggerFiring) -> dict[str, Any]:
    """The 202 answer's item for a repeat of an event: what the first one came to."""
    if first.followup_id is not None:
        before: dict[str, Any] = {"kind": "visit", "id": first.followup_id}
    elif first.invitation_id is not None:
        before = {"kind": "survey", "id": first.invitation_id}
    else:
        before = {"kind": "skipped", "reason_code": first.outcome}
    return {
        "kind": "skipped",
        "survey_code": rule.survey.code,
        "reason_code": "duplicate_event",
        "reason": "同一事件（类型、客户、发生时间相同）已处理过，不再重复安排"
        f"{_ACTION_NAMES[rule.action]}",
        "duplicate_of": before,
    }


def _skipped(rule: TriggerRule, reason_code: str, reason: str) -> dict[str, Any]:
    """The 202 answer's item for a rule that scheduled nothing for this event."""
    return {
        "kind": "skipped",
        "survey_code": rule.survey.code,
        "reason_code": reason_code,
        "reason": reason,
    }


def _active_rules(event_type: str) -> list[TriggerRule]:
    return list(
        db.session.scalars(
            select(TriggerRule).where(TriggerRule.event_type == event_type, TriggerRule.active)
        )
    )


def no_rule_note(event_type: str) -> str | None:
    """Why an event scheduled nothing when no active rule listens for its type (a mistyped
    type was answered like any other event: accepted, scheduled nothing, no reason given)."""
    if _active_rules(event_type):
        return None
    active = select(TriggerRule.event_type).where(TriggerRule.active)
    types = sorted(set(db.session.scalars(active)) - set(OWN_EVENTS))  # (not an integrator's)
    if db.session.scalar(select(TriggerRule.id).where(TriggerRule.event_type == event_type)):
        return f"事件类型“{event_type}”的触发规则均已停用，未安排调查或回访"
    listed = "、".join(types) if types else "无"
    return (
        f"没有触发规则使用事件类型“{event_type}”，未安排调查或回访"
        f"（已启用规则的事件类型：{listed}）"
    )


def _out_of_scope(rule: TriggerRule, branch: Branch | None, product: Product | None) -> str | None:
    """Why this event is not one the rule takes (its unit or product), or None."""
    if rule.product_id is not None and (product is None or product.id != rule.product_id):
        return f"规则仅适用于产品“{rule.product.name}”"
    if rule.product_category and (product is None or product.category != rule.product_category):
        label = PRODUCT_CATEGORY_LABELS.get(ProductCategory(rule.product_category))
        return f"规则仅适用于{label}类产品"
    if rule.branch_id is not None and (
        branch is None or not branch.path.startswith(rule.branch.path)
    ):
        return f"规则仅适用于{rule.branch.name}及下属机构"
    return None


def sampled(rule: TriggerRule, customer_id: int, occurred_at: datetime) -> bool:
    """Whether the rule's sample takes this event: a fixed draw from the rule, the customer and
    the moment, so the same event is drawn the same way however often it is sent."""
    if rule.sample_percent >= 100:
        return True
    moment = occurred_at if occurred_at.tzinfo else occurred_at.replace(tzinfo=UTC)  # (UTC)
    key = f"{rule.id}|{customer_id}|{moment.astimezone(UTC):%Y%m%dT%H%M%S.%f}".encode()
    draw = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % 100
    return draw < rule.sample_percent


def apply_rules(
    event_type: str,
    customer: Customer,
    occurred_at: datetime,
    *,
    branch_id: int | None,
    product_id: int | None,
    complaint_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Schedule what the active rules of this event ask for (flushes; caller commits);
    ``complaint_id``: the case a ``complaint.closed`` survey asks about; ``detail``: what the
    integrator said of the event (``event_detail``), kept on each rule's record of it."""
    rules = _active_rules(event_type)
    if rules:
        # Events for one customer arriving at once (PostgreSQL runs them in parallel) would each
        # see no recent invitation and each schedule one, past the frequency cap: the later
        # ones wait here until the first has committed, then see its invitation. (SQLite's
        # writers are serialised anyway; FOR UPDATE is not sent there.) A repeat of one event
        # is refused by trigger_firing's unique constraint besides (_claim_event).
        db.session.execute(
            select(Customer.id)
            .where(Customer.id == customer.id)
            .with_for_update()
            .execution_options(include_all_branches=True)  # (whoever closes a case)
        )
    scheduled: list[dict[str, Any]] = []
    now = utcnow()
    scoped = any(r.branch_id or r.product_id or r.product_category for r in rules)
    # (read only when a rule is limited to a unit or a product: most events need neither)
    branch = db.session.get(Branch, branch_id) if scoped and branch_id is not None else None
    product = db.session.get(Product, product_id) if scoped and product_id is not None else None
    for rule in rules:
        version = rule.survey.latest_version
        if version is None or not rule.survey.serving:
            continue
        if (outside := _out_of_scope(rule, branch, product)) is not None:
            # Not an event this rule takes: no record, as for an event of another type.
            scheduled.append(_skipped(rule, "out_of_scope", outside))
            continue
        due = occurred_at + timedelta(hours=rule.delay_hours)
        if occurred_at < now - MAX_EVENT_AGE:
            # A backfill of old events: a survey or a call about something that happened
            # months ago would only confuse the customer and clog the call queue.
            scheduled.append(
                _skipped(
                    rule,
                    "event_too_old",
                    f"事件发生于 {MAX_EVENT_AGE.days} 天以前，不再安排{_ACTION_NAMES[rule.action]}",
                )
            )
            continue
        if rule.action == "survey" and due + timedelta(days=rule.expires_days) <= now:
            # Its link would have expired before it could be sent: an invitation made now
            # would be reported as scheduled and read as 已过期 at once, never reaching anyone.
            scheduled.append(
                _skipped(
                    rule,
                    "event_too_old",
                    f"按规则应于 {local(due):%Y-%m-%d %H:%M} 发送、有效 "
                    f"{rule.expires_days} 天，问卷有效期已过，不再安排问卷调查",
                )
            )
            continue
        firing, new = _claim_event(rule, customer, occurred_at, detail)
        if not new and not _reachable_since(firing, customer, rule):
            scheduled.append(_duplicate(rule, firing))
            continue
        if not sampled(rule, customer.id, occurred_at):
            firing.outcome = "not_sampled"
            scheduled.append(
                _skipped(
                    rule, "not_sampled", f"规则按 {rule.sample_percent}% 抽样，本次事件未被抽中"
                )
            )
            continue
        refusal = _contact_refusal(customer, rule, due) if rule.action == "survey" else None
        if refusal is None and not _reachable(customer, rule):
            refusal = _unreachable(rule)
        if refusal is not None:
            firing.outcome = refusal["reason_code"]
            scheduled.append(_skipped(rule, refusal["reason_code"], refusal["reason"]))
            continue
        if rule.action == "visit":
            row = FollowUp(
                customer_id=customer.id,
                survey_id=rule.survey_id,
                version_id=version.id,
                product_id=product_id,
                branch_id=branch_id,
                reason="trigger",
                note=f"{EVENT_LABELS.get(event_type, event_type)}后回访",
                due_at=due,
            )
        else:
            row = Invitation(
                survey_id=rule.survey_id,
                version_id=version.id,
                customer_id=customer.id,
                branch_id=branch_id,
                product_id=product_id,
                channel=rule.channel,
                source="trigger",
                complaint_id=complaint_id,
                scheduled_at=due,
                expires_at=due + timedelta(days=rule.expires_days),
            )
        db.session.add(row)
        db.session.flush()
        firing.outcome = rule.action
        if rule.action == "visit":
            firing.followup_id = row.id
        else:
            firing.invitation_id = row.id
        scheduled.append(
            {
                "kind": rule.action,
                "id": row.id,
                "survey_code": rule.survey.code,
                "due_at": local(due).isoformat(),
            }
        )
    return scheduled


@transactional
def record_event(event: EventData) -> list[dict[str, Any]]:
    """Take a business event from an integrator; returns what was scheduled (may be nothing)."""
    from app.services.invitations import product_by_code

    if event.occurred_at > utcnow() + timedelta(minutes=5):
        raise ValidationFailed("事件发生时间不能晚于当前时间", field="occurred_at")
    if event.type in OWN_EVENTS:  # (accepted, as every event is, and skipped by each rule)
        return [
            _skipped(rule, "own_event", OWN_EVENTS[event.type])
            for rule in _active_rules(event.type)
        ]
    customer, created = upsert_customer_row(event.customer, fill_only=not event.updates_customer)
    branch = branch_by_code(event.branch_code) if event.branch_code else customer.branch
    if created and customer.branch_id is None and branch is not None:
        # A customer first heard of through this event belongs where it happened, as one
        # first invited with a branch_code does: else the branch's agents, whose queue the
        # follow-up lands in, could not see the customer's record. An existing customer keeps
        # the branch the core system gave them (an event elsewhere does not move them).
        customer.branch = branch
    product = product_by_code(event.product_code) if event.product_code else None
    return apply_rules(
        event.type,
        customer,
        event.occurred_at,
        branch_id=branch.id if branch else None,
        product_id=product.id if product else None,
        detail=event_detail(event, branch if event.branch_code else None, product),
    )


ATTRIBUTES_KEPT = 30  # an event's attributes kept (the first ones), each text cut at:
ATTRIBUTE_CHARS = 200


def event_detail(
    event: EventData, branch: Branch | None, product: Product | None
) -> dict[str, Any]:
    """What is kept of an event beside each rule's record of it: its unit and product codes
    and its attributes, texts redacted (a phone, ID or card number an integrator put there is
    masked as in every stored text) and bounded, so a large payload cannot bloat the table."""
    attributes = {}
    items = list(event.attributes.items())
    for key, value in items[:ATTRIBUTES_KEPT]:
        if isinstance(value, int | float) and not isinstance(value, bool):
            # a phone, ID or card number sent as a JSON number is masked as text
            masked = nlp.redact(_number_text(value))
            value = masked.text if masked.kinds else value
        if isinstance(value, str):
            cut = len(value) > ATTRIBUTE_CHARS
            value = nlp.redact(value[:ATTRIBUTE_CHARS]).text + ("…" if cut else "")
        attributes[str(key)[:64]] = value
    return {
        "branch_code": event.branch_code,
        "branch": branch.name if branch else None,
        "product_code": event.product_code,
        "product": product.name if product else None,
        "attributes": attributes,
        "attributes_dropped": max(0, len(items) - ATTRIBUTES_KEPT),
    }


def _number_text(value: int | float) -> str:
    """A number as people write it: 20000, 1.5, 100000000000000000000 (not 1e+20)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e30:
        return str(int(value))
    return str(value)


def _shown_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return _number_text(value)
    return str(value)


@dataclass(frozen=True)
class EventShown:
    """A business event as a follow-up call or an answer page shows what led to it."""

    label: str
    occurred_at: datetime
    branch: str | None
    product: str | None
    attributes: list[tuple[str, str]]
    dropped: int = 0  # attributes the event had beyond those kept


def event_of(*, followup_id: int | None = None, invitation_id: int | None = None):
    """The event that scheduled this follow-up call or survey invitation, or None (scheduled
    otherwise, or before events were kept)."""
    column = TriggerFiring.followup_id if followup_id is not None else TriggerFiring.invitation_id
    found = followup_id if followup_id is not None else invitation_id
    if found is None:
        return None
    row = db.session.execute(
        select(TriggerFiring, TriggerRule.event_type)
        .join(TriggerRule, TriggerRule.id == TriggerFiring.rule_id)
        .where(column == found)
        .limit(1)
    ).first()
    if row is None:
        return None
    firing, event_type = row
    detail = firing.event or {}
    return EventShown(
        label=EVENT_LABELS.get(event_type, event_type),
        occurred_at=firing.occurred_at,
        branch=detail.get("branch") or detail.get("branch_code"),
        product=detail.get("product") or detail.get("product_code"),
        attributes=[
            (key, _shown_value(value)) for key, value in (detail.get("attributes") or {}).items()
        ],
        dropped=detail.get("attributes_dropped") or 0,
    )


def _on_complaint_closed(event: domain_events.DomainEvent) -> None:
    if event.customer_id is None:
        return
    # The customer may be registered at a unit outside the closing agent's scope (a hotline
    # case about another branch): the survey is scheduled whoever closes the case.
    customer = db.session.get(
        Customer, event.customer_id, execution_options={"include_all_branches": True}
    )
    if customer is None:
        return
    apply_rules(
        "complaint.closed",
        customer,
        event.occurred_at,
        branch_id=event.branch_id if event.branch_id is not None else customer.branch_id,
        product_id=event.product_id,
        complaint_id=event.attributes.get("complaint_id"),
    )


def _on_complaint_reopened(event: domain_events.DomainEvent) -> None:
    """A closed case taken up again (a review requested): the survey on how it was resolved,
    if not sent yet, would ask while the case is being re-examined. Closing it again
    schedules a new one."""
    cancel_resolution_surveys(event.attributes["complaint_id"], event.attributes["reason"])


def cancel_resolution_surveys(complaint_id: int, reason: str) -> list[Invitation]:
    """Mark the not-yet-sent invitations about this complaint cancelled, with the reason, and
    say so in the case's history (flushes; caller commits). They are kept, never sent."""
    from app.models import Complaint
    from app.services.complaints import record_event as record_case_event

    pending = db.session.scalars(
        select(Invitation)
        .where(
            Invitation.complaint_id == complaint_id,
            Invitation.status == InvitationStatus.QUEUED,
            Invitation.token_hash.is_(None),  # (not sent yet: sending creates the token)
        )
        .execution_options(include_all_branches=True)
    ).all()
    if not pending:
        return []
    complaint = db.session.get(
        Complaint, complaint_id, execution_options={"include_all_branches": True}
    )
    for invitation in pending:
        invitation.status = InvitationStatus.CANCELLED
        invitation.failure = f"{reason}（投诉 {complaint.reference}），办结满意度调查取消发送"[:300]
    when = "、".join(f"{local(i.scheduled_at):%Y-%m-%d %H:%M}" for i in pending)
    record_case_event(
        complaint,
        None,
        "survey",
        f"{reason}：原定于 {when} 发送的办结满意度调查已取消，再次办结时重新安排",
        detail={"cancelled_invitations": [i.id for i in pending]},
    )
    db.session.flush()
    return list(pending)


def _cancel_if_reopened(due: list[Invitation]) -> None:
    """A survey about a complaint goes out only while the complaint is closed: one reopened
    in any way since it was scheduled is cancelled instead (flushes)."""
    from app.models import Complaint
    from app.models.complaint import STATUS_LABELS, Status

    ids = {i.complaint_id for i in due if i.complaint_id is not None}
    if not ids:
        return
    rows = db.session.execute(
        select(Complaint.id, Complaint.status)
        .where(Complaint.id.in_(ids), Complaint.status != Status.CLOSED)
        .execution_options(include_all_branches=True)
    ).all()
    for complaint_id, status in rows:
        label = STATUS_LABELS.get(Status(status), status)
        cancel_resolution_surveys(complaint_id, f"投诉当前为“{label}”，尚未办结")


domain_events.subscribe("complaint.closed", _on_complaint_closed)
domain_events.subscribe("complaint.reopened", _on_complaint_reopened)


def ensure_rule_row(event_type: str, survey_code: str, action: str, channel: str, hours: int):
    survey = surveys.survey_by_code(survey_code)
    exists = db.session.scalar(
        select(TriggerRule).where(
            TriggerRule.event_type == event_type, TriggerRule.survey_id == survey.id
        )
    )
    if exists is None:
        exists = TriggerRule(
            event_type=event_type,
            survey_id=survey.id,
            action=action,
            channel=channel,
            delay_hours=hours,
        )
        db.session.add(exists)
    return exists


# An event code as integrators send it: lower-case words joined by dots (loan.disbursed).
EVENT_CODE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def event_label(event_type: str) -> str:
    """The Chinese name of a known event, else its code (a custom event)."""
    return EVENT_LABELS.get(event_type, event_type)


@transactional
def add_rule(
    *,
    event_type: str,
    survey_id: int,
    action: str,
    channel: str,
    delay_hours: int,
    branch_id: int | None = None,
    product_id: int | None = None,
    product_category: str | None = None,
    sample_percent: int = 100,
) -> TriggerRule:
    """A new active rule; the event type is a dotted lower-case name such as loan.disbursed (a
    rule for "开户啦" would be saved and never fire: no integrator sends such a code). It takes
    the events at ``branch_id``'s unit or below, of ``product_id`` or of any product of
    ``product_category`` (at most one of the two), and acts on ``sample_percent`` of them."""
    event_type = (event_type or "").strip()
    if len(event_type) > 64 or not EVENT_CODE.match(event_type):
        raise ValidationFailed(
            "事件代码须为小写英文单词加点，例如 loan.disbursed", field="event_type"
        )
    if action not in ("survey", "visit"):
        raise ValidationFailed("动作无效", field="action")
    invitations.check_channel(channel)
    if not 0 <= delay_hours <= 24 * 365:
        raise ValidationFailed("延迟须在 0 到 8760 小时之间", field="delay_hours")
    if not 1 <= sample_percent <= 100:
        raise ValidationFailed("抽样比例须在 1% 到 100% 之间", field="sample_percent")
    if product_id is not None and product_category is not None:
        raise ValidationFailed("产品与产品类别只能选一项", field="product_scope")
    if product_category is not None and product_category not in set(ProductCategory):
        raise ValidationFailed("产品类别无效", field="product_scope")
    product = get_or_raise(Product, product_id, "产品不存在") if product_id is not None else None
    branch = get_or_raise(Branch, branch_id, "机构不存在") if branch_id is not None else None
    survey = surveys.get_survey(survey_id)
    rule = TriggerRule(
        event_type=event_type,
        survey_id=survey.id,
        action=action,
        channel=channel,
        delay_hours=delay_hours,
        branch=branch,
        product=product,
        product_category=product_category,
        sample_percent=sample_percent,
    )
    db.session.add(rule)
    db.session.flush()
    return rule


def may_have_scheduled(rule: TriggerRule) -> bool:
    """Whether this rule may have scheduled a survey or a visit. Invitations and visits do not
    name the rule that made them, so any triggered one for the rule's survey since the rule was
    created counts: such a rule is the record of why a customer was contacted and may only be
    disabled, not deleted."""
    if rule.action == "visit":
        model, made = FollowUp, FollowUp.reason == "trigger"
    else:
        model, made = Invitation, Invitation.source == "trigger"
    found = db.session.scalar(
        select(model.id)
        .where(made, model.survey_id == rule.survey_id, model.created_at >= rule.created_at)
        .limit(1)
        .execution_options(include_all_branches=True)
    )
    return found is not None


@transactional
def delete_rule(rule_id: int) -> str:
    """Delete a rule that has never scheduled anything (a typo, a test); returns its event.
    Raises Conflict for one that may have: disable it instead."""
    rule = get_or_raise(TriggerRule, rule_id, "规则不存在")
    if may_have_scheduled(rule):
        raise Conflict("该规则已安排过问卷或回访，为保留触发记录只能停用，不能删除")
    event = event_label(rule.event_type)
    db.session.delete(rule)
    return event


@transactional
def toggle_rule(rule_id: int) -> TriggerRule:
    rule = get_or_raise(TriggerRule, rule_id, "规则不存在")
    rule.active = not rule.active
    return rule


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    expired: int = 0
    reminded: int = 0


@transactional
def dispatch_due(now: datetime | None = None, *, limit: int = 1000) -> DispatchReport:
    """Periodic work: send scheduled invitations now due, retry failed deliveries, expire links,
    send campaign reminders. Safe to run at any time and any number of times."""
    from app.services import campaigns

    now = now or utcnow()
    report = DispatchReport()
    # Locked until the commit, and rows another dispatch holds are skipped: two dispatches at
    # once (beat's runs queued behind a stopped worker, or cron beside beat) each sent every
    # due invitation, two messages per customer. (SQLite ignores the clause: one writer.)
    due = db.session.scalars(
        select(Invitation)
        .where(
            Invitation.status == InvitationStatus.QUEUED,
            Invitation.token_hash.is_(None),
            Invitation.scheduled_at <= now,
        )
        .order_by(Invitation.scheduled_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    _cancel_if_reopened(due)
    for invitation in due:
        if invitation.status != InvitationStatus.QUEUED:
            continue  # (cancelled just now: its complaint is no longer closed)
        if invitation.expires_at <= now or in_quiet_hours(now, invitation.channel):
            continue  # expiry marks it below; quiet hours wait for the next run
        invitations.deliver(invitation, now=now)
        report.sent += 1
    # integrators' invitations whose send job has not run (a worker killed, the broker lost)
    stale = db.session.execute(
        select(Invitation.id, Invitation.channel)
        .where(
            Invitation.status == InvitationStatus.QUEUED,
            invitations.unsent_api_invitations(),
            Invitation.created_at <= now - invitations.API_SEND_GRACE,
            Invitation.expires_at > now,
        )
        .order_by(Invitation.created_at)
        .limit(limit)
        .execution_options(include_all_branches=True)
    ).all()
    for invitation_id, channel in stale:
        if not in_quiet_hours(now, channel):
            report.sent += int(invitations.send_if_unsent(invitation_id, now))
    report.retried = invitations.retry_failed(now)
    report.expired = invitations.expire_overdue(now)
    report.reminded = campaigns.send_reminders_rows(now)
    return report
