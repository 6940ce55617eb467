"""Invitations: one-time links (a hash to find them, the token sealed to resend the same link),
delivery through channels, retries, expiry."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, select, update

from app.extensions import db
from app.models import (
    Customer,
    Invitation,
    InvitationStatus,
    OutboundMessage,
    Product,
    SurveyVersion,
    utcnow,
)
from app.security import pii
from app.services import channels, surveys
from app.services.channels import MAX_DELIVERY_ATTEMPTS, backoff
from app.services.customers import (
    CustomerData,
    branch_by_code,
    customer_number,
    inactive_message,
    printable_text,
    upsert_customer_row,
)
from app.services.errors import Conflict, NotFound, ValidationFailed
from app.services.imports import PHONE_RE, mobile_number
from app.services.tx import after_commit, get_or_raise, insert_or_existing, transactional
from nlp import mask_email, mask_phone
from surveys import CustomerContactState
from surveys.contact import opt_out

TOKEN_BYTES = 24  # 192 bits of randomness
DEFAULT_EXPIRY_DAYS = 14


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def sealed(token: str) -> dict[str, str]:
    """The columns that store a token: its hash (the look-up) and the token sealed under the
    personal-data key (for the same link in a retry or a reminder)."""
    return {"token_hash": hash_token(token), "token_sealed": pii.encrypt(token)}


def seal(invitation: Invitation, token: str) -> None:
    for column, value in sealed(token).items():
        setattr(invitation, column, value)


def kept_token(invitation: Invitation) -> str | None:
    """The invitation's current token, or None: never issued, issued before tokens were kept,
    or sealed under a personal-data key that has since been replaced (a new link then)."""
    if not invitation.token_sealed or not invitation.token_hash:
        return None
    try:
        token = pii.decrypt(invitation.token_sealed)
    except (ValueError, pii.KeyMismatch):
        return None
    return token if hash_token(token) == invitation.token_hash else None


def link_for(token: str) -> str:
    """The customer's link, always from PUBLIC_BASE_URL (never from a request's Host header)."""
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/s/{token}"


def address_of(customer: Customer | None, channel: str) -> tuple[str, str] | None:
    """(full address, masked address) for a channel; wechat/app are keyed by the phone number.
    None when the customer has none the channel can reach (an SMS needs a mobile number)."""
    if customer is None:
        return None
    if channel == "email":
        return (customer.email, mask_email(customer.email)) if customer.email else None
    if not usable_address(customer.phone, channel):
        return None
    return customer.phone, mask_phone(customer.phone)


def usable_address(address: str | None, channel: str) -> bool:
    """Whether a message of ``channel`` can reach ``address``: an SMS needs a mainland mobile
    number (one to a landline was recorded as sent, and the invitation as 已发送)."""
    if not address or not address.strip():
        return False
    return channel != "sms" or PHONE_RE.fullmatch(mobile_number(address)) is not None


def no_contact_reason(channel: str) -> tuple[str, str]:
    """(reason code, Chinese reason) of a customer skipped for want of an address."""
    return "no_contact", "缺少电子邮箱" if channel == "email" else "缺少手机号"


def deliver(
    invitation: Invitation,
    *,
    now: datetime,
    token: str | None = None,
    reminder: bool = False,
    message: OutboundMessage | None = None,
) -> OutboundMessage:
    """Send the invitation's link through its channel and record the message (flushes only).

    Without ``token`` the link is the invitation's own (a retry or a reminder: the customer's
    earlier message and an integrator's URL stay valid); one is made if it has none yet.
    """
    token = token or kept_token(invitation) or new_token()
    seal(invitation, token)
    url = link_for(token)
    days = max(1, round((invitation.expires_at - now).total_seconds() / 86400))
    version = invitation.version or db.session.get(SurveyVersion, invitation.version_id)
    subject, body = channels.compose(
        invitation.channel, title=version.definition["title"], url=url, days=days, reminder=reminder
    )
    backend = channels.backend_for(invitation.channel)
    address = address_of(invitation.customer, invitation.channel)
    if message is None:
        message = OutboundMessage(
            invitation_id=invitation.id,
            customer_id=invitation.customer_id,
            channel=invitation.channel,
            kind="reminder" if reminder else "invitation",
            attempts=0,
        )
        db.session.add(message)
    message.backend = backend.name
    message.subject = subject
    message.body = body if backend.name == "outbox" else body.replace(token, "…")
    message.recipient_masked = address[1] if address else "—"
    if address is None:  # nothing to try: given up at once, no attempt counted
        message.status, message.next_attempt_at = "dead", None
        message.last_error = NO_ADDRESS
        if invitation.status == InvitationStatus.QUEUED:
            invitation.status, invitation.failure = InvitationStatus.FAILED, NO_ADDRESS
        db.session.flush()
        return message
    message.attempts += 1
    try:
        if message.id is None:
            db.session.flush()  # (its id is the gateway's key: the same on every retry)
        key = f"kesheng-survey-{message.id}"
        backend.send(channels.Outgoing(invitation.channel, address[0], subject, body, key=key))
    except channels.DeliveryError as err:
        _record_failure(invitation, message, str(err), now)
    else:
        message.status, message.sent_at, message.last_error = "sent", now, None
        message.next_attempt_at = None
        if invitation.status in (InvitationStatus.QUEUED, InvitationStatus.FAILED):
            invitation.status = InvitationStatus.SENT
        invitation.sent_at = invitation.sent_at or now
        invitation.failure = None
    db.session.flush()
    return message


NO_ADDRESS = "客户缺少该渠道的联系方式"


def _record_failure(invitation: Invitation, message: OutboundMessage, error: str, now) -> None:
    message.last_error = error[:500]
    if message.attempts >= MAX_DELIVERY_ATTEMPTS:
        message.status, message.next_attempt_at = "dead", None
        if invitation.status == InvitationStatus.QUEUED:
            invitation.status = InvitationStatus.FAILED
            invitation.failure = error[:300]
    else:
        message.status = "failed"
        message.next_attempt_at = now + backoff(message.attempts)


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    url: str
    created: bool = True  # (False: a retry with the same external_ref, nothing sent again)


@dataclass(frozen=True)
class InvitationRequest:
    survey_code: str
    customer: CustomerData
    channel: str
    branch_code: str | None = None
    product_code: str | None = None
    expires_days: int = DEFAULT_EXPIRY_DAYS
    external_ref: str | None = None  # the integrator's id for the request (a retry's key)
    # may change a known customer's name and contact data (else only fills in what is missing:
    # ``upsert_customer_row``'s fill_only)
    updates_customer: bool = True


@transactional
def create_invitation(req: InvitationRequest, *, now: datetime | None = None) -> IssuedInvitation:
    """Create a one-time link for a customer (created or updated by external_id) and send it.

    Returns the link once; only its hash is stored. Raises ValidationFailed for an unknown
    survey (field survey_code) and bad branch/product codes, Conflict for a survey that is not
    published or a customer who opted out of surveys (or of this channel).

    The customer's own choice always holds: an opted-out customer (all surveys, or this
    channel) is not invited. The bank's scheduling rules (frequency cap, open complaint, quiet
    hours) govern what Kesheng itself decides to send, campaigns and triggered surveys; an
    integrator asking for a link is sent one at once.

    The message goes out after the commit, in the ``surveys.send_invitation`` job (inline
    without a broker), with the link the integrator got back (the token is kept sealed): a
    slow SMS gateway held the request, and a gunicorn worker with it, for up to its 10-second
    timeout. The answer says ``queued`` until the job has sent it; a job that never ran is
    picked up by the minute's dispatch (``unsent_api_invitations``).
    """
    now = now or utcnow()
    ref = printable_text(req.external_ref) or None
    found = _by_ref(ref)
    if found is not None:
        return _again(found, req)
    try:
        version = surveys.published_version(req.survey_code)
    except NotFound as err:  # (a field of the body, as an unknown branch_code is: 422, not 404)
        raise ValidationFailed(err.message, field="survey_code") from err
    customer, _ = upsert_customer_row(
        req.customer, home_branch_code=req.branch_code, fill_only=not req.updates_customer
    )
    refusal = _opt_out(customer, req.channel)
    if refusal is not None:
        raise Conflict(f"{refusal}，不能发送调查邀请")
    branch = branch_by_code(req.branch_code) if req.branch_code else customer.branch
    product = product_by_code(req.product_code) if req.product_code else None
    invitation = Invitation(
        survey_id=version.survey_id,
        version=version,
        customer=customer,
        branch_id=branch.id if branch else None,
        product_id=product.id if product else None,
        channel=req.channel,
        source="api",
        created_at=now,  # (one clock for created, scheduled, sent and expiry)
        scheduled_at=now,
        expires_at=now + timedelta(days=req.expires_days),
        external_ref=ref,
    )
    if ref is None:
        db.session.add(invitation)
        db.session.flush()
    else:  # (retries arriving at once insert one row; the others find it once it committed)
        found, inserted = insert_or_existing(invitation, lambda: _by_ref(ref))
        if not inserted:
            return _again(found, req)
    token = new_token()
    seal(invitation, token)
    invitation_id = invitation.id
    after_commit(lambda: _enqueue_send(invitation_id))
    return IssuedInvitation(invitation, link_for(token))


# An integrator's invitation is its send job's for this long; then the dispatch sends it.
API_SEND_GRACE = timedelta(minutes=2)


def _enqueue_send(invitation_id: int) -> None:
    """The send job (inline without a broker; with the broker down, inline too: the message
    should not wait for the next dispatch)."""
    from app.jobs import broker
    from app.jobs.surveys import send_invitation

    args = (invitation_id,)
    broker.send(send_invitation, args, fallback=broker.run_inline(send_invitation, args))


def _has_message():
    return select(OutboundMessage.id).where(OutboundMessage.invitation_id == Invitation.id).exists()


def unsent_api_invitations():
    """SQL condition: an integrator's invitation still queued with no message made for it (its
    send job has not run yet, or never will: a worker killed, the broker lost)."""
    return and_(Invitation.source == "api", Invitation.token_hash.is_not(None), ~_has_message())


@transactional
def send_new(invitation_id: int) -> bool:
    """The ``surveys.send_invitation`` job: send an integrator's new invitation (idempotent)."""
    return send_if_unsent(invitation_id, utcnow())


def send_if_unsent(invitation_id: int, now: datetime) -> bool:
    """Send the invitation's first message unless it has one or is no longer queued; the row is
    locked first, so the job and the minute's dispatch never both send it (flushes only)."""
    invitation = db.session.scalar(
        select(Invitation)
        .where(Invitation.id == invitation_id)
        .with_for_update()
        .execution_options(include_all_branches=True, populate_existing=True)
    )
    if invitation is None or invitation.status != InvitationStatus.QUEUED:
        return False
    sent = db.session.scalar(
        select(OutboundMessage.id).where(OutboundMessage.invitation_id == invitation_id).limit(1)
    )
    if sent is not None:
        return False
    deliver(invitation, now=now)
    return True


def _by_ref(ref: str | None) -> Invitation | None:
    if ref is None:
        return None
    return db.session.scalar(select(Invitation).where(Invitation.external_ref == ref))


def _again(found: Invitation, req: InvitationRequest) -> IssuedInvitation:
    """A retry: the first invitation and its link, sent nothing again. The same key for another
    survey, customer or channel is the integrator's mistake, refused rather than guessed at."""
    same = (
        found.survey.code == req.survey_code.strip()
        and found.customer is not None
        and found.customer.external_id == customer_number(req.customer.external_id)
        and found.channel == req.channel
    )
    if not same:
        raise Conflict(
            f"external_ref“{found.external_ref}”已用于另一份邀请（问卷、客户或渠道不同）",
            field="external_ref",
        )
    token = kept_token(found)
    if token is None:
        raise Conflict("这份邀请的链接无法再次取得，请换一个 external_ref", field="external_ref")
    return IssuedInvitation(found, link_for(token), created=False)


def _opt_out(customer: Customer, channel: str) -> str | None:
    """Why the customer may not be surveyed on this channel at all (their own choice), or None."""
    state = CustomerContactState(
        opted_out=customer.opted_out,
        opted_out_channels=Customer.channels_opted_out(customer.opted_out_channels),
    )
    refused = opt_out(state, channel)
    return refused.reason if refused is not None else None


def product_by_code(code: str):
    """An active product (invitations and events start new business); ValidationFailed for
    an unknown or inactive one."""
    product = db.session.scalar(select(Product).where(Product.code == code.strip()))
    if product is None:
        raise ValidationFailed(f"产品代码 {code} 不存在", field="product_code")
    if not product.active:
        raise ValidationFailed(inactive_message(product), field="product_code")
    return product


def get_invitation(invitation_id: int) -> Invitation:
    return get_or_raise(Invitation, invitation_id, "邀请不存在")


def send_due_row(invitation: Invitation, now: datetime) -> None:
    deliver(invitation, now=now)


def retry_failed(now: datetime | None = None, *, limit: int = 500) -> int:
    """Resend messages whose back-off has elapsed (flushes; the caller commits)."""
    now = now or utcnow()
    due = db.session.scalars(
        select(OutboundMessage)
        .where(OutboundMessage.status == "failed", OutboundMessage.next_attempt_at <= now)
        .order_by(OutboundMessage.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)  # (a dispatch running beside this one skips them)
        .execution_options(populate_existing=True)
    ).all()
    for message in due:
        invitation = db.session.get(Invitation, message.invitation_id)
        if invitation is None or invitation.status in (
            InvitationStatus.COMPLETED,
            InvitationStatus.EXPIRED,
        ):
            message.status, message.next_attempt_at = "cancelled", None
            continue
        deliver(invitation, now=now, reminder=message.kind == "reminder", message=message)
    return len(due)


def expire_overdue(now: datetime | None = None) -> int:
    """Mark unanswered links past their expiry as expired (flushes; the caller commits); a
    link whose message failed too, since its link works until then and answers 410 after."""
    now = now or utcnow()
    result = db.session.execute(
        update(Invitation)
        .where(
            Invitation.status.in_(
                [
                    InvitationStatus.QUEUED,
                    InvitationStatus.SENT,
                    InvitationStatus.OPENED,
                    InvitationStatus.FAILED,
                ]
            ),
            Invitation.expires_at <= now,
        )
        .values(status=InvitationStatus.EXPIRED)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def check_channel(channel: str) -> str:
    if channel not in ("sms", "email", "wechat", "app"):
        raise ValidationFailed("渠道须为 sms、email、wechat 或 app", field="channel")
    return channel
