"""Open redirects through ``next=``, and text edge cases: emoji, rare characters, zero-width and
right-to-left marks round-trip byte-exact; NUL bytes get a 400; CR/LF cannot forge log lines."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Complaint, TextAnalysis
from tests import factories
from tests.security import records
from tests.security.helpers import page_csrf, sign_in
from tests.support import PASSWORD, csrf_token

HOSTILE_NEXT = [
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/%2F%2Fevil.example",
    " //evil.example",
    "/\t/evil.example",
    "/staff/\r\nLocation: https://evil.example",
    "http:///evil.example",
]

# Emoji with skin tone and ZWJ sequence, a CJK Extension B character, zero-width space/joiner,
# right-to-left mark and override, a combining mark, ideographic space in the middle.
TRICKY = "客户😀👍🏽👨‍👩‍👧 𠮷野家\u200b零\u200d宽\u200f右\u202e左\u202c e\u0301　全角"
# As stored: everything kept but the override and its end (they make the text read backwards).
STORED = TRICKY.replace("\u202e", "").replace("\u202c", "")


def _is_local(location: str) -> bool:
    parts = urlsplit(location)
    return (
        not parts.scheme
        and not parts.netloc
        and location.startswith("/")
        and not location.startswith(("//", "/\\"))
        and not any(c in location for c in "\r\n\t\\")
    )


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_login_next_lands_on_a_local_page(client, target):
    page = client.get("/login", query_string={"next": target})
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"username": "agent", "password": PASSWORD, "csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 302
    assert _is_local(response.headers["Location"]), response.headers["Location"]


def test_analysis_correction_next_lands_on_a_local_page(client):
    complaint = records.complaint("HZ01")
    analysis = db.session.scalar(
        select(TextAnalysis).where(
            TextAnalysis.source_type == "complaint", TextAnalysis.source_id == complaint.id
        )
    )
    assert analysis is not None
    sign_in(client, "agent")
    token = page_csrf(client)
    for target in HOSTILE_NEXT:
        response = client.post(
            f"/staff/analysis/{analysis.id}/correct",
            data={"csrf_token": token, "field": "sentiment", "value": "negative", "next": target},
        )
        assert response.status_code == 302
        assert _is_local(response.headers["Location"]), (target, response.headers["Location"])


def test_every_redirect_of_the_login_flow_is_local(client):
    for target in HOSTILE_NEXT:
        response = client.get("/staff/complaints", query_string={"next": target})
        assert _is_local(response.headers["Location"]) or response.headers["Location"].startswith(
            "/login"
        )


def _token_headers(scopes: str) -> dict[str, str]:
    _, secret = factories.api_token(scopes)
    return {"Authorization": f"Bearer {secret}"}


def test_tricky_text_round_trips_through_the_api(client):
    headers = _token_headers("complaints:write,complaints:read,customers:write,customers:read")
    created = client.post(
        "/api/v1/complaints",
        json={
            "channel": "app",
            "content": f"{TRICKY}\n第二行\t制表",
            "customer": {"external_id": "TXT001", "name": "𠮷田\u200b美"},
            "external_ref": "TXT-REF-1",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.json
    got = client.get(f"/api/v1/complaints/{created.json['id']}", headers=headers)
    assert got.status_code == 200
    db.session.expire_all()
    row = db.session.get(Complaint, created.json["id"])
    assert row.content.encode() == f"{STORED}\n第二行\t制表".encode()
    assert row.complainant_name == "𠮷田\u200b美"


def test_tricky_text_round_trips_through_the_public_form(client):
    page = client.get("/complaint")
    response = client.post(
        "/complaint",
        data={
            "csrf_token": csrf_token(page.text),
            "name": "𠮷野\u200f花",
            "phone": "13900001111",
            "content": f"{TRICKY}，请尽快处理这个问题。",
            "demand": "退还费用",
            "consent": "y",
            "branch_code": "",
        },
    )
    assert response.status_code == 201, response.text[-600:]
    row = db.session.scalar(select(Complaint).order_by(Complaint.id.desc()))
    assert row.content.encode() == f"{STORED}，请尽快处理这个问题。".encode()
    assert row.complainant_name == "𠮷野\u200f花"


def test_nul_bytes_in_public_forms_get_400(client):
    page = client.get("/login")
    login = client.post(
        "/login",
        data={"username": "agent\x00", "password": "x\x00", "csrf_token": csrf_token(page.text)},
    )
    assert login.status_code == 400
    page = client.get("/complaint")
    complaint = client.post(
        "/complaint",
        data={
            "csrf_token": csrf_token(page.text),
            "name": "周\x00静",
            "phone": "13900001111",
            "content": "年费多收了\x00三百元，要求退还。",
            "consent": "y",
            "branch_code": "",
        },
    )
    assert complaint.status_code == 400
    from app.services import invitations
    from app.services.customers import CustomerData

    issued = invitations.create_invitation(
        invitations.InvitationRequest(
            survey_code="branch-service",
            customer=CustomerData(external_id="NUL001", name="周九", phone="13811112299"),
            channel="sms",
        )
    )
    token = issued.url.rsplit("/", 1)[1]
    survey = client.post(
        f"/s/{token}", data={**records.DETRACTOR_ANSWERS, "q_comment": "太慢\x00了"}
    )
    assert survey.status_code == 400
    assert client.get(f"/s/{token}").status_code == 200  # nothing stored: still answerable


def test_nul_bytes_in_staff_forms_get_400(client):
    sign_in(client, "agent")
    response = client.post(
        "/staff/complaints/new",
        data={
            "csrf_token": page_csrf(client),
            "channel": "hotline",
            "name": "周\x00静",
            "phone": "13900001111",
            "content": "年费\x00多收",
        },
    )
    assert response.status_code == 400


def test_nul_bytes_in_json_get_400_on_every_writing_endpoint(app, client):
    headers = _token_headers(
        "complaints:write,invitations:write,events:write,customers:write,responses:read"
    )
    customer = {"external_id": "NUL\x00002", "name": "周\x00九"}
    calls = [
        ("POST", "/api/v1/complaints",
         {"channel": "app", "content": "a\x00b", "customer": customer}),
        ("POST", "/api/v1/invitations", {"survey_code": "branch-service", "customer": customer,
                                         "channel": "sms"}),
        ("POST", "/api/v1/events", {"type": "loan\x00paid", "customer": customer,
                                    "occurred_at": "2026-01-31T23:30:00+08:00"}),
        ("PUT", "/api/v1/customers/NUL003", {"name": "周\x00九"}),
        ("GET", "/api/v1/responses?survey_code=a%00b", None),
        ("GET", "/api/v1/customers/NUL%00003", None),
    ]  # fmt: skip
    writing = {
        (m, r.rule)
        for r in app.url_map.iter_rules()
        for m in r.methods
        if r.rule.startswith("/api/v1/") and m in ("POST", "PUT")
    }
    covered = {(m, p if "<" not in p else p) for m, p, _ in calls}
    assert len([c for c in calls if c[0] in ("POST", "PUT")]) >= len(writing)
    assert covered
    for method, path, body in calls:
        response = client.open(path, method=method, json=body, headers=headers)
        # 400 for a NUL outside the JSON body; a NUL inside it fails schema validation (422),
        # which names the field. Either way a JSON 4xx, never a database 500.
        assert response.status_code in (400, 422), (path, response.status_code, response.json)
        assert response.json["error"]["code"]


def test_cr_lf_in_a_complaint_cannot_forge_a_log_line(client, caplog):
    caplog.set_level(logging.DEBUG)
    forged = "好的\r\n2026-01-31 23:30:00 INFO kesheng: admin 登录成功\r\n"
    headers = _token_headers("complaints:write")
    client.post(
        "/api/v1/complaints",
        json={
            "channel": "app",
            "content": forged,
            "customer": {"external_id": "LOG1", "name": forged},
        },
        headers=headers,
    )
    page = client.get("/complaint")
    client.post(
        "/complaint",
        data={"csrf_token": csrf_token(page.text), "name": forged, "phone": "13900001111",
              "content": forged * 3},
    )  # fmt: skip
    page = client.get("/login")
    client.post(
        "/login", data={"username": forged, "password": "x", "csrf_token": csrf_token(page.text)}
    )
    for record in caplog.records:
        text = record.getMessage()
        assert "\r" not in text and "\n2026-01-31" not in text, text
