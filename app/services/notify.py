"""Messages to customers and staff through channel adapters; every message is kept in the outbox.

A message to a customer goes through the backend configured for its channel, the same one as
survey invitations (``SURVEY_CHANNEL_BACKENDS``: an SMS/WeChat/app gateway or a mail server).
Where none is configured (development, tests, a bank without a gateway) the outbox is the
delivery: the message is recorded as sent and staff see its text in the complaint's history.

``send`` only flushes: the message commits or rolls back with the caller's use case, so a notice
is never recorded for something that did not happen. Through a real backend it is *queued* and
delivered after the commit (a job; inline without a broker), never inside the use case's
transaction: a slow or failing gateway neither holds the database nor loses the complaint. A
failed delivery is retried with back-off (``deliver_due``, every minute) and shows as failed
after the last attempt. ``register_adapter`` replaces the delivery of a channel altogether
(synchronous, inside the transaction; for tests and special integrations).
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, or_, select

from app.extensions import db
from app.models import OutboxMessage, utcnow
from app.models.outbox import MessageStatus
from app.services import channels
from app.services.errors import ValidationFailed
from app.services.tx import after_commit, next_id, transactional
from nlp.redact import mask_email, mask_phone

CHANNELS = ("sms", "email", "wechat", "app", "letter", "staff")
GATEWAY_CHANNELS = frozenset(("sms", "email", "wechat", "app"))  # the rest: recorded only
MAX_ATTEMPTS = channels.MAX_DELIVERY_ATTEMPTS  # (the retry policy of every gateway message)
QUEUED_GRACE = timedelta(minutes=1)  # a queued message older than this lost its job
DECISION_PURPOSES = frozenset({"decision", "review_decision"})  # (complaint notices)


class Adapter(Protocol):
    """Delivers one message; sets ``status``/``sent_at`` or raises to mark it failed."""

    def deliver(self, message: OutboxMessage) -> None: ...


class OutboxAdapter:
    """Records the message as sent without contacting anyone (development and staff notices)."""

    def deliver(self, message: OutboxMessage) -> None:
        message.status = MessageStatus.SENT
        message.sent_at = utcnow()


_adapters: dict[str, Adapter] = {}


def register_adapter(channel: str, adapter: Adapter) -> None:
    """Use ``adapter`` for ``channel`` from now on (e.g. an SMS gateway at app start)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    _adapters[channel] = adapter


def adapter_for(channel: str) -> Adapter:
    return _adapters.get(channel) or OutboxAdapter()


def masked(channel: str, recipient: str) -> str:
    if channel == "email":
        return mask_email(recipient)
    if channel in ("sms", "wechat", "app"):
        return mask_phone(recipient)
    return recipient[:100]


def send(
    channel: str,
    recipient: str,
    body: str,
    *,
    subject: str | None = None,
    related_type: str | None = None,
    related_id: int | None = None,
    purpose: str | None = None,
    flush: bool = True,
) -> OutboxMessage:
    """Record a message and hand it to the channel's adapter, inside the caller's transaction.

    Raises ValidationFailed for an unknown channel or an empty recipient; a failing adapter
    leaves the message recorded with status ``failed`` and the error. ``flush=False``: the
    message gets its id at once but is written with the caller's next flush (one flush for a
    use case that writes several rows).
    """
    if channel not in CHANNELS:
        raise ValidationFailed(f"不支持的发送渠道：{channel}", field="channel")
    recipient = (recipient or "").strip()
    if not recipient:
        raise ValidationFailed("缺少收件人（手机号或邮箱）", field="recipient")
    message = OutboxMessage(
        channel=channel,
        recipient=recipient,
        recipient_masked=masked(channel, recipient),
        subject=subject,
        body=body,
        related_type=related_type,
        related_id=related_id,
        purpose=purpose,
    )
    if not flush:
        message.id = next_id(OutboxMessage)
    db.session.add(message)
    queued = channel not in _adapters and _gateway(channel) is not None
    if queued:
        message.status, message.next_attempt_at = MessageStatus.QUEUED, utcnow()
    else:
        try:
            adapter_for(channel).deliver(message)
        except Exception as err:  # noqa: BLE001  (a gateway's failure is recorded, not raised)
            message.status = MessageStatus.FAILED
            message.error = str(err)[:500]
    if flush:
        db.session.flush()
    if queued:
        after_commit(functools.partial(_queue_delivery, message.id))
    return message


def _gateway(channel: str) -> channels.Backend | None:
    """The channel's real backend, or None where the outbox is the delivery."""
    if channel not in GATEWAY_CHANNELS:
        return None
    backend = channels.backend_for(channel)
    return None if backend.name == "outbox" else backend


def _queue_delivery(message_id: int) -> None:
    from app.jobs import broker
    from app.jobs.complaints import deliver_notice

    args = (message_id,)
    broker.send(deliver_notice, args, fallback=broker.run_inline(deliver_notice, args))


def deliver(message_id: int, now: datetime | None = None) -> str | None:
    """Deliver one queued (or failed, due again) message through its channel's backend; its
    new status, or None when there was nothing to do. The gateway is called before any write;
    the outcome is written in a short transaction afterwards."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status == MessageStatus.SENT or message.next_attempt_at is None:
        return None
    backend = _gateway(message.channel)
    outgoing = channels.Outgoing(
        message.channel,
        message.recipient,
        message.subject or "",
        message.body,
        key=f"kesheng-notice-{message.id}",
    )
    # (only a read so far: no write lock is held while the gateway answers)
    error = None
    if backend is not None:
        try:
            backend.send(outgoing)
        except channels.DeliveryError as err:
            error = str(err)[:500]
    return _record_attempt(message_id, error, now or utcnow())


@transactional
def _record_attempt(message_id: int, error: str | None, now: datetime) -> str | None:
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status == MessageStatus.SENT:
        return None  # delivered meanwhile by another run
    message.attempts += 1
    if error is None:
        message.status, message.sent_at, message.error = MessageStatus.SENT, now, None
        message.next_attempt_at = None
        if message.related_type == "complaint" and message.purpose in DECISION_PURPOSES:
            _decision_delivered(message, now)
    else:
        message.status, message.error = MessageStatus.FAILED, error
        last = message.attempts >= MAX_ATTEMPTS
        message.next_attempt_at = None if last else now + channels.backoff(message.attempts)
    return message.status


def _decision_delivered(message: OutboxMessage, now: datetime) -> None:
    """A decision notice its gateway took is the proof that the decision reached the
    customer: the complaint's legal clock stops then (flush with the attempt)."""
    from app.models.complaint import Complaint
    from app.services.complaint_handling import decision_reached

    complaint = db.session.get(
        Complaint, message.related_id, execution_options={"include_all_branches": True}
    )
    if complaint is not None and complaint.decided_at is not None:
        if message.created_at >= complaint.decided_at:  # (not a notice of an earlier decision)
            decision_reached(complaint, now)


def deliver_due(now: datetime | None = None, *, limit: int = 200) -> int:
    """Periodic: retry failed deliveries whose back-off has passed, and deliver queued messages
    whose job was lost (a broker outage); returns how many were attempted."""
    now = now or utcnow()
    ids = db.session.scalars(
        select(OutboxMessage.id)
        .where(
            OutboxMessage.next_attempt_at.is_not(None),
            or_(
                and_(
                    OutboxMessage.status == MessageStatus.FAILED,
                    OutboxMessage.next_attempt_at <= now,
                ),
                and_(
                    OutboxMessage.status == MessageStatus.QUEUED,
                    OutboxMessage.next_attempt_at <= now - QUEUED_GRACE,
                ),
            ),
        )
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
    ).all()
    return sum(1 for message_id in ids if deliver(message_id, now) is not None)


def messages_for(related_type: str, related_id: int) -> list[OutboxMessage]:
    """Every message sent about one object, newest first."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.related_type == related_type, OutboxMessage.related_id == related_id)
        .order_by(OutboxMessage.id.desc())
    )
    return list(db.session.scalars(stmt))
