"""Stored and reflected XSS: hostile text in survey titles, question texts, answers, complaint
text, customer names and file names is inert on every page each role can open, and in e-mails."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from html.parser import HTMLParser

import pytest
from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import ComplaintAttachment, OutboundMessage
from app.services import invitations
from app.services.customers import CustomerData
from tests.security import records
from tests.security.helpers import MISSING_ID, PATH_VALUES, methods, rules, sign_in
from tests.security.records import HOSTILE, JS_LINK, SCRIPT


class _LiveMarkup(HTMLParser):
    """Collects what a browser would run: event-handler attributes, javascript: URLs, scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value}>")
        if tag == "img" and dict(attrs).get("src") == "x":
            self.found.append("<img src=x>")
        if tag == "script":
            self._script = dict(attrs)

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._script is not None and "alert(1)" in data:
            kind = self._script.get("type", "")
            if kind != "application/json" or "</script" in data.lower():
                self.found.append(f"<script>{data[:40]}")


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data"}


@pytest.fixture
def hostile(client):
    survey = records.hostile_survey()
    answered = records.answered(
        client, survey_code=survey.code, ext="XSS001", name=HOSTILE, comment=HOSTILE
    )
    complaint = records.complaint(text=HOSTILE, name=HOSTILE, filename=f"{HOSTILE}.pdf")
    attachment = db.session.scalar(
        select(ComplaintAttachment).where(ComplaintAttachment.complaint_id == complaint.id)
    )
    problem = records.problem(title=HOSTILE[:100])
    return {
        "survey_id": survey.id,
        "complaint_id": complaint.id,
        "attachment_id": attachment.id,
        "response_id": answered.response.id,
        "task_id": answered.followup.id,
        "customer_id": answered.response.customer_id,
        "problem_id": problem.id,
        "token": answered.token,
    }


def _path(rule, ids) -> str:
    path = rule.rule
    for match in re.finditer(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>", rule.rule):
        converter, options, name = match.groups()
        if name in ids:
            value = ids[name]
        elif converter == "int":
            value = MISSING_ID
        elif converter == "any":
            value = options.split(",")[0]
        else:
            value = PATH_VALUES.get(name, "x")
        path = path.replace(match.group(0), str(value), 1)
    return path


def _inert(html: str) -> list[str]:
    parser = _LiveMarkup()
    parser.feed(html)
    parser.close()
    return parser.found


@pytest.mark.parametrize("who", ["anonymous", "agent", "manager", "hq", "admin"])
def test_hostile_text_is_inert_on_every_page(app, client, hostile, who):
    if who != "anonymous":
        sign_in(client, who)
    problems, seen = [], 0
    for rule in rules(app):
        if "GET" not in methods(rule) or rule.endpoint in ("static", "vendor_asset", "favicon"):
            continue
        base = _path(rule, hostile)
        for url in (base, f"{base}?q={HOSTILE}&next={JS_LINK}&quarter={SCRIPT}"):
            response = client.get(url)
            if response.mimetype != "text/html":
                continue
            seen += 1
            hits = _inert(response.text)
            if hits:
                problems.append(f"{url.split('?')[0]} ({response.status_code}): {hits}")
    assert seen > 5
    assert not problems, "\n".join(problems)


def test_the_hostile_text_is_shown_escaped_where_it_belongs(client, auth, hostile):
    auth.login("hq")
    page = client.get(f"/staff/complaints/{hostile['complaint_id']}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    survey = client.get(f"/s/{records.answered.__name__ and hostile['token']}")
    assert "<script>alert" not in survey.text


def test_survey_link_page_with_a_hostile_survey_is_inert(client, auth):
    survey = records.hostile_survey("xss-two")
    issued = invitations.create_invitation(
        invitations.InvitationRequest(
            survey_code=survey.code,
            customer=CustomerData(external_id="XSS002", name="吴一", phone="13811113333"),
            channel="sms",
            branch_code="HZ01",
        )
    )
    page = client.get(issued.url.replace(current_app.config["PUBLIC_BASE_URL"], ""))
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert not _inert(page.text)
    invalid = client.post(
        issued.url.replace(current_app.config["PUBLIC_BASE_URL"], ""), data={"q_comment": HOSTILE}
    )
    assert invalid.status_code == 422 and not _inert(invalid.text)


def test_e_mails_are_plain_text_and_headers_cannot_be_forged(client):
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
            received.append(envelope)
            return "250 OK"

    survey = records.hostile_survey("xss-mail")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    config = current_app.config
    try:
        config["SURVEY_CHANNEL_BACKENDS"] = {"email": "smtp"}
        config["SURVEY_SMTP_HOST"], config["SURVEY_SMTP_PORT"] = "127.0.0.1", port
        issued = invitations.create_invitation(
            invitations.InvitationRequest(
                survey_code=survey.code,
                customer=CustomerData(external_id="XSS003", name=HOSTILE, email="kehu@example.cn"),
                channel="email",
            )
        )
    finally:
        for key in ("SURVEY_CHANNEL_BACKENDS", "SURVEY_SMTP_HOST", "SURVEY_SMTP_PORT"):
            config.pop(key, None)
        controller.stop()
    assert len(received) == 1 and received[0].rcpt_tos == ["kehu@example.cn"]
    mail = email.message_from_bytes(received[0].content, policy=email.policy.default)
    assert not mail.is_multipart() and mail.get_content_type() == "text/plain"
    assert "\n" not in str(mail["Subject"]) and mail["Bcc"] is None
    message = db.session.scalar(
        select(OutboundMessage).where(OutboundMessage.invitation_id == issued.invitation.id)
    )
    assert message.status == "sent"
