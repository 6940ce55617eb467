"""Messages sent to customers through a channel adapter; every one is kept as proof (Art. 21)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import EncryptedText, db, utcnow


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


MESSAGE_STATUS_LABELS = {
    MessageStatus.QUEUED: "待发送",
    MessageStatus.SENT: "已发送",
    MessageStatus.FAILED: "发送失败",
}

CHANNEL_LABELS = {
    "sms": "短信",
    "email": "电子邮件",
    "wechat": "微信",
    "app": "手机银行消息",
    "letter": "信函",
}


class OutboxMessage(db.Model):
    """One message to one recipient; the full address is encrypted, the masked one is shown."""

    __tablename__ = "outbox_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(EncryptedText)
    recipient_masked: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[MessageStatus] = mapped_column(String(20), default=MessageStatus.QUEUED)
    sent_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(500))
    # delivery through a real gateway, after the commit: attempts so far, and when the next is
    # due (None once sent, or after the last attempt)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    related_type: Mapped[str | None] = mapped_column(String(50))
    related_id: Mapped[int | None] = mapped_column(index=True)
    purpose: Mapped[str | None] = mapped_column(String(50))

    @property
    def status_label(self) -> str:
        return MESSAGE_STATUS_LABELS.get(MessageStatus(self.status), self.status)

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS.get(self.channel, self.channel)
