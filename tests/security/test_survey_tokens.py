"""Survey links: unguessable, stored only as a hash (and sealed for resends), bound to their
survey, rate-limited against guessing, built from PUBLIC_BASE_URL whatever the Host header
says, and never logged."""

from __future__ import annotations

import hashlib
import logging
import math

from flask import current_app
from sqlalchemy import inspect, select

from app.extensions import db
from app.models import Invitation, OutboundMessage
from app.models.ratelimit import RateLimitCounter
from app.security import pii
from app.services import invitations
from app.services.customers import CustomerData
from tests import factories
from tests.security import records


def _issue(ext: str = "TOK001", survey_code: str = "branch-service"):
    return invitations.create_invitation(
        invitations.InvitationRequest(
            survey_code=survey_code,
            customer=CustomerData(external_id=ext, name="孙七", phone="13833334444"),
            channel="sms",
            branch_code="HZ01",
        )
    )


def _token(issued) -> str:
    return issued.url.rsplit("/", 1)[1]


def test_tokens_carry_at_least_128_bits_and_never_repeat():
    assert invitations.TOKEN_BYTES * 8 >= 128
    tokens = {invitations.new_token() for _ in range(2000)}
    assert len(tokens) == 2000
    alphabet = set("".join(tokens))
    shortest = min(len(t) for t in tokens)
    assert shortest * math.log2(len(alphabet)) >= 128


def test_only_a_hash_is_stored(client):
    issued = _issue()
    token = _token(issued)
    row = db.session.get(Invitation, issued.invitation.id)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    columns = [c.key for c in inspect(Invitation).columns]
    assert not any(token in str(getattr(row, c)) for c in columns)
    # sealed (AES-GCM, personal-data key) so that a resend carries the same link
    assert pii.decrypt(row.token_sealed) == token
    assert "token" not in columns  # looked up by its hash: no plain-text comparison to time
    sent = db.session.scalar(select(OutboundMessage).where(OutboundMessage.invitation_id == row.id))
    # Only the development outbox (nothing leaves the machine) keeps the link to click on;
    # a real gateway's copy is stored without it (tests/services: the SMTP test).
    assert sent.backend == "outbox" or token not in sent.body


def test_links_are_not_enumerable(client):
    a, b = _token(_issue("TOK002")), _token(_issue("TOK003"))
    assert a[:8] != b[:8]  # no shared prefix or counter in consecutive links
    for guess in (
        a[:-1] + ("A" if a[-1] != "A" else "B"),
        a.upper(),
        a[:-4],
        str(db.session.get(Invitation, _issue("TOK004").invitation.id).id),
    ):
        assert client.get(f"/s/{guess}").status_code == 404


def test_a_token_is_bound_to_its_survey(client):
    survey = records.hostile_survey("bound-survey")
    issued = _issue("TOK005", survey_code=survey.code)
    page = client.get(f"/s/{_token(issued)}")
    assert page.status_code == 200 and "&lt;script&gt;" in page.text  # that survey's title
    other = client.get(f"/s/{_token(_issue('TOK006'))}")
    assert "网点服务满意度调查" in other.text and "&lt;script&gt;" not in other.text


def test_a_thousand_wrong_tokens_from_one_address_are_throttled(client):
    attacker = {"REMOTE_ADDR": "203.0.113.66"}
    statuses = [
        client.get(f"/s/guess{n:06d}xxxxxxxxxxxxxxxx", environ_base=attacker).status_code
        for n in range(1000)
    ]
    limit = current_app.config.get("SURVEY_LINK_MAX_FAILURES", 30)
    assert set(statuses[:limit]) == {404}
    assert set(statuses[limit:]) == {429}
    blocked = client.get("/s/guess999999xxxxxxxxxxxxxxxx", environ_base=attacker)
    assert blocked.status_code == 429 and "访问过于频繁" in blocked.text
    # a right link from the same address is still answered (a shared address: the branch's
    # Wi-Fi, an operator's NAT); guessing 192-bit tokens finds none
    right = client.get(f"/s/{_token(_issue('TOK007'))}", environ_base=attacker)
    assert right.status_code == 200
    assert "请约 10 分钟后再试" in blocked.text  # (how long to wait, not just "later")
    window = current_app.config.get("SURVEY_LINK_WINDOW_SECONDS", 600)
    assert blocked.headers["Retry-After"] == str(window)  # (when to come back)
    customer = client.get(
        f"/s/{_token(_issue('TOK008'))}", environ_base={"REMOTE_ADDR": "198.51.100.9"}
    )
    assert customer.status_code == 200
    hits = db.session.scalar(
        select(RateLimitCounter.hits).where(RateLimitCounter.key == "survey-link:203.0.113.66")
    )
    assert hits == limit  # counted in the database, shared by every worker process


def test_links_use_public_base_url_never_the_host_header(client):
    _, secret = factories.api_token("invitations:write")
    response = client.post(
        "/api/v1/invitations",
        json={
            "survey_code": "branch-service",
            "customer": {"external_id": "TOK009", "name": "钱八", "phone": "13855556666"},
            "channel": "sms",
        },
        headers={
            "Authorization": f"Bearer {secret}",
            "Host": "evil.example",
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-Proto": "https",
        },
        base_url="http://evil.example",
    )
    assert response.status_code == 201
    base = current_app.config["PUBLIC_BASE_URL"]
    assert response.json["url"].startswith(base + "/s/")
    assert "evil" not in response.json["url"]
    message = db.session.scalar(
        select(OutboundMessage).where(OutboundMessage.invitation_id == response.json["id"])
    )
    assert "evil" not in message.body


def test_no_token_in_application_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    issued = _issue("TOK010")
    token = _token(issued)
    client.get(f"/s/{token}")
    client.post(f"/s/{token}", data={"q_overall": "9"})
    client.post(f"/s/{token}", data={**records.DETRACTOR_ANSWERS})
    client.get(f"/s/{token}")
    assert token not in caplog.text
    from app.web.errors import logged_path

    with current_app.test_request_context(f"/s/{token}"):
        assert token not in logged_path() and logged_path() == "/s/…"


def test_survey_pages_send_no_referrer(client):
    token = _token(_issue("TOK011"))
    for response in (client.get(f"/s/{token}"), client.get("/s/unknown-token-000000000000")):
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"
