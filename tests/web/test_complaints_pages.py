"""The complaint desk pages: queue, scope, actions, optimistic locking, the public form."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Complaint
from app.services import complaints
from app.services.complaints import IntakeData
from tests.support import csrf_token

TEXT = "信用卡年费多收了三百元，客服一直推诿，要求退还并说明收费依据。"


def make(branch="HZ01"):
    complaint, _ = complaints.create_complaint(
        IntakeData(
            channel="hotline", content=TEXT, name="周静", phone="13612345678", branch_code=branch
        )
    )
    return complaint


def test_queue_lists_and_masks(client, auth):
    c = make()
    auth.login("agent")
    page = client.get("/staff/complaints?queue=all&q=" + c.reference).get_data(as_text=True)
    assert c.reference in page and "136****5678" in page and "13612345678" not in page


def test_queue_summary_masks_personal_data_in_the_text(client, auth):
    # a phone number inside the first 60 characters, another one straddling the cut
    text = "客户来电13712345678反映理财赎回延迟" + "，" * 23 + "回电请拨13998765432"
    c, _ = complaints.create_complaint(
        IntakeData(channel="hotline", content=text, name="周静", branch_code="HZ01")
    )
    auth.login("agent")
    page = client.get("/staff/complaints?queue=all&q=" + c.reference).get_data(as_text=True)
    assert c.reference in page and "137****5678" in page
    assert "13712345678" not in page and "1399876" not in page
    assert f'href="/staff/complaints/{c.id}"' in page


def test_other_branch_gets_404(client, auth):
    c = make("NJ01")
    auth.login("manager")  # Hangzhou branch manager
    assert client.get(f"/staff/complaints/{c.id}").status_code == 404
    auth.logout()
    auth.login("manager_nj")
    assert client.get(f"/staff/complaints/{c.id}").status_code == 200


def test_stale_form_keeps_input_and_explains(client, auth, db_session):
    c = make()
    auth.login("agent")
    page = client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
    token, version = csrf_token(page), c.version
    client.post(
        f"/staff/complaints/{c.id}/accept",
        data={"accept-csrf_token": token, "accept-version": version},
    )
    typed = "客户来电补充说明：扣费发生在十一月三日"
    response = client.post(
        f"/staff/complaints/{c.id}/note",
        data={
            "note-csrf_token": token,
            "note-version": version,
            "note-kind": "note",
            "note-text": typed,
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "已被他人修改" in body and typed in body


def test_public_form_creates_a_web_complaint_and_bad_input_is_explained(client, db_session):
    page = client.get("/complaint").get_data(as_text=True)
    bad = client.post(
        "/complaint",
        data={"csrf_token": csrf_token(page), "name": "吴", "phone": "123", "content": "短"},
    )
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "请填写 11 位手机号码" in text
    ok = client.post(
        "/complaint",
        data={
            "csrf_token": csrf_token(page),
            "name": "吴敏",
            "phone": "13700001234",
            "branch_code": "HZ02",
            "content": TEXT,
            "consent": "y",
        },
    )
    assert ok.status_code == 201
    ref = ok.get_data(as_text=True).split('pc-ref mono">')[1].split("<")[0]
    c = db_session.scalar(select(Complaint).where(Complaint.reference == ref))
    assert c.channel == "web" and c.branch.code == "HZ02"


def test_public_form_is_rate_limited(app, client):
    app.config["COMPLAINT_WEB_LIMIT"] = 1
    try:
        page = client.get("/complaint").get_data(as_text=True)
        data = {
            "csrf_token": csrf_token(page),
            "name": "吴敏",
            "phone": "13700001234",
            "content": TEXT,
            "consent": "y",
            "branch_code": "",
        }
        assert client.post("/complaint", data=data).status_code == 201
        second = client.post("/complaint", data=data)
        assert second.status_code == 429 and "提交过于频繁" in second.get_data(as_text=True)
    finally:
        app.config.pop("COMPLAINT_WEB_LIMIT")


def test_queue_page_costs_a_fixed_number_of_queries(client, auth, db_session):
    """Thirty rows or three: the same few statements (no query per row for its branch, handler
    or a column the list leaves in the database)."""
    from sqlalchemy import event

    for _ in range(3):
        make()
    auth.login("hq")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db_session.get_bind().engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for n, queue in enumerate(("all", "open", "unassigned")):
            statements.clear()
            page = client.get(f"/staff/complaints?queue={queue}")
            assert page.status_code == 200 and "cp-row" in page.text
            queries = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
            # the user with their branch and the list; the first view also counts the tabs
            # (then kept for seconds per worker) and reads the branch and staff names (kept
            # for a minute, app.services.names): never a query per row
            assert len(queries) <= (5 if n == 0 else 2), statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
