"""Which unit a complaint entered by staff belongs to when the clerk names none: the customer's,
if it lies in the clerk's unit; otherwise the clerk's own (first-contact handling), so that the
clerk can open the case just saved."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Complaint, Customer, User
from tests import factories
from tests.support import csrf_token


def _enter(client, external_id: str) -> Complaint:
    page = client.get("/staff/complaints/new").get_data(as_text=True)
    assert "客户不在本机构辖内或无法确定客户时，记在本机构" in page
    data = {
        "csrf_token": csrf_token(page),
        "channel": "branch",
        "name": "柜面客户",
        "external_id": external_id,
        "branch_code": "",
        "product_code": "",
        "major_reason": "",
        "content": "在柜台办理转账时被多收了手续费，要求退还",
    }
    done = client.post("/staff/complaints/new", data=data)
    assert done.status_code == 302, done.get_data(as_text=True)[-500:]
    case = db.session.get(Complaint, int(done.headers["Location"].rsplit("/", 1)[1]))
    assert client.get(done.headers["Location"]).status_code == 200  # the clerk sees the case
    return case


@pytest.mark.parametrize(
    ("customer_branch", "expected"),
    [(None, "own"), ("NJ01", "own"), ("HZ01", "HZ01")],
    ids=["unknown customer", "customer of another subtree", "customer of the clerk's unit"],
)
def test_an_agents_case_without_a_branch_stays_in_the_agents_unit(
    client, auth, customer_branch, expected
):
    agent = db.session.scalar(select(User).where(User.username == "agent"))
    number = f"E{customer_branch or 'NEW'}0001"
    if customer_branch:
        factories.customer(customer_branch, external_id=number)
    auth.login("agent")
    case = _enter(client, number)
    assert case.branch.code == (agent.branch.code if expected == "own" else expected)
    same = select(func.count(Customer.id)).where(Customer.external_id == number)
    assert db.session.scalar(same) == 1  # the customer is found, or made once; never twice


def test_head_office_staff_keep_the_customers_unit(client, auth):
    """Every unit lies under head office: its clerks' cases go to the customer's unit."""
    factories.customer("NJ01", external_id="EHQ0001")
    auth.login("hq")
    assert _enter(client, "EHQ0001").branch.code == "NJ01"


def _entry(client, **fields) -> dict:
    page = client.get("/staff/complaints/new").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "channel": "hotline",
        "name": "",
        "external_id": "",
        "phone": "",
        "branch_code": "",
        "product_code": "",
        "major_reason": "",
        "content": "来电反映信用卡年费被重复收取，要求退还",
    }
    data.update(fields)
    return data


@pytest.mark.parametrize("by", ["external_id", "phone"])
def test_a_clerk_never_gets_another_units_customers_contact_data_onto_a_case(client, auth, by):
    """The customer is linked, but their phone and e-mail (revealable on the case) are only
    copied for a clerk who may read that customer: else any clerk could harvest the bank's
    customers one bogus complaint at a time."""
    other = factories.customer("NJ01", external_id="ENJ0002", phone="13977001102")
    other.set_contact(email="other.unit@example.com")
    own = factories.customer("HZ01", external_id="EHZ0002", phone="13208950268")
    own.set_contact(email="own.unit@example.com")
    db.session.commit()
    auth.login("agent")
    key = {"external_id": "ENJ0002"} if by == "external_id" else {"phone": "13977001102"}
    done = client.post("/staff/complaints/new", data=_entry(client, name="张三", **key))
    assert done.status_code == 302, done.get_data(as_text=True)[-500:]
    case = db.session.get(Complaint, int(done.headers["Location"].rsplit("/", 1)[1]))
    assert case.customer_id == other.id  # linked for the bank's records
    assert case.complainant_email is None
    assert case.complainant_phone == (None if by == "external_id" else "13977001102")
    shown = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "o***@example.com" not in shown
    if by == "external_id":
        assert "139****1102" not in shown
    # a customer of the clerk's own unit still fills in what was left blank
    done = client.post(
        "/staff/complaints/new", data=_entry(client, name="王五", external_id="EHZ0002")
    )
    assert done.status_code == 302, done.get_data(as_text=True)[-500:]
    case = db.session.get(Complaint, int(done.headers["Location"].rsplit("/", 1)[1]))
    assert (case.complainant_name, case.complainant_phone, case.complainant_email) == (
        "王五",
        "13208950268",
        "own.unit@example.com",
    )
