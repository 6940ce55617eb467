"""Edges of CONTRACT.md found by an outside audit: what an integrator sends with only the
contract's fields, values at the limits of the types, and messages an integrator reads."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Branch, Complaint, Invitation, utcnow
from app.services import users
from tests import factories
from tests.support import PASSWORD, csrf_token


def bearer(scopes: str) -> dict[str, str]:
    _, secret = factories.api_token(scopes)
    return {"Authorization": f"Bearer {secret}"}


COMPLAINT = {
    "channel": "regulator",
    "content": "理财产品收益与宣传不符，客户向监管部门投诉后转办。",
    "customer": {"name": "赵六", "phone": "13700002222"},
    "branch_code": "HZ01",
}


def test_regulator_complaint_with_only_the_contract_fields_is_registered(client, auth):
    headers = bearer("complaints:write,complaints:read")
    forwarded = client.post(
        "/api/v1/complaints", json={**COMPLAINT, "external_ref": "YJ-2026-0007"}, headers=headers
    )
    assert forwarded.status_code == 201, forwarded.get_json()
    row = db.session.get(Complaint, forwarded.get_json()["id"])
    assert row.regulator_ref == "YJ-2026-0007"  # the regulator's number, as the system sent it
    bare = client.post("/api/v1/complaints", json=COMPLAINT, headers=headers)
    assert bare.status_code == 201 and bare.get_json()["channel"] == "regulator"
    # staff typing a forwarded case in have the regulator's letter: the form asks for it
    auth.login("agent")
    page = client.get("/staff/complaints/new").get_data(as_text=True)
    before = db.session.scalar(select(func.count(Complaint.id)))
    refused = client.post(
        "/staff/complaints/new",
        data={
            "csrf_token": csrf_token(page),
            "channel": "regulator",
            "name": "赵六",
            "content": COMPLAINT["content"],
            "branch_code": "HZ01",
            "product_code": "",
            "major_reason": "",
            "regulator_ref": "  ",
        },  # fmt: skip
    )
    assert refused.status_code == 400
    assert "监管转办投诉须填写监管转办编号" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Complaint.id))) == before


def test_complaint_of_a_known_customer_needs_no_name(client):
    known = factories.customer("HZ01", phone="13700003333")
    headers = bearer("complaints:write")
    body = {"channel": "app", "content": "转账失败", "customer": {"external_id": known.external_id}}
    created = client.post("/api/v1/complaints", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    assert db.session.get(Complaint, created.get_json()["id"]).complainant_name == known.name
    unknown = {**body, "customer": {"external_id": "NOBODY-1"}}
    refused = client.post("/api/v1/complaints", json=unknown, headers=headers)
    assert refused.status_code == 422 and "姓名" in refused.get_json()["error"]["message"]


def test_implausible_values_get_a_chinese_4xx(client):
    headers = bearer("complaints:write,complaints:read,responses:read,events:write")
    old = {**COMPLAINT, "channel": "app", "received_at": "1900-01-01T00:00:00+08:00"}
    reply = client.post("/api/v1/complaints", json=old, headers=headers)
    assert reply.status_code == 422 and "2000" in reply.get_json()["error"]["message"]
    nul = client.post(
        "/api/v1/complaints", json={**COMPLAINT, "external_ref": "a\u0000b"}, headers=headers
    )
    assert nul.status_code == 422
    assert nul.get_json()["error"]["fields"] == {"external_ref": "格式不正确或含有不允许的字符"}
    event = {
        "type": "loan.disbursed",
        "customer": {"external_id": "EVX", "name": "钱七"},
        "occurred_at": (utcnow() + timedelta(days=30)).isoformat(),
        "attributes": {"amount": "x"},
    }
    future = client.post("/api/v1/events", json=event, headers=headers)
    assert future.status_code == 422 and future.get_json()["error"]["fields"] == {
        "occurred_at": "事件发生时间不能晚于当前时间"
    }
    nested = client.post(
        "/api/v1/events", json={**event, "attributes": {"a": {"b": 1}}}, headers=headers
    )
    assert nested.status_code == 422 and list(nested.get_json()["error"]["fields"]) == [
        "attributes.a"
    ]
    # numbers too large for a database integer are bad input, not a server error
    huge = "9" * 25
    cursor = base64.urlsafe_b64encode(f"r:{huge}".encode()).decode().rstrip("=")
    for query in (f"invitation_id={huge}", f"cursor={cursor}"):
        answer = client.get(f"/api/v1/responses?{query}", headers=headers)
        assert answer.status_code == 422, query
    assert client.get("/api/v1/complaints/１", headers=headers).status_code == 404  # full-width


def test_major_complaint_is_at_least_high_priority(client):
    body = {**COMPLAINT, "channel": "branch", "content": "网点排队时间长", "group_size": 25}
    created = client.post("/api/v1/complaints", json=body, headers=bearer("complaints:write"))
    data = created.get_json()
    assert data["is_major"] and data["priority"] in ("high", "critical")


def test_invitation_past_its_expiry_reads_expired_before_the_sweep(client):
    token, issued = factories.survey_link("EXP001")
    factories.expire_invitation(issued.invitation.id)
    headers = bearer("invitations:write")
    read = client.get(f"/api/v1/invitations/{issued.invitation.id}", headers=headers)
    assert read.get_json()["status"] == "expired"
    gone = client.get(f"/s/{token}")  # what the customer sees
    assert gone.status_code == 410
    # (one half way through a survey when it expired: where else to be heard)
    assert '<a href="/complaint">在线提交投诉或建议</a>' in gone.get_data(as_text=True)


def test_metrics_with_only_an_end_date_cover_the_twelve_months_before_it(client):
    headers = bearer("metrics:read")
    reply = client.get("/api/v1/metrics/satisfaction?to=2025-12-31", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    assert (reply.get_json()["from"], reply.get_json()["to"]) == ("2025-01-01", "2025-12-31")
    bad = client.get("/api/v1/metrics/satisfaction?group_by=branch&branch=XX", headers=headers)
    assert bad.status_code == 422 and list(bad.get_json()["error"]["fields"]) == ["branch"]


def test_metrics_dates_outside_the_calendar_we_keep_get_a_422(client, auth):
    headers = bearer("metrics:read")
    for query, field in (
        ("to=9999-12-31", "to"),
        ("from=9999-12-01&to=9999-12-31", "to"),
        ("from=1900-02-01&to=2000-01-31", "from"),
        ("to=0001-01-05", "to"),
        ("from=1999-12-31&to=2000-06-30", "from"),
    ):
        reply = client.get(f"/api/v1/metrics/satisfaction?{query}", headers=headers)
        assert reply.status_code == 422, (query, reply.status_code)
        assert list(reply.get_json()["error"]["fields"]) == [field], query
    auth.login("hq")
    page = client.get("/manager/dashboards/branches?to=9999-12-31")
    assert page.status_code in (200, 422) and "2099-12-31" in page.text


@pytest.mark.parametrize("branches_loaded", [True, False])
def test_head_office_manager_without_a_branch_sees_the_whole_bank(client, auth, branches_loaded):
    user = users.create_user("hq_new", "hq_manager", PASSWORD)
    root = db.session.scalar(select(Branch).where(Branch.parent_id.is_(None)))
    assert user.branch_id == root.id
    if not branches_loaded:  # the account made on an empty database (the README's order)
        user.branch_id = None
        db.session.flush()
    complaint = client.post(
        "/api/v1/complaints", json={**COMPLAINT, "branch_code": "NJ01"},
        headers=bearer("complaints:write"),
    ).get_json()  # fmt: skip
    auth.login("hq_new")
    assert client.get(f"/staff/complaints/{complaint['id']}").status_code == 200
    found = client.get(f"/staff/complaints?q={complaint['reference']}").text
    assert complaint["reference"] in found


def test_openapi_declares_the_errors_every_request_can_get(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    post = paths["/api/v1/complaints"]["post"]["responses"]
    assert {"400", "401", "403", "413", "415", "422"} <= set(post)
    assert "400" in paths["/api/v1/surveys"]["get"]["responses"]


def test_json_values_of_the_wrong_type_are_refused_not_converted(client):
    headers = bearer("complaints:write")
    for extra, field in (
        ({"group_size": True}, "group_size"),
        ({"group_size": "20"}, "group_size"),
        ({"group_size": 20.0}, "group_size"),
        ({"received_at": 1733270400}, "received_at"),
        ({"content": 123}, "content"),
    ):
        reply = client.post("/api/v1/complaints", json={**COMPLAINT, **extra}, headers=headers)
        assert reply.status_code == 422, extra
        assert list(reply.get_json()["error"]["fields"]) == [field], extra
    stored = select(func.count(Complaint.id)).where(Complaint.group_size == 20)
    assert db.session.scalar(stored) == 0
    ok = {**COMPLAINT, "group_size": 20, "received_at": "2026-12-01T10:00:00+08:00"}
    assert client.post("/api/v1/complaints", json=ok, headers=headers).status_code == 201


def test_since_with_an_unencoded_plus_reads_as_the_offset(client):
    headers = bearer("responses:read")
    for since in ("2026-11-01T00:00:00+08:00", "2026-11-01T00:00:00%2B08:00"):
        reply = client.get(f"/api/v1/responses?since={since}", headers=headers)
        assert reply.status_code == 200, (since, reply.get_json())
    bad = client.get("/api/v1/responses?since=2026-11-01 08:00", headers=headers)
    assert bad.status_code == 422


def test_an_invitation_is_created_before_it_is_sent(client):
    headers = bearer("invitations:write")
    body = {
        "survey_code": "branch-service",
        "customer": {"external_id": "ORDER1", "name": "钱七", "phone": "13700003333"},
        "channel": "sms",
    }
    made = client.post("/api/v1/invitations", json=body, headers=headers)
    assert made.status_code == 201, made.get_json()
    read = client.get(f"/api/v1/invitations/{made.get_json()['id']}", headers=headers).get_json()
    assert read["created_at"] <= read["sent_at"] < read["expires_at"]


def test_a_backdated_complaint_promises_no_day_already_gone(client):
    headers = bearer("complaints:write")
    old = (utcnow() - timedelta(days=40)).isoformat()
    reply = client.post(
        "/api/v1/complaints", json={**COMPLAINT, "received_at": old}, headers=headers
    )
    notice = [e["text"] for e in reply.get_json()["history"] if e["kind"] == "notice"]
    assert notice and "尽快" in notice[0] and "最迟" not in notice[0]
    future = (utcnow() + timedelta(days=3)).date().isoformat()
    late = client.post(
        "/api/v1/complaints", json={**COMPLAINT, "regulator_received_on": future}, headers=headers
    )
    assert late.status_code == 422
    assert list(late.get_json()["error"]["fields"]) == ["regulator_received_on"]


def test_the_regulator_cannot_have_received_a_case_after_the_bank_did(client, auth):
    """It forwards what it received: a regulator's receipt date after the day the bank received
    the case is a typing error (it was stored, e.g. received by the regulator 29 November,
    forwarded and received by the bank 27 November). Same day or earlier is fine."""
    headers = bearer("complaints:write")
    received = utcnow() - timedelta(days=5)
    day = (received + timedelta(hours=8)).date()

    def post(on, ref):
        body = {**COMPLAINT, "received_at": received.isoformat(), "external_ref": ref}
        return client.post(
            "/api/v1/complaints", json={**body, "regulator_received_on": on}, headers=headers
        )

    late = post((day + timedelta(days=2)).isoformat(), "YJ-LATE")
    assert late.status_code == 422
    assert list(late.get_json()["error"]["fields"]) == ["regulator_received_on"]
    assert "不能晚于本行接收日期" in late.get_json()["error"]["message"]
    assert post(day.isoformat(), "YJ-SAME").status_code == 201
    assert post((day - timedelta(days=9)).isoformat(), "YJ-EARLY").status_code == 201
    # the staff entry form says so beside the field, keeping what was typed
    auth.login("agent")
    page = client.get("/staff/complaints/new").get_data(as_text=True)
    refused = client.post(
        "/staff/complaints/new",
        data={
            "csrf_token": csrf_token(page),
            "channel": "regulator",
            "name": "赵六",
            "content": COMPLAINT["content"],
            "branch_code": "HZ01",
            "product_code": "",
            "major_reason": "",
            "regulator_ref": "YJ-FORM-1",
            "regulator_received_on": (utcnow() + timedelta(hours=8)).date().isoformat(),
            "received_at": f"{day - timedelta(days=1):%Y-%m-%d}T10:00",
        },  # fmt: skip
    )
    text = refused.get_data(as_text=True)
    assert refused.status_code in (400, 422) and "不能晚于本行接收日期" in text
    assert "YJ-FORM-1" in text
    assert not db.session.scalar(
        select(func.count(Complaint.id)).where(Complaint.regulator_ref == "YJ-FORM-1")
    )


def test_no_invitation_link_for_a_customer_who_opted_out(client):
    customer = factories.customer("HZ01")
    customer.opted_out = True
    db.session.commit()
    body = {
        "survey_code": "branch-service",
        "customer": {"external_id": customer.external_id, "name": "退订客户"},
        "channel": "email",
    }
    reply = client.post("/api/v1/invitations", json=body, headers=bearer("invitations:write"))
    assert reply.status_code == 409
    assert reply.get_json()["error"]["message"] == "客户已退订全部调查，不能发送调查邀请"
    stored = select(func.count(Invitation.id)).where(Invitation.customer_id == customer.id)
    assert db.session.scalar(stored) == 0


def test_the_earliest_receipt_is_the_first_of_january_2000_in_beijing(client):
    """Days are Beijing days everywhere (the metrics take 2000-01-01): a complaint received at
    00:00 Beijing time that day was refused as 'before 2000' (the limit was UTC midnight).
    A regulator's receipt date had no lower limit at all (1900-01-01 was stored)."""
    headers = bearer("complaints:write")
    first = client.post(
        "/api/v1/complaints",
        json={**COMPLAINT, "received_at": "2000-01-01T00:00:00+08:00"},
        headers=headers,
    )
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["due_at"] == "2000-01-16T23:59:59+08:00"
    before = client.post(
        "/api/v1/complaints",
        json={**COMPLAINT, "received_at": "1999-12-31T23:59:59+08:00"},
        headers=headers,
    )
    assert set(before.get_json()["error"]["fields"]) == {"received_at"}
    old_letter = client.post(
        "/api/v1/complaints",
        json={**COMPLAINT, "regulator_received_on": "1900-01-01"},
        headers=headers,
    )
    assert old_letter.status_code == 422
    assert set(old_letter.get_json()["error"]["fields"]) == {"regulator_received_on"}


def test_times_and_dates_at_the_ends_of_the_calendar(client, db_session):
    """since= far in the past means from the start and far in the future nothing yet (their UTC
    time does not exist: a 500); metrics with only to=2000-01-01 start inside the documented
    range (its twelve months began in 1999)."""
    from tests.security import records

    records.answered(client, ext="EDGE001")
    headers = bearer("responses:read,metrics:read")
    everything = client.get("/api/v1/responses?limit=500", headers=headers).get_json()["items"]
    for since, expected in (
        ("0001-01-01T00:00:00%2B08:00", len(everything)),
        ("1970-01-01T00:00:00Z", len(everything)),
        ("9999-12-31T23:59:59-08:00", 0),
    ):
        reply = client.get(f"/api/v1/responses?limit=500&since={since}", headers=headers)
        assert reply.status_code == 200, (since, reply.get_json())
        assert len(reply.get_json()["items"]) == expected, since
    first = client.get("/api/v1/metrics/satisfaction?to=2000-01-01", headers=headers)
    assert (first.get_json()["from"], first.get_json()["to"]) == ("2000-01-01", "2000-01-01")


def test_metrics_rows_without_a_product_have_a_null_key(client):
    """Answers given for no particular product are grouped under null, not the empty string."""
    from tests.security import records

    records.answered(client, ext="EDGE002")
    headers = bearer("metrics:read")
    rows = client.get("/api/v1/metrics/satisfaction?group_by=product", headers=headers)
    keys = [row["product"] for row in rows.get_json()["rows"]]
    assert None in keys and "" not in keys


def test_empty_query_parameters_read_as_not_given(client):
    """CONTRACT.md writes the query as ``?survey_code=&invitation_id=&since=&cursor=``: a
    client filling that template with nothing asks for no filter (was a 422 for since= and
    invitation_id=, while survey_code= and cursor= were taken)."""
    from tests.security import records

    records.answered(client, ext="EDGE003")
    headers = bearer("responses:read,metrics:read")
    plain = client.get("/api/v1/responses", headers=headers).get_json()
    empty = client.get(
        "/api/v1/responses?survey_code=&invitation_id=&since=&cursor=&limit=", headers=headers
    )
    assert empty.status_code == 200, empty.get_json()
    assert empty.get_json()["items"] == plain["items"] and plain["items"]
    metrics = client.get("/api/v1/metrics/satisfaction?group_by=&from=&to=", headers=headers)
    assert metrics.status_code == 200, metrics.get_json()
    assert (
        metrics.get_json() == client.get("/api/v1/metrics/satisfaction", headers=headers).get_json()
    )
    still_bad = client.get("/api/v1/responses?since=yesterday", headers=headers)
    assert still_bad.status_code == 422 and "since" in still_bad.get_json()["error"]["fields"]


def test_a_link_whose_message_failed_reads_opened_once_opened(client):
    """No phone on file: the WeChat message fails, but the integrator has the link and passes
    it on; the customer opening it makes the invitation opened (it stayed failed)."""
    headers = bearer("invitations:write")
    body = {
        "survey_code": "branch-service",
        "customer": {"external_id": "NOPHONE1", "name": "孙八"},
        "channel": "wechat",
    }
    made = client.post("/api/v1/invitations", json=body, headers=headers)
    assert made.status_code == 201 and made.get_json()["status"] == "failed", made.get_json()
    assert client.get(urlsplit(made.get_json()["url"]).path).status_code == 200
    read = client.get(f"/api/v1/invitations/{made.get_json()['id']}", headers=headers)
    assert read.get_json()["status"] == "opened" and read.get_json()["opened_at"]


def test_a_failed_link_past_its_expiry_reads_expired(client):
    """Its link answers 410 once expired, and the API and the sweep say expired, not failed."""
    from app.services import invitations

    headers = bearer("invitations:write")
    body = {
        "survey_code": "branch-service",
        "customer": {"external_id": "NOPHONE2", "name": "周九"},
        "channel": "sms",
    }
    made = client.post("/api/v1/invitations", json=body, headers=headers).get_json()
    assert made["status"] == "failed"
    row = db.session.get(Invitation, made["id"])
    row.expires_at = utcnow() - timedelta(minutes=1)
    db.session.flush()
    assert client.get(urlsplit(made["url"]).path).status_code == 410
    read = client.get(f"/api/v1/invitations/{made['id']}", headers=headers).get_json()
    assert read["status"] == "expired"
    assert invitations.expire_overdue() >= 1
    db.session.refresh(row)
    assert row.status == "expired"


def test_a_time_with_an_offset_of_hours_only_is_read_as_iso_8601_allows(client):
    """ "+08", as PostgreSQL writes a time ("2026-12-01 10:00:00+08"), was a 422 where "+08:00"
    was taken; a date alone or a time without an offset is still refused."""
    headers = bearer("complaints:write,complaints:read")
    for n, sent in enumerate(("2026-12-01T10:00:00+08", "2026-12-01 10:00:00+08")):
        body = {**COMPLAINT, "external_ref": f"HOURS-{n}", "received_at": sent}
        created = client.post("/api/v1/complaints", json=body, headers=headers)
        assert created.status_code == 201, created.get_json()
        assert created.get_json()["received_at"] == "2026-12-01T10:00:00+08:00"
    for n, sent in enumerate(("2026-12-01", "2026-12-01T10:00:00", "2026-12-01T10:00:00+8")):
        body = {**COMPLAINT, "external_ref": f"HOURS-BAD-{n}", "received_at": sent}
        refused = client.post("/api/v1/complaints", json=body, headers=headers)
        assert refused.status_code == 422 and "received_at" in refused.get_json()["error"]["fields"]
    since = client.get(
        "/api/v1/responses",
        query_string={"since": "2026-12-01 10:00:00+08"},
        headers=bearer("responses:read"),
    )
    assert since.status_code == 200


def test_a_422_says_which_field_and_which_limit_in_its_message(client):
    """Every schema refusal said only "请求内容未通过校验"; the field and its reason (without the
    limit) were in ``fields`` alone, which a client logging ``message`` never saw."""
    headers = bearer("complaints:write")
    long = {**COMPLAINT, "content": "长" * 5001, "customer": {}}
    error = client.post("/api/v1/complaints", json=long, headers=headers).get_json()["error"]
    assert error["fields"]["content"] == "过长（最多 5000 字）"
    assert error["message"].startswith("请求内容未通过校验：")
    assert "content 过长（最多 5000 字）" in error["message"]
    wrong = {**COMPLAINT, "channel": "fax"}
    error = client.post("/api/v1/complaints", json=wrong, headers=headers).get_json()["error"]
    assert (
        "web、hotline" in error["fields"]["channel"]
        and "channel 取值无效（可选：" in error["message"]
    )
    query = client.get("/api/v1/responses?limit=501", headers=bearer("responses:read"))
    assert query.get_json()["error"]["message"] == "查询参数未通过校验：limit 数值过大（最大 500）"


def test_api_errors_of_the_router_speak_of_the_api_not_of_pages(client):
    headers = bearer("complaints:read")
    missing = client.get("/api/v1/complaint/1", headers=headers)
    assert missing.status_code == 404 and "接口地址不存在" in missing.get_json()["error"]["message"]
    wrong = client.delete("/api/v1/complaints", headers=headers)
    assert wrong.status_code == 405
    assert wrong.get_json()["error"]["message"] == "该接口地址不支持此请求方式"


def test_a_receipt_time_a_little_ahead_of_our_clock_is_taken_as_now(client):
    """A sending system's clock 100 s ahead (allowed: up to 5 minutes) was stored as sent: the
    case read as received after its own registration entry."""
    headers = bearer("complaints:write,complaints:read")
    ahead = (utcnow() + timedelta(seconds=100)).isoformat()
    body = {**COMPLAINT, "external_ref": "AHEAD-1", "received_at": ahead}
    created = client.post("/api/v1/complaints", json=body, headers=headers).get_json()
    # (both written in Beijing time, "+08:00": compared as text)
    assert created["received_at"] <= created["history"][0]["at"]


def test_responses_of_an_unknown_survey_code_are_a_422_not_an_empty_page(client):
    headers = bearer("responses:read")
    typo = client.get("/api/v1/responses?survey_code=branch-servce", headers=headers)
    assert typo.status_code == 422
    assert typo.get_json()["error"]["message"] == "未找到问卷：branch-servce"
    known = client.get("/api/v1/responses?survey_code=branch-service", headers=headers)
    assert known.status_code == 200 and known.get_json()["items"] == []


def test_an_event_or_invitation_may_name_a_known_customer_by_number_alone(client):
    """Complaints took ``customer: {external_id}`` for a known customer; events and invitations
    refused it (name required), and refused the customer fields PUT /customers takes."""
    from app.models import Customer

    known = factories.customer("HZ01", phone="13700003333")
    headers = bearer("events:write,invitations:write")
    event = {
        "type": "loan.disbursed",
        "customer": {"external_id": known.external_id},
        "occurred_at": utcnow().isoformat(),
    }
    accepted = client.post("/api/v1/events", json=event, headers=headers)
    assert accepted.status_code == 202, accepted.get_json()
    db.session.refresh(known)
    assert known.name and known.phone  # (the number alone changes nothing of the record)
    unknown = {**event, "customer": {"external_id": "NEW-NO-NAME"}}
    refused = client.post("/api/v1/events", json=unknown, headers=headers)
    assert refused.status_code == 422
    assert "customer.name" in refused.get_json()["error"]["fields"]
    assert db.session.scalar(select(Customer).where(Customer.external_id == "NEW-NO-NAME")) is None
    invite = {
        "survey_code": "branch-service",
        "channel": "sms",
        "customer": {
            "external_id": "NEW-FULL",
            "name": "钱七",
            "phone": "13700004444",
            "segment": "affluent",
        },
    }
    created = client.post("/api/v1/invitations", json=invite, headers=headers)
    assert created.status_code == 201, created.get_json()
    row = db.session.scalar(select(Customer).where(Customer.external_id == "NEW-FULL"))
    assert row.segment == "affluent"


def test_an_invitation_from_another_unit_does_not_move_a_known_customer(client):
    """An invitation with branch_code NJ01 moved a 杭州 customer there, out of its branch's
    scope; the unit places a new customer only."""
    from app.models import Customer

    known = factories.customer("HZ01", phone="13700005555")
    home = known.branch_id
    headers = bearer("invitations:write")
    invite = {"survey_code": "branch-service", "channel": "sms", "branch_code": "NJ01"}
    sent = client.post(
        "/api/v1/invitations", json={**invite, "customer": {"external_id": known.external_id}},
        headers=headers,
    )  # fmt: skip
    assert sent.status_code == 201, sent.get_json()
    db.session.refresh(known)
    assert known.branch_id == home
    new = {**invite, "customer": {"external_id": "NEW-NJ", "name": "孙八", "phone": "13700006666"}}
    assert client.post("/api/v1/invitations", json=new, headers=headers).status_code == 201
    placed = db.session.scalar(select(Customer).where(Customer.external_id == "NEW-NJ"))
    assert placed.branch.code == "NJ01"


def test_a_customers_own_unknown_branch_code_is_named_as_the_body_names_it(client):
    """An unknown ``customer.branch_code`` was reported as the top-level ``branch_code``, even
    in a body without one (contract audit)."""
    _, secret = factories.api_token("events:write,invitations:write")
    headers = {"Authorization": f"Bearer {secret}"}
    customer = {"external_id": "BRX1", "name": "钱七", "branch_code": "NOPE"}
    event = client.post(
        "/api/v1/events",
        json={
            "type": "account.opened",
            "customer": customer,
            "occurred_at": "2026-12-05T00:00:00Z",
        },
        headers=headers,
    )
    invitation = client.post(
        "/api/v1/invitations",
        json={"survey_code": "branch-service", "customer": customer, "channel": "sms"},
        headers=headers,
    )
    for reply in (event, invitation):
        assert reply.status_code == 422
        assert reply.get_json()["error"]["fields"] == {
            "customer.branch_code": "机构代码 NOPE 不存在"
        }


def test_the_staff_form_says_a_forwarded_case_is_registered_already(client, auth):
    """Typed in again under its number for the same complainant, the form redirected to the
    first case saying 已登记投诉 … 回执已发送, though nothing was registered or sent."""
    headers = bearer("complaints:write")
    customer = {"name": "吴九", "phone": "13600005555"}
    first = client.post(
        "/api/v1/complaints",
        json={**COMPLAINT, "regulator_ref": "JR-B-1", "customer": customer},
        headers=headers,
    )
    assert first.status_code == 201
    before = db.session.scalar(select(func.count(Complaint.id)))
    auth.login("hq")
    page = client.get("/staff/complaints/new").get_data(as_text=True)
    form = {
        "csrf_token": csrf_token(page), "channel": "regulator", "name": "吴九",
        "phone": "13600005555", "content": "监管转办：柜面重复登记的同一件投诉。",
        "branch_code": "HZ01", "product_code": "", "major_reason": "", "regulator_ref": "JR-B-1",
        "regulator_received_on": "", "received_at": "",
    }  # fmt: skip
    again = client.post("/staff/complaints/new", data=form)
    text = again.get_data(as_text=True)
    assert again.status_code == 400
    assert f"已登记为该投诉人的投诉 {first.get_json()['reference']}，本次未重复登记" in text
    assert "柜面重复登记的同一件投诉" in text  # (what was typed is kept)
    assert db.session.scalar(select(func.count(Complaint.id))) == before
    # another complainant forwarded under the same number is registered as a case of its own
    other = client.post(
        "/staff/complaints/new", data={**form, "name": "郑十", "phone": "13600006666"}
    )
    assert other.status_code == 302
    assert db.session.scalar(select(func.count(Complaint.id))) == before + 1
