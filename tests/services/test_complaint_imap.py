"""Complaints from a mailbox: the IMAP poller against a real (loopback) IMAP server."""

from __future__ import annotations

from email.message import EmailMessage

from sqlalchemy import select

from app.models import Complaint
from app.services import complaint_mail
from tests.imap_server import ImapServer


def _mail(n: int, body: str, subject: str = "信用卡年费投诉") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"周女士 <zhou{n}@example.com>"
    msg["To"] = "tousu@bank.example"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<imap-test-{n}@example.com>"
    msg["Date"] = "Sun, 22 Nov 2026 10:00:00 +0800"
    msg.set_content(body)
    return msg.as_bytes()


def _settings(server: ImapServer, password: str = "pw") -> complaint_mail.ImapSettings:
    return complaint_mail.ImapSettings(
        host="127.0.0.1", port=server.port, user="tousu", password=password, ssl=False, timeout=5
    )


def test_unread_mail_becomes_complaints_and_is_marked_read(db_session):
    messages = [
        _mail(1, "没有开通的信用卡被扣了年费，要求退还。"),
        _mail(2, "手机银行转账失败但钱被扣了，客服一直推脱。"),
    ]
    with ImapServer(messages) as server:
        report = complaint_mail.poll_imap(_settings(server))
        assert len(report.created) == 2 and not report.failed
        assert server.mailbox.seen == {1, 2}
        again = complaint_mail.poll_imap(_settings(server))
        assert again.created == [] and again.duplicates == []
    stored = db_session.scalars(
        select(Complaint).where(Complaint.external_ref.like("<imap-test-%"))
    ).all()
    assert {c.channel for c in stored} == {"email"} and len(stored) == 2
    assert any("年费" in c.content for c in stored)


def test_a_message_that_cannot_be_stored_stays_unread(db_session):
    with ImapServer([_mail(3, "", subject="")]) as server:  # no content: intake refuses it
        report = complaint_mail.poll_imap(_settings(server))
        assert report.failed and server.mailbox.seen == set()


def test_wrong_password_is_an_error_and_stores_nothing(db_session):
    import imaplib

    import pytest

    with ImapServer([_mail(4, "投诉内容")]) as server:
        with pytest.raises(imaplib.IMAP4.error):
            complaint_mail.poll_imap(_settings(server, password="wrong"))


def test_settings_come_from_configuration():
    assert complaint_mail.imap_settings({}) is None
    settings = complaint_mail.imap_settings(
        {"IMAP_HOST": "mail.bank.internal", "IMAP_USER": "tousu", "IMAP_PASSWORD": "x"}
    )
    assert settings.port == 993 and settings.ssl is True and settings.folder == "INBOX"
