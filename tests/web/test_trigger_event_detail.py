"""What an integrator says of a business event (its unit, product and attributes) is kept with
each rule's record of it, texts redacted and bounded, and shown beside the call or the answers
it led to: the agent calling about a card issued sees which card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Survey, TriggerFiring
from app.services import survey_triggers
from tests.web.test_trigger_scope import _id, _post, _rule, bearer


def _event(client, external_id: str, attributes: dict, **where) -> list[dict]:
    occurred = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    return _post(client, bearer(), external_id, occurred, attributes=attributes, **where)


def test_the_call_shows_the_event_that_led_to_it_with_personal_data_masked(client, auth):
    survey_triggers.add_rule(
        event_type="loan.repaid",
        survey_id=_id(Survey, "credit-card"),
        action="visit",
        channel="sms",
        delay_hours=0,
    )
    db.session.commit()
    attributes = {
        "card_level": "白金卡",
        "credit_limit": 50000,
        "auto_repay": True,
        "note": "客户留的备用电话13812345678，身份证11010519491231002X",
        "remark": "长" * 500,
        "empty": None,
        "mobile_number": 13912345678,  # (systems send numbers as JSON numbers too)
        "id_number": 330106199001011234,
        "big": 1e20,
    }
    [item] = _event(client, "EV1", attributes, product_code="CREDIT", branch_code="HZ01")
    assert item["kind"] == "visit"
    firing = db.session.scalar(select(TriggerFiring).where(TriggerFiring.followup_id == item["id"]))
    kept = firing.event["attributes"]
    assert kept["credit_limit"] == 50000 and kept["auto_repay"] is True and kept["empty"] is None
    assert "13812345678" not in kept["note"] and "138****5678" in kept["note"]
    assert "11010519491231002X" not in kept["note"]
    assert kept["remark"] == "长" * survey_triggers.ATTRIBUTE_CHARS + "…"  # (cut, and says so)
    assert kept["mobile_number"] == "139****5678" and "199001" not in kept["id_number"]
    assert firing.event["product"] == "信用卡" and firing.event["branch_code"] == "HZ01"

    auth.login("hq")
    page = client.get(f"/staff/followups/{item['id']}").get_data(as_text=True)
    assert "触发事件" in page and "产品：信用卡" in page and "机构：西湖支行" in page
    assert "白金卡" in page and "50000" in page and "138****5678" in page
    assert "13812345678" not in page and "13912345678" not in page
    assert "auto_repay</span>：是" in page and "big</span>：100000000000000000000" in page


def test_an_event_keeps_its_first_attributes_only_and_a_survey_shows_its_event(client):
    _rule("loan.repaid", survey_code="credit-card")
    many = {f"k{n:02d}": n for n in range(50)}
    [item] = _event(client, "EV2", many)
    assert item["kind"] == "survey"
    shown = survey_triggers.event_of(invitation_id=item["id"])
    assert shown.dropped == 50 - survey_triggers.ATTRIBUTES_KEPT  # (the page says how many)
    assert shown is not None and shown.label == "loan.repaid"  # (a type without a label)
    assert [k for k, _ in shown.attributes] == [
        f"k{n:02d}" for n in range(survey_triggers.ATTRIBUTES_KEPT)
    ]
    assert shown.product is None and shown.branch is None  # the event named neither
    assert survey_triggers.event_of(followup_id=-1) is None  # not scheduled by an event


def test_nested_or_unnamed_attributes_are_refused_with_a_message_that_says_why(client):
    occurred = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    for attributes, message in (
        ({"loan": {"no": "L1"}}, "不支持嵌套对象或数组"),
        ({"cards": ["a", "b"]}, "不支持嵌套对象或数组"),
        ({" ": "x"}, "属性名不能为空"),
        ({"amount": float("nan")}, "属性值不能是 NaN 或无穷大"),
        ({"amount": float("inf")}, "属性值不能是 NaN 或无穷大"),
        # (stored, a NUL made every PostgreSQL JSON operator over the row fail)
        ({"note": "a\x00b"}, "属性值不能包含 NUL 字符"),
        ({"a\x00": "x"}, "属性名不能包含 NUL 字符"),
    ):
        reply = client.post(
            "/api/v1/events",
            json={
                "type": "loan.repaid",
                "customer": {"external_id": "EV3", "name": "属性客户"},
                "occurred_at": occurred,
                "attributes": attributes,
            },
            headers=bearer(),
        )
        assert reply.status_code == 422
        assert message in str(reply.get_json()["error"]), reply.get_json()
