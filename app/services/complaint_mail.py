"""E-mail intake: .eml files or an mbox become complaints (channel ``email``), idempotently.

Attachments are kept in the database (``complaint_attachment``) rather than under instance/:
they then commit or roll back with the complaint, follow it into backups and to every app server,
and need no shared disk. Size and type limits keep the table small.
"""

from __future__ import annotations

import html
import imaplib
import mailbox
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Any

from app.security import uploads
from app.security.uploads import FileData
from app.services import complaints
from app.services.complaint_files import MAILED
from app.services.complaints import IntakeData
from app.services.errors import ServiceError


@dataclass
class MailReport:
    created: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped_attachments: list[str] = field(default_factory=list)


def _messages(path: Path):
    files = sorted(path.glob("*.eml")) if path.is_dir() else [path]
    for item in files:
        raw = item.read_bytes()
        if item.suffix.lower() == ".eml" or not raw.startswith(b"From "):
            yield item.name, BytesParser(policy=policy.default).parsebytes(raw)
        else:
            for n, msg in enumerate(mailbox.mbox(str(item), create=False)):
                yield (
                    f"{item.name}#{n + 1}",
                    BytesParser(policy=policy.default).parsebytes(msg.as_bytes()),
                )


_HIDDEN_HTML = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.DOTALL | re.IGNORECASE)


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = part.get_content()
    if part.get_content_type() == "text/html":
        text = _HIDDEN_HTML.sub(" ", text)  # scripts, styles and comments are not what was said
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _attachments(msg: EmailMessage, report: MailReport, label: str) -> tuple[FileData, ...]:
    """The attachments a complaint may keep (the limits of ``app.security.uploads``, the type
    the sender's mail program gave checked against the content); the others are reported."""
    kept, stored = [], 0
    for part in msg.iter_attachments():
        name = part.get_filename() or "attachment"
        data = part.get_payload(decode=True) or b""
        ctype = part.get_content_type()
        reason = uploads.attachment_refusal(ctype, data, allowed=MAILED.types, stored=stored)
        if reason:
            report.skipped_attachments.append(f"{label}: {name}（{ctype}：{reason}）")
        else:
            stored += len(data)
            kept.append(FileData(name, ctype, data))
    return tuple(kept)


def intake_data(msg: EmailMessage, report: MailReport, label: str) -> IntakeData:
    display, address = parseaddr(str(msg.get("From", "")))
    subject = str(msg.get("Subject", "")).strip()
    body = _body(msg)
    content = f"{subject}\n{body}".strip() if subject and subject not in body else body
    try:
        received = parsedate_to_datetime(str(msg["Date"])) if msg.get("Date") else None
    except (TypeError, ValueError):
        received = None
    if received is not None and received.tzinfo is None:
        received = None
    ref = str(msg.get("Message-ID", "")).strip() or None
    return IntakeData(
        channel="email",
        content=content[:5000],
        name=display or address.split("@")[0] or "邮件客户",
        email=address or None,
        received_at=received,
        external_ref=ref[:100] if ref else None,
        attachments=_attachments(msg, report, label),
        file_rules=MAILED,
    )


def _import_one(label: str, msg: EmailMessage, report: MailReport) -> bool:
    """One message, its own transaction; True when it is stored (now or before)."""
    try:
        complaint, created = complaints.create_complaint(intake_data(msg, report, label))
    except ServiceError as err:
        report.failed.append(f"{label}: {err.message}")
        return False
    (report.created if created else report.duplicates).append(complaint.reference)
    return True


def import_mail(path: str | Path) -> MailReport:
    """Create one complaint per message; a message seen before (same Message-ID) is skipped.

    Each message is its own transaction, so one bad message does not stop the rest.
    """
    report = MailReport()
    for label, msg in _messages(Path(path)):
        _import_one(label, msg, report)
    return report


@dataclass(frozen=True)
class ImapSettings:
    host: str
    user: str
    password: str
    port: int = 993
    folder: str = "INBOX"
    ssl: bool = True
    timeout: float = 30.0


def poll_imap(settings: ImapSettings) -> MailReport:
    """Import the unread messages of a mailbox; each is marked read only once it is stored.

    Messages are fetched with BODY.PEEK so a crash in between leaves them unread for the next
    poll, and the Message-ID idempotency makes a repeated import harmless.
    """
    report = MailReport()
    cls = imaplib.IMAP4_SSL if settings.ssl else imaplib.IMAP4
    conn = cls(settings.host, settings.port, timeout=settings.timeout)
    try:
        conn.login(settings.user, settings.password)
        conn.select(settings.folder)
        _, found = conn.search(None, "UNSEEN")
        for num in (found[0] or b"").split():
            _, parts = conn.fetch(num, "(BODY.PEEK[])")
            raw = next((p[1] for p in parts if isinstance(p, tuple)), b"")
            msg = BytesParser(policy=policy.default).parsebytes(raw)
            if _import_one(f"imap:{num.decode()}", msg, report):
                conn.store(num, "+FLAGS", "(\\Seen)")
    finally:
        try:
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    return report


def imap_settings(config: Mapping[str, Any]) -> ImapSettings | None:
    """The configured mailbox (IMAP_HOST, IMAP_USER, IMAP_PASSWORD, ...), or None if unset."""
    if not config.get("IMAP_HOST"):
        return None
    return ImapSettings(
        host=config["IMAP_HOST"],
        user=config.get("IMAP_USER") or "",
        password=config.get("IMAP_PASSWORD") or "",
        port=int(config.get("IMAP_PORT") or 993),
        folder=config.get("IMAP_FOLDER") or "INBOX",
        ssl=bool(config.get("IMAP_SSL", True)),
    )
