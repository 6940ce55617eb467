"""Trigger rules limited to a product, a product category or a unit's subtree, and sampled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Branch, Invitation, Product, Survey, TriggerFiring, TriggerRule
from app.services import survey_triggers
from tests import factories
from tests.support import csrf_token


def bearer() -> dict[str, str]:
    _, secret = factories.api_token("events:write")
    return {"Authorization": f"Bearer {secret}"}


def _id(model, code: str) -> int:
    return db.session.scalar(select(model.id).where(model.code == code))


def _rule(event_type: str, survey_code: str = "loan-followup", **scope) -> TriggerRule:
    return survey_triggers.add_rule(
        event_type=event_type,
        survey_id=_id(Survey, survey_code),
        action="survey",
        channel="sms",
        delay_hours=1,
        **scope,
    )


def _post(client, headers, external_id: str, occurred: datetime, **where) -> list[dict]:
    reply = client.post(
        "/api/v1/events",
        json={
            "type": "loan.repaid",
            "customer": {"external_id": external_id, "name": "范围客户", "phone": "13700000099"},
            "occurred_at": occurred.isoformat(),
            **where,
        },
        headers=headers,
    )
    assert reply.status_code == 202, reply.get_json()
    return reply.get_json()["scheduled"]


def test_a_rule_takes_only_the_events_of_its_products_and_units(client):
    """One 还款 event type, two surveys: the loans asked at 南京分行 and below, the credit card
    anywhere; an event of neither gets neither, each rule saying why."""
    loans = _rule("loan.repaid", product_category="loan", branch_id=_id(Branch, "NJ"))
    card = _rule("loan.repaid", survey_code="credit-card", product_id=_id(Product, "CREDIT"))
    headers = bearer()
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

    def outcome(external_id: str, **where) -> dict[str, tuple[str, str]]:
        items = _post(client, headers, external_id, now, **where)
        return {i["survey_code"]: (i["kind"], i.get("reason_code", "")) for i in items}

    mortgage_nj = outcome("SC1", product_code="MORTGAGE", branch_code="NJ01")
    assert mortgage_nj == {
        "loan-followup": ("survey", ""),
        "credit-card": ("skipped", "out_of_scope"),
    }
    assert outcome("SC2", product_code="CREDIT", branch_code="NJ01") == {
        "loan-followup": ("skipped", "out_of_scope"),
        "credit-card": ("survey", ""),
    }
    elsewhere = _post(client, headers, "SC3", now, product_code="MORTGAGE", branch_code="HZ01")
    reasons = {i["survey_code"]: i["reason"] for i in elsewhere}
    assert reasons["loan-followup"] == "规则仅适用于南京分行及下属机构"
    assert reasons["credit-card"] == "规则仅适用于产品“信用卡”"
    unnamed = _post(client, headers, "SC4", now, branch_code="NJ01")  # (no product at all)
    assert {i["reason"] for i in unnamed} == {"规则仅适用于贷款类产品", reasons["credit-card"]}
    # an event a rule does not take leaves no record with it: not counted as its event
    taken = db.session.scalars(select(TriggerFiring.rule_id)).all()
    assert sorted(r for r in taken if r in (loans.id, card.id)) == sorted([loans.id, card.id])
    scheduled = db.session.scalars(
        select(Invitation).where(Invitation.source == "trigger", Invitation.created_at >= now)
    ).all()
    assert {(i.customer.external_id, i.survey.code) for i in scheduled} >= {
        ("SC1", "loan-followup"),
        ("SC2", "credit-card"),
    }
    assert not {i.customer.external_id for i in scheduled} & {"SC3", "SC4"}


def test_a_sampled_rule_acts_on_about_its_share_and_draws_a_retry_the_same_way(client):
    rule = _rule("loan.repaid", sample_percent=50)
    headers = bearer()
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    kinds = {}
    for n in range(120):
        [item] = _post(client, headers, f"SP{n:03}", occurred)
        kinds[n] = item
    chosen = [n for n, item in kinds.items() if item["kind"] == "survey"]
    left = [n for n, item in kinds.items() if item["kind"] != "survey"]
    assert 40 <= len(chosen) <= 80  # (mean 60, s.d. 5.5: every draw of 120 ids lands here)
    assert {kinds[n]["reason_code"] for n in left} == {"not_sampled"}
    assert "50%" in kinds[left[0]]["reason"]
    # a retry is answered as what the first one came to, sampled or not
    [again] = _post(client, headers, f"SP{left[0]:03}", occurred)
    assert again["reason_code"] == "duplicate_event"
    assert again["duplicate_of"] == {"kind": "skipped", "reason_code": "not_sampled"}
    [again] = _post(client, headers, f"SP{chosen[0]:03}", occurred)
    assert again["duplicate_of"]["kind"] == "survey"
    activity = survey_triggers.rule_activity([rule.id])[rule.id]
    assert (activity.events, activity.scheduled) == (120, len(chosen))
    assert activity.skipped == (("抽样未选中", len(left)),)


def test_the_draw_depends_on_the_event_not_on_how_its_time_is_written():
    rule = TriggerRule(id=7, sample_percent=30)
    aware = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    beijing = aware.astimezone(ZoneInfo("Asia/Shanghai"))
    draws = [survey_triggers.sampled(rule, c, aware) for c in range(1000)]
    assert draws == [survey_triggers.sampled(rule, c, beijing) for c in range(1000)]
    assert draws == [
        survey_triggers.sampled(rule, c, aware.replace(tzinfo=None)) for c in range(1000)
    ]
    assert 250 <= sum(draws) <= 350
    every = TriggerRule(id=7, sample_percent=100)
    assert all(survey_triggers.sampled(every, c, aware) for c in range(100))


def _form(client, **fields):
    token = csrf_token(client.get("/manager/triggers").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "event_type": "_custom",
        "custom_event": "loan.repaid",
        "survey_id": _id(Survey, "loan-followup"),
        "action": "survey",
        "channel": "sms",
        "delay_hours": "24",
    }
    return client.post("/manager/triggers", data={**data, **fields})


def test_the_rules_page_adds_and_shows_a_rule_s_scope(client, auth, db_session):
    auth.login("hq")
    page = client.get("/manager/triggers").get_data(as_text=True)
    assert '<option selected value="">全部产品</option>' in page
    assert "贷款类（全部）" in page and ">个人住房贷款</option>" in page
    nanjing = _id(Branch, "NJ")
    added = _form(client, product_scope="category:loan", branch_id=nanjing, sample_percent="20")
    assert added.status_code == 302
    rule = db_session.scalar(select(TriggerRule).where(TriggerRule.event_type == "loan.repaid"))
    assert (rule.product_category, rule.product_id, rule.branch_id, rule.sample_percent) == (
        "loan",
        None,
        nanjing,
        20,
    )
    mortgage = _id(Product, "MORTGAGE")
    assert _form(client, product_scope=f"product:{mortgage}").status_code == 302
    page = unescape(client.get("/manager/triggers").get_data(as_text=True))
    row = page.split("loan.repaid")[1].split("</tr>")[0]
    assert "贷款类产品" in row and "南京分行及下属机构" in row and "抽样 20%" in row
    assert "产品：个人住房贷款" in page.split("loan.repaid")[2].split("</tr>")[0]
    assert "全部事件" in page  # the demo's rules take every event of their type


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sample_percent": "0"}, "抽样比例须为 1–100 的整数"),
        ({"sample_percent": "101"}, "抽样比例须为 1–100 的整数"),
        ({"sample_percent": "一半"}, "不是有效的整数"),
        ({"product_scope": "product:999999"}, "不是有效的选择"),
        ({"product_scope": "category:gold"}, "不是有效的选择"),
        ({"branch_id": "999999"}, "不是有效的选择"),
    ],
)
def test_a_bad_scope_is_refused_and_nothing_is_added(client, auth, db_session, fields, message):
    auth.login("hq")
    before = db_session.scalar(select(func.count(TriggerRule.id)))
    refused = _form(client, **fields)
    assert refused.status_code == 400
    assert db_session.scalar(select(func.count(TriggerRule.id))) == before
    assert message in refused.text
