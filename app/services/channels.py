"""Channels behind one small interface: the development outbox, SMTP e-mail, an HTTP gateway.

Configuration (app.config):
``SURVEY_CHANNEL_BACKENDS`` maps a channel (sms, email, wechat, app) to ``outbox``, ``smtp`` or
``gateway`` (default: every channel goes to the outbox); ``SURVEY_SMTP_HOST``, ``_PORT``,
``_SENDER``, ``_USERNAME``, ``_PASSWORD``, ``_STARTTLS``; ``SURVEY_GATEWAY_URL``,
``SURVEY_GATEWAY_TOKEN``; ``SURVEY_SEND_TIMEOUT`` (seconds).
"""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Protocol

from flask import current_app


def bank_name() -> str:
    """The bank's name as customers know it (``BANK_NAME``), which signs every message."""
    return str(current_app.config.get("BANK_NAME") or "客声银行")


def sms_signature() -> str:
    """The 【…】 signature Chinese SMS gateways require at the start of a text."""
    return f"【{bank_name()}】"


# One retry policy for every message through a gateway (invitations, complaint notices): the
# wait after the 1st … 4th failed attempt; the 5th is the last.
MAX_DELIVERY_ATTEMPTS = 5
BACKOFF_MINUTES = (1, 5, 30, 120)


def backoff(attempts: int) -> timedelta:
    """The wait before the next attempt after ``attempts`` failed ones."""
    return timedelta(minutes=BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1])


class DeliveryError(Exception):
    """The channel did not accept the message; it will be retried with back-off."""


@dataclass(frozen=True)
class Outgoing:
    channel: str
    to: str
    subject: str
    body: str
    # The same for every attempt at one message (a retry after a timeout the gateway had in
    # fact accepted sent the customer the SMS twice): the gateway's JSON ``id`` and
    # ``Idempotency-Key`` header, for it to send each message once.
    key: str | None = None


class Backend(Protocol):
    name: str

    def send(self, message: Outgoing) -> None: ...


class OutboxBackend:
    """Development: nothing leaves the machine; the outbound_message row is the record."""

    name = "outbox"

    def send(self, message: Outgoing) -> None:
        return None


@dataclass
class SmtpBackend:
    host: str
    port: int = 25
    sender: str = "survey@kesheng.local"
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0
    name: str = "smtp"

    def send(self, message: Outgoing) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as err:
            raise DeliveryError(f"SMTP: {type(err).__name__}: {err}"[:400]) from err


@dataclass
class HttpGatewayBackend:
    """POSTs ``{"channel", "to", "subject", "text"}`` as JSON; any 2xx means accepted."""

    url: str
    token: str | None = None
    timeout: float = 10.0
    name: str = "gateway"

    def send(self, message: Outgoing) -> None:
        payload = {
            "channel": message.channel,
            "to": message.to,
            "subject": message.subject,
            "text": message.body,
        }
        if message.key:
            payload["id"] = message.key
        request = urllib.request.Request(
            self.url,
            data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        if message.key:
            request.add_header("Idempotency-Key", message.key)
        try:
            # B310: the gateway URL comes from configuration, never from a request.
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:  # noqa: S310  # nosec B310
                if not 200 <= reply.status < 300:
                    raise DeliveryError(f"gateway HTTP {reply.status}")
        except urllib.error.HTTPError as err:
            err.close()
            raise DeliveryError(f"gateway HTTP {err.code}") from err
        except OSError as err:
            raise DeliveryError(f"gateway: {type(err).__name__}: {err}"[:400]) from err


def backend_for(channel: str) -> Backend:
    """The configured backend of a channel (the outbox unless configured otherwise)."""
    config = current_app.config
    kind = (config.get("SURVEY_CHANNEL_BACKENDS") or {}).get(channel, "outbox")
    timeout = float(config.get("SURVEY_SEND_TIMEOUT", 10))
    if kind == "smtp":
        return SmtpBackend(
            host=config.get("SURVEY_SMTP_HOST", "127.0.0.1"),
            port=int(config.get("SURVEY_SMTP_PORT", 25)),
            sender=config.get("SURVEY_SMTP_SENDER", "survey@kesheng.local"),
            username=config.get("SURVEY_SMTP_USERNAME"),
            password=config.get("SURVEY_SMTP_PASSWORD"),
            starttls=bool(config.get("SURVEY_SMTP_STARTTLS", False)),
            timeout=timeout,
        )
    if kind == "gateway":
        url = config.get("SURVEY_GATEWAY_URL")
        if not url:
            raise RuntimeError("SURVEY_GATEWAY_URL is not configured")
        return HttpGatewayBackend(
            url=url, token=config.get("SURVEY_GATEWAY_TOKEN"), timeout=timeout
        )
    return OutboxBackend()


def compose(channel: str, *, title: str, url: str, days: int, reminder: bool) -> tuple[str, str]:
    """(subject, body) of an invitation or reminder in plain Chinese."""
    lead = "温馨提醒：您还未填写" if reminder else "诚邀您参与"
    if channel == "email":
        subject = f"{'提醒：' if reminder else ''}{title}"
        body = (
            f"尊敬的客户：\n\n{lead}“{title}”，大约需要 2 分钟。\n"
            f"请点击以下链接填写（{days} 天内有效，仅可提交一次）：\n{url}\n\n"
            f"您的意见将帮助我们改进服务。如不希望再收到调查，请回复“退订”。\n\n{bank_name()}"
        )
        return subject, body
    body = f"{sms_signature()}尊敬的客户，{lead}“{title}”，约2分钟：{url} {days}天内有效。"
    return title, body + _opt_out(channel)


def _opt_out(channel: str) -> str:
    """How to stop surveys: an SMS is answered TD; a WeChat or app message cannot be answered
    that way (they said 回复TD退订 too), so they name the hotline, or the bank's service."""
    if channel == "sms":
        return "回复TD退订"
    hotline = current_app.config.get("BANK_HOTLINE")
    return f"如不愿再收到调查，请致电{hotline}" if hotline else "如不愿再收到调查，请联系我行客服"


# A Chinese text message (UCS-2) holds 70 characters; a longer one is sent in parts of 67 that
# the phone joins, and the operator bills each part.
SMS_SINGLE, SMS_PART = 70, 67


def sms_parts(text: str) -> int:
    return 1 if len(text) <= SMS_SINGLE else -(-len(text) // SMS_PART)


@dataclass(frozen=True)
class Preview:
    """A message as a customer will receive it (with a sample link of the real one's length)."""

    kind: str  # 邀请 or 提醒
    when: str
    subject: str
    body: str
    chars: int
    parts: int | None  # billed text messages (SMS only)
    link_chars: int
    title_chars: int


def preview(
    channel: str, *, title: str, url: str, days: int, reminder_days: int | None
) -> list[Preview]:
    """The invitation and, when the campaign reminds, the reminder, composed exactly as sent
    (``compose``); ``url`` a sample link (each customer's own differs only in its token)."""
    plans = [("邀请", "开始发送时", days, False)]
    if reminder_days:
        plans.append(
            ("提醒", f"发出后第 {reminder_days} 天（仍未作答时）", days - reminder_days, True)
        )
    out = []
    for kind, when, left, reminder in plans:
        subject, body = compose(channel, title=title, url=url, days=max(1, left), reminder=reminder)
        parts = sms_parts(body) if channel == "sms" else None
        out.append(Preview(kind, when, subject, body, len(body), parts, len(url), len(title)))
    return out
