"""CONTRACT.md complaint endpoints: intake, idempotent retries, status history, errors."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from tests import factories


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


BODY = {
    "channel": "app",
    "content": "手机银行转账显示成功但对方一直没有到账，客服电话也打不通，请尽快处理。",
    "customer": {"external_id": "C00000003", "name": "王芳", "phone": "13912345678"},
    "branch_code": "HZ01",
    "external_ref": "APP-20261122-0001",
    "received_at": "2026-11-22T09:30:00+08:00",
}


def test_create_returns_201_with_reference_and_due_date(client):
    _, secret = factories.api_token("complaints:write,complaints:read")
    response = client.post("/api/v1/complaints", json=BODY, headers=bearer(secret))
    assert response.status_code == 201, response.get_data(as_text=True)
    data = response.get_json()
    assert data["reference"].startswith("TS20261122-")
    assert data["status"] == "received"
    assert data["received_at"] == "2026-11-22T09:30:00+08:00"
    assert data["due_at"] == "2026-12-07T23:59:59+08:00"
    assert data["branch_code"] == "HZ01"
    assert data["customer_external_id"] == "C00000003"
    assert data["decided_at"] is None and data["decision_notified_at"] is None
    assert data["code_business"]  # pre-filled from the text (转账 -> payment)
    assert [h["to_status"] for h in data["history"] if h["kind"] == "status"] == ["received"]


def test_same_channel_and_external_ref_returns_the_first_complaint(client):
    _, secret = factories.api_token("complaints:write")
    first = client.post("/api/v1/complaints", json=BODY, headers=bearer(secret))
    again = client.post(
        "/api/v1/complaints", json={**BODY, "content": "重复提交"}, headers=bearer(secret)
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    other_channel = client.post(
        "/api/v1/complaints", json={**BODY, "channel": "wechat"}, headers=bearer(secret)
    )
    assert other_channel.status_code == 201
    assert other_channel.get_json()["id"] != first.get_json()["id"]


def test_the_same_key_for_another_customer_is_refused_not_answered_with_the_first(client):
    """A reused reference returned the first customer's case with 200: the second complaint
    was lost unseen, and a write-only caller was shown someone else's case."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models.complaint import Complaint

    _, secret = factories.api_token("complaints:write")
    first = client.post("/api/v1/complaints", json=BODY, headers=bearer(secret))
    assert first.status_code == 201
    before = db.session.scalar(select(func.count()).select_from(Complaint))
    for customer in (
        {"external_id": "OTHER-999", "name": "另一位客户", "phone": "13100000000"},
        {"name": "另一位客户", "phone": "13100000000"},  # (no customer number: by phone)
    ):
        other = {**BODY, "content": "理财产品销售误导，要求赔偿。", "customer": customer}
        refused = client.post("/api/v1/complaints", json=other, headers=bearer(secret))
        assert refused.status_code == 409, customer
        error = refused.get_json()["error"]
        assert error["code"] == "conflict" and "已用于另一位客户的投诉" in error["message"]
        assert error["fields"] == {"external_ref": error["message"]}
        assert "手机银行转账" not in refused.get_data(as_text=True)  # (nothing of the first)
    assert db.session.scalar(select(func.count()).select_from(Complaint)) == before
    # a retry naming the customer by more than the first did (a number, a phone) is a retry
    plain = {**BODY, "external_ref": "Y-1", "customer": {"name": "王五"}}
    made = client.post("/api/v1/complaints", json=plain, headers=bearer(secret))
    fuller = {**plain, "customer": {"name": "王五", "phone": "13911112222", "external_id": "C-W5"}}
    again = client.post("/api/v1/complaints", json=fuller, headers=bearer(secret))
    assert (made.status_code, again.status_code) == (201, 200)
    # the same customer named by phone alone, and by name alone, is a retry
    for name_only in (False, True):
        body = {**BODY, "external_ref": f"APP-PHONE-{name_only}"}
        body["customer"] = {"name": "王芳"} | ({} if name_only else {"phone": "13912345678"})
        made = client.post("/api/v1/complaints", json=body, headers=bearer(secret))
        again = client.post("/api/v1/complaints", json=body, headers=bearer(secret))
        assert (made.status_code, again.status_code) == (201, 200)
        assert again.get_json()["id"] == made.get_json()["id"]


def test_a_forwarded_case_sent_again_under_the_regulator_s_number_is_a_retry(client):
    """Without an external_ref, the regulator's reference is the key: a forwarded case sent
    twice was registered, and counted in the regulator's figures, twice."""
    _, secret = factories.api_token("complaints:write")
    body = {**BODY, "channel": "regulator", "regulator_ref": "JR-2026-009999"}
    del body["external_ref"]
    first = client.post("/api/v1/complaints", json=body, headers=bearer(secret))
    again = client.post("/api/v1/complaints", json=body, headers=bearer(secret))
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    # a case first sent with the number as its external_ref is found by it too
    keyed = {**body, "regulator_ref": None, "external_ref": "JR-2026-008888"}
    made = client.post("/api/v1/complaints", json=keyed, headers=bearer(secret))
    by_number = {**body, "regulator_ref": "JR-2026-008888"}
    found = client.post("/api/v1/complaints", json=by_number, headers=bearer(secret))
    assert (made.status_code, found.status_code) == (201, 200)
    assert found.get_json()["id"] == made.get_json()["id"]
    # sent again with an external_ref of its own, or the number typed full-width: the same
    again = {**body, "external_ref": "E-B-1", "regulator_ref": "ＪＲ－２０２６－００９９９９"}
    found = client.post("/api/v1/complaints", json=again, headers=bearer(secret))
    assert found.status_code == 200 and found.get_json()["id"] == first.get_json()["id"]
    # another complainant under the same number (a group forwarded in one letter): a case
    other = {**body, "customer": {"external_id": "OTHER-1", "name": "另一位客户"}}
    own = client.post("/api/v1/complaints", json=other, headers=bearer(secret))
    assert own.status_code == 201 and own.get_json()["id"] != first.get_json()["id"]
    assert own.get_json()["regulator_ref"] == "JR-2026-009999"


def test_get_returns_status_history(client):
    _, secret = factories.api_token("complaints:write,complaints:read")
    created = client.post("/api/v1/complaints", json=BODY, headers=bearer(secret)).get_json()
    response = client.get(f"/api/v1/complaints/{created['id']}", headers=bearer(secret))
    assert response.status_code == 200
    data = response.get_json()
    assert data["reference"] == created["reference"]
    kinds = [h["kind"] for h in data["history"]]
    assert kinds[0] == "status" and "notice" in kinds  # acknowledgement sent
    datetime.fromisoformat(data["history"][0]["at"])
    # the answer to the POST is built from the rows it wrote, and shows what a read shows
    assert created == data
    assert created["reference"] == f"TS20261122-{created['id']:06d}"


def test_major_complaint_answer_includes_its_escalation(client):
    _, secret = factories.api_token("complaints:write,complaints:read")
    body = {**BODY, "channel": "branch", "external_ref": "BR-MAJOR-1", "group_size": 25}
    created = client.post("/api/v1/complaints", json=body, headers=bearer(secret)).get_json()
    assert created["is_major"] and "escalated" in [h["kind"] for h in created["history"]]
    assert created["major_reason"] == "group"
    # Art. 29 names groups complaining in person: 25 customers writing in through the app are a
    # group complaint (staff may designate it major), not a major one by themselves
    remote = {**BODY, "external_ref": "APP-GROUP-1", "group_size": 25}
    by_app = client.post("/api/v1/complaints", json=remote, headers=bearer(secret)).get_json()
    assert (by_app["is_major"], by_app["group_size"]) == (False, 25)
    assert "escalated" not in [h["kind"] for h in by_app["history"]]
    read = client.get(f"/api/v1/complaints/{created['id']}", headers=bearer(secret)).get_json()
    assert read == created


def test_unknown_complaint_is_json_404(client):
    _, secret = factories.api_token("complaints:read")
    for missing in ("999999", "2147483647", "abc"):
        response = client.get(f"/api/v1/complaints/{missing}", headers=bearer(secret))
        assert response.status_code == 404
        # an API token sees the whole bank: no "或不在您的管辖范围内" (not in your jurisdiction)
        assert response.get_json()["error"] == {"code": "not_found", "message": "投诉不存在"}


def test_a_case_outside_a_branch_users_scope_still_says_so(client, auth):
    """Staff of a branch are told a case may be outside their scope (the API is not)."""
    from app.models import Role

    _, secret = factories.api_token("complaints:write")
    elsewhere = {**BODY, "external_ref": "APP-SCOPE-1", "branch_code": "NJ01"}
    created = client.post("/api/v1/complaints", json=elsewhere, headers=bearer(secret))
    agent = factories.user(Role.AGENT, "HZ01")
    auth.login(agent.username)
    for case in (created.get_json()["id"], 999999):
        page = client.get(f"/staff/complaints/{case}")
        assert page.status_code == 404
        assert "投诉不存在或不在您的管辖范围内" in page.get_data(as_text=True)


def test_scopes_are_enforced(client):
    _, read_only = factories.api_token("complaints:read")
    response = client.post("/api/v1/complaints", json=BODY, headers=bearer(read_only))
    assert response.status_code == 403
    assert client.post("/api/v1/complaints", json=BODY).status_code == 401


def test_bad_input_is_a_json_4xx_and_writes_nothing(client, db_session):
    from sqlalchemy import func, select

    from app.models import Complaint

    _, secret = factories.api_token("complaints:write")
    before = db_session.scalar(select(func.count(Complaint.id)))
    cases = [
        {**BODY, "channel": "fax"},
        {**BODY, "content": ""},
        {**BODY, "content": "含有\u0000字符"},
        {**BODY, "received_at": "2026-11-22T09:30:00"},
        {**BODY, "received_at": "2999-01-01T00:00:00+08:00"},
        {**BODY, "branch_code": "XX99"},
        {**BODY, "received_at": "1900-01-01T00:00:00+08:00"},
        {**BODY, "unknown": 1},
    ]
    for body in cases:
        response = client.post("/api/v1/complaints", json=body, headers=bearer(secret))
        assert 400 <= response.status_code < 500, body
        assert response.get_json()["error"]["message"]
    assert db_session.scalar(select(func.count(Complaint.id))) == before


def test_openapi_lists_the_complaint_endpoints(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert "post" in paths["/api/v1/complaints"]
    assert any(p.startswith("/api/v1/complaints/{") for p in paths)


def test_errors_about_the_customer_name_the_body_field_they_came_from(client):
    _, secret = factories.api_token("complaints:write")
    short_phone = {**BODY, "external_ref": None, "customer": {"name": "王芳", "phone": "123"}}
    reply = client.post("/api/v1/complaints", json=short_phone, headers=bearer(secret))
    assert reply.status_code == 422
    assert set(reply.json["error"]["fields"]) == {"customer.phone"}
    unknown = {**BODY, "external_ref": None, "customer": {"external_id": "NEW-NO-NAME"}}
    reply = client.post("/api/v1/complaints", json=unknown, headers=bearer(secret))
    assert reply.status_code == 422
    assert set(reply.json["error"]["fields"]) == {"customer.name"}
    assert "姓名" in reply.json["error"]["fields"]["customer.name"]


def test_a_read_complaint_carries_its_text_with_personal_data_masked(client):
    _, secret = factories.api_token("complaints:write,complaints:read")
    body = {
        **BODY,
        "external_ref": "APP-MASK-1",
        "content": "我的卡号6222021234567894被冻结，请回电13812345678",
        "demand": "请发邮件到 zhang.san@example.com 说明原因",
    }
    created = client.post("/api/v1/complaints", json=body, headers=bearer(secret)).get_json()
    data = client.get(f"/api/v1/complaints/{created['id']}", headers=bearer(secret)).get_json()
    assert data["content"] == "我的卡号6222********7894被冻结，请回电138****5678"
    assert data["demand"] == "请发邮件到 z***@example.com 说明原因"
    assert "13812345678" not in str(data) and "6222021234567894" not in str(data)


def test_history_texts_are_masked_like_the_content(client):
    """A decision, a contact record or a notice written by staff may quote the customer's phone,
    ID or card number; the API shows them masked, as the case page does."""
    from app.models import Role
    from app.services import complaint_handling as handling

    _, secret = factories.api_token("complaints:write,complaints:read")
    body = {**BODY, "external_ref": "APP-PII-HISTORY"}
    created = client.post("/api/v1/complaints", json=body, headers=bearer(secret)).get_json()
    hq = factories.user(Role.HQ_MANAGER, "HO")
    card, id_number = "6222021234567890128", "11010519491231002X"
    handling.accept(created["id"], actor=hq)
    handling.add_note(
        created["id"], actor=hq, kind="contact", text=f"已致电13655556666，身份证{id_number}"
    )
    handling.decide(
        created["id"],
        actor=hq,
        decision=handling.Decision(
            "经核实扣费有误", "依据借记卡章程", f"退还 20 元至卡号{card}", ("review",), "callback"
        ),
    )
    assert created["identity_check"] is None  # (not checked when it came in)
    read = client.get(f"/api/v1/complaints/{created['id']}", headers=bearer(secret))
    assert read.get_json()["identity_check"] == "callback"  # (stated with the decision)
    texts = " ".join(h["text"] or "" for h in read.get_json()["history"])
    assert "136****6666" in texts and "6222***********0128" in texts
    for number in ("13655556666", card, id_number):
        assert number not in read.get_data(as_text=True)


def test_text_of_only_invisible_characters_is_blank(client):
    """Zero-width spaces, joiners or a BOM show nothing: such a complaint text is refused, and
    such a name of a known customer is replaced by the customer's own."""
    from app.extensions import db
    from app.models import Complaint

    _, secret = factories.api_token("complaints:write")
    invisible = "\u200b \u200d\ufeff"
    empty = client.post(
        "/api/v1/complaints",
        json={**BODY, "external_ref": "APP-ZW-1", "content": invisible},
        headers=bearer(secret),
    )
    assert empty.status_code == 422
    assert empty.get_json()["error"]["fields"] == {"content": "请填写投诉内容"}
    anonymous = client.post(
        "/api/v1/complaints",
        json={**BODY, "external_ref": "APP-ZW-2", "customer": {"name": invisible}},
        headers=bearer(secret),
    )
    assert anonymous.get_json()["error"]["fields"] == {"customer.name": "请填写投诉人姓名"}
    known = factories.customer(name="欧阳娜娜", external_id="C00ZW001")
    created = client.post(
        "/api/v1/complaints",
        json={**BODY, "external_ref": "APP-ZW-3", "customer": {"external_id": known.external_id,
                                                              "name": invisible}},
        headers=bearer(secret),
    )  # fmt: skip
    assert created.status_code == 201
    assert db.session.get(Complaint, created.get_json()["id"]).complainant_name == "欧阳娜娜"


def test_a_read_complaint_says_how_it_is_being_handled(client):
    """An integrator showing a case (the hotline's screen, the regulator's portal) needs more
    than the status and the history's words: the regulator's reference, which period applies,
    the days not counted, the decision and the remedies the customer was told of, and the case a
    repeat was merged into."""
    from datetime import timedelta

    from app.models import utcnow
    from app.services import complaint_casework, complaint_handling

    _, secret = factories.api_token("complaints:write,complaints:read")
    received = (utcnow() - timedelta(days=10)).astimezone().isoformat()
    body = {**BODY, "channel": "regulator", "external_ref": "JR-2026-0042", "received_at": received}
    created = client.post("/api/v1/complaints", json=body, headers=bearer(secret)).get_json()
    assert created["regulator_ref"] == "JR-2026-0042" and created["status_label"] == "待受理"
    assert (created["extension_level"], created["period_days"]) == (0, 15)
    assert created["pauses"] == [] and created["decision"] is None
    agent = factories.user(branch_code="HZ")
    c = created["id"]
    complaint_handling.accept(c, actor=agent)
    complaint_handling.extend(c, actor=agent, level=1, reason="需调取监控录像")
    today = complaint_handling.clock.local_date(utcnow())
    complaint_handling.pause(c, actor=agent, kind="mediation", reason="客户申请调解", on=today)
    complaint_handling.resume(c, actor=agent, on=today + timedelta(days=0))
    decision = complaint_handling.Decision(
        "调取了交易流水，客户电话13912345678",
        "依据服务协议",
        "退还手续费",
        ("review", "mediation"),
        "callback",
    )
    complaint_handling.decide(c, actor=agent, decision=decision)
    data = client.get(f"/api/v1/complaints/{c}", headers=bearer(secret)).get_json()
    assert (data["extension_level"], data["period_days"]) == (1, 30)
    assert data["pauses"] == [{"start": today.isoformat(), "end": today.isoformat()}]
    assert data["decision"]["text"] == "退还手续费"
    assert data["decision"]["remedies"] == ["review", "mediation"]
    assert "13912345678" not in data["decision"]["verified"]  # masked like the content
    assert data["status_label"] == "已作出处理决定" and data["merged_into"] is None
    repeat = client.post(
        "/api/v1/complaints",
        json={**BODY, "external_ref": "APP-REPEAT-1", "received_at": received},
        headers=bearer(secret),
    ).get_json()
    first = client.post(
        "/api/v1/complaints",
        json={**BODY, "external_ref": "APP-FIRST-1", "received_at": received},
        headers=bearer(secret),
    ).get_json()
    complaint_casework.merge(
        repeat["id"], first["id"], actor=agent, new_facts=False, note="同一事项重复投诉"
    )
    merged = client.get(f"/api/v1/complaints/{repeat['id']}", headers=bearer(secret)).get_json()
    assert merged["merged_into"] == first["reference"]


def test_a_name_of_only_direction_marks_is_blank_and_nothing_is_stored(client):
    """An outside audit: a name of RLM, LRM and a zero-width space was taken (201), while the
    same marks alone as the complaint text were refused. Every invisible format character
    counts as blank, for the name as for the text."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Complaint, Customer

    _, secret = factories.api_token("complaints:write")
    counts = (select(func.count(Complaint.id)), select(func.count(Customer.id)))
    before = [db.session.scalar(q) for q in counts]
    unknown = "客户号未找到，请填写投诉人姓名"
    for n, marks in enumerate(("\u200f\u200e\u200b", "\u202e\u2066\u2069", "\u00ad\u2061")):
        for customer, field, message in (
            ({"name": marks}, "customer.name", "请填写投诉人姓名"),
            ({"name": marks, "external_id": f"NEW-{n}"}, "customer.name", unknown),
            ({"name": "王芳"}, "content", "请填写投诉内容"),
        ):
            body = {**BODY, "external_ref": f"APP-MARKS-{n}", "customer": customer}
            if field == "content":
                body["content"] = f" {marks} "
            reply = client.post("/api/v1/complaints", json=body, headers=bearer(secret))
            assert reply.status_code == 422, reply.get_json()
            assert reply.get_json()["error"]["fields"] == {field: message}
    assert [db.session.scalar(q) for q in counts] == before


def test_direction_overrides_are_not_stored_in_names_texts_or_refs(client):
    """A right-to-left override makes "gpj.exe" read "exe.jpg" and a name or a text read
    backwards on a staff page; as in attachment names, the overrides, embeddings and isolates
    are dropped (other characters, the joiner inside an emoji sequence included, are kept), and
    a retry with the marks is the same complaint."""
    from app.extensions import db
    from app.models import Complaint, Customer

    _, secret = factories.api_token("complaints:write")
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    body = {
        **BODY,
        "channel": "regulator",
        "external_ref": "\u202eYJ-2026-0099\u202c",
        "content": f"\u2067扣费有误\u2069，请退还{family}",
        "customer": {"external_id": "C-BIDI-1", "name": "\u202d王\u200b芳\u202c"},
    }
    created = client.post("/api/v1/complaints", json=body, headers=bearer(secret))
    assert created.status_code == 201, created.get_json()
    row = db.session.get(Complaint, created.get_json()["id"])
    assert row.external_ref == row.regulator_ref == "YJ-2026-0099"
    assert row.content == f"扣费有误，请退还{family}"
    assert row.complainant_name == row.customer.name == "王\u200b芳"
    assert db.session.get(Customer, row.customer_id).external_id == "C-BIDI-1"
    plain = {**body, "external_ref": "YJ-2026-0099"}
    again = client.post("/api/v1/complaints", json=plain, headers=bearer(secret))
    assert again.status_code == 200 and again.get_json()["id"] == row.id


def test_period_days_follows_a_review(client):
    """During a review (核查) due_at is 30 days from the request, but period_days still said
    15: an integrator counting the deadline from it got the wrong day."""
    from app.models import utcnow
    from app.services import complaint_clock as clock
    from app.services import complaint_handling

    c = factories.accepted_complaint(5, "信用卡年费未经同意扣收，要求退还。")
    agent = factories.user(branch_code="HZ")
    decision = complaint_handling.Decision(
        "调取了账单和办卡录音", "依据领用合约第五条", "退还年费", ("review",), "callback"
    )
    complaint_handling.decide(c.id, actor=agent, decision=decision)
    complaint_handling.record_notice(
        c.id, actor=agent, method="phone", purpose="decision", outcome="reached"
    )
    _, secret = factories.api_token("complaints:read")
    before = client.get(f"/api/v1/complaints/{c.id}", headers=bearer(secret)).get_json()
    assert before["period_days"] == 15
    today = clock.local_date(utcnow())
    complaint_handling.request_review(c.id, actor=agent, requested_on=today, reason="书面申请核查")
    during = client.get(f"/api/v1/complaints/{c.id}", headers=bearer(secret)).get_json()
    assert during["status"] == "review_requested" and during["period_days"] == 30
    due = datetime.fromisoformat(during["due_at"]).date()
    assert due == date.fromisoformat(during["review_requested_on"]) + timedelta(days=30)
