"""Control characters in a complaint's text and the complainant's name are dropped at intake, on
every path (API, staff entry, the customers' form, the mailbox): tabs and line breaks stay, a
text of nothing else is blank, and a NUL is still refused (400 on forms, 422 in the API)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Complaint, Customer
from app.services import complaint_mail, complaints
from app.services.complaints import IntakeData
from app.services.customers import printable_text
from app.services.errors import ValidationFailed
from tests import factories
from tests.support import csrf_token

# C0 (but tab, LF, CR), DEL and C1: ESC of a terminal colour, a bell, NEL, CSI
CONTENT = "信用卡\x1b[31m年费\x07多收\x7f三百元，\x85请退还。\t明细：\r\n第一笔\x9b、第二笔"
CLEAN = "信用卡[31m年费多收三百元，请退还。\t明细：\r\n第一笔、第二笔"
NAME, CLEAN_NAME = "\x02周\x1f静\x9f", "周静"


def test_printable_text_keeps_tabs_and_line_breaks_only():
    assert printable_text(CONTENT) == CLEAN
    assert printable_text(" \x01\x0b\x0c\x1c \x80 ") == "" and printable_text(None) == ""
    assert printable_text("a\u200bb") == "a\u200bb"  # (invisible characters: visible_text's)


def test_the_service_stores_text_and_names_without_control_characters(db_session):
    case, _ = complaints.create_complaint(
        IntakeData(
            channel="hotline",
            content=CONTENT,
            name=NAME,
            demand="退还\x1b年费\x08",
            external_id="CTL-0001",
            branch_code="HZ01",
        )
    )
    assert (case.content, case.complainant_name, case.demand) == (CLEAN, CLEAN_NAME, "退还年费")
    customer = db_session.scalar(select(Customer).where(Customer.external_id == "CTL-0001"))
    assert customer.name == CLEAN_NAME
    with pytest.raises(ValidationFailed, match="请填写投诉内容"):
        complaints.create_complaint(
            IntakeData(channel="hotline", content="\x01\x02\x7f\x9c", name="周静")
        )
    with pytest.raises(ValidationFailed, match="请填写投诉人姓名"):
        complaints.create_complaint(IntakeData(channel="hotline", content=CLEAN, name="\x1b\x7f"))
    with pytest.raises(ValidationFailed, match="无法保存的字符"):  # (a NUL is refused, as before)
        complaints.create_complaint(IntakeData(channel="hotline", content="a\x00b", name="周静"))


def test_the_api_stores_them_stripped_and_still_refuses_a_nul(client):
    _, secret = factories.api_token("complaints:write")
    headers = {"Authorization": f"Bearer {secret}"}
    body = {"channel": "app", "content": CONTENT, "customer": {"name": NAME}}
    created = client.post("/api/v1/complaints", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    case = db.session.get(Complaint, created.get_json()["id"])
    assert (case.content, case.complainant_name) == (CLEAN, CLEAN_NAME)
    nul = client.post("/api/v1/complaints", json={**body, "content": "a\x00b"}, headers=headers)
    assert nul.status_code == 422 and nul.get_json()["error"]["fields"]["content"]


def test_the_staff_form_stores_them_stripped(client, auth):
    auth.login("agent")
    page = client.get("/staff/complaints/new").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "channel": "hotline",
        "name": NAME,
        "branch_code": "HZ01",
        "product_code": "",
        "major_reason": "",
        "content": CONTENT,
    }
    done = client.post("/staff/complaints/new", data=data)
    assert done.status_code == 302, done.get_data(as_text=True)[-500:]
    case = db.session.get(Complaint, int(done.headers["Location"].rsplit("/", 1)[1]))
    assert (case.content, case.complainant_name) == (CLEAN, CLEAN_NAME)
    nul = client.post("/staff/complaints/new", data={**data, "content": "年费\x00多收"})
    assert nul.status_code == 400


def test_the_customers_form_stores_them_stripped(client):
    page = client.get("/complaint").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "name": NAME,
        "phone": "13700004321",
        "branch_code": "",
        "content": CONTENT,
        "consent": "y",
    }
    done = client.post("/complaint", data=data)
    assert done.status_code == 201, done.get_data(as_text=True)[-500:]
    ref = done.get_data(as_text=True).split('pc-ref mono">')[1].split("<")[0]
    case = db.session.scalar(select(Complaint).where(Complaint.reference == ref))
    # (the form stores a line break as the customer typed it, once: browsers send CR LF)
    assert (case.content, case.complainant_name) == (CLEAN.replace("\r\n", "\n"), CLEAN_NAME)


def test_the_mailbox_stores_them_stripped(db_session, tmp_path):
    msg = EmailMessage()
    msg["From"] = "赵六 <zhao6@example.com>"
    msg["Subject"] = "理财产品亏损投诉"
    msg["Message-ID"] = "<ctl-1@example.com>"
    msg.set_content("理财经理说\x1b保本\x07，现在亏损\x85五万元。")
    (tmp_path / "ctl.eml").write_bytes(bytes(msg))
    ref = complaint_mail.import_mail(tmp_path).created[0]
    case = db_session.scalar(select(Complaint).where(Complaint.reference == ref))
    assert case.content == "理财产品亏损投诉\n理财经理说保本，现在亏损五万元。"
