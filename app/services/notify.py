"""Messages to customers and staff through channel adapters; every message is kept in the outbox.

An adapter delivers one ``OutboxMessage`` (SMS gateway, mail server, WeChat template message, app
push). The default for every channel is ``OutboxAdapter``: it records the message as sent and
delivers nothing, which is what development, tests and banks without a gateway need; staff see
the text in the complaint's history. A real gateway registers itself with ``register_adapter``.

``send`` only flushes: the message commits or rolls back with the caller's use case, so a notice
is never recorded for something that did not happen.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage, utcnow
from app.models.outbox import MessageStatus
from app.services.errors import ValidationFailed
from app.services.tx import next_id
from nlp.redact import mask_email, mask_phone

CHANNELS = ("sms", "email", "wechat", "app", "letter", "staff")


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
    try:
        adapter_for(channel).deliver(message)
    except Exception as err:  # noqa: BLE001  (a gateway's failure is recorded, not raised)
        message.status = MessageStatus.FAILED
        message.error = str(err)[:500]
    if flush:
        db.session.flush()
    return message


def messages_for(related_type: str, related_id: int) -> list[OutboxMessage]:
    """Every message sent about one object, newest first."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.related_type == related_type, OutboxMessage.related_id == related_id)
        .order_by(OutboxMessage.id.desc())
    )
    return list(db.session.scalars(stmt))
