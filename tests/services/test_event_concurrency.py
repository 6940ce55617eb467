"""Business events for one customer arriving at once schedule one survey (PostgreSQL)."""

from __future__ import annotations

import pytest

from tests import support

pytestmark = pytest.mark.postgres

THREADS = 8


def test_simultaneous_events_for_one_customer_stay_within_the_frequency_cap(seeded_postgres):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Customer, Invitation, utcnow
    from app.services import customers, survey_triggers

    app = support.racing_app(seeded_postgres, THREADS)
    who = customers.CustomerData(external_id="RACE-EVT-1", name="并发事件客户", phone="13800138001")
    with app.app_context():
        customers.upsert_customer(who)  # an existing customer, as the integrator's events name
        db.session.remove()

    def send(n: int) -> list[dict]:
        return survey_triggers.record_event(
            survey_triggers.EventData(
                type="account.opened" if n % 2 else "loan.disbursed",
                customer=who,
                occurred_at=utcnow(),
                branch_code="HZ01",
            )
        )

    outcomes = support.at_once(app, send, THREADS)
    assert all(isinstance(o, list) for o in outcomes), outcomes
    kinds = [item["kind"] for items in outcomes for item in items]
    with app.app_context():
        stored = db.session.scalar(
            select(func.count(Invitation.id))
            .join(Customer, Customer.id == Invitation.customer_id)
            .where(Customer.external_id == "RACE-EVT-1")
            .execution_options(include_all_branches=True)
        )
        db.session.remove()
        db.engine.dispose()
    assert len(outcomes) == THREADS
    assert kinds.count("survey") == 1 and kinds.count("skipped") == THREADS - 1, kinds
    assert stored == 1


def test_one_event_sent_many_times_at_once_makes_one_call_back(seeded_postgres):
    """An integrator's retries of one card.issued event (same type, customer, occurred_at)
    arriving together: one call-back task, the others answered ``duplicate_event``."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Customer, FollowUp, utcnow
    from app.services import customers, survey_triggers

    app = support.racing_app(seeded_postgres, THREADS)
    who = customers.CustomerData(external_id="RACE-EVT-2", name="重复事件客户", phone="13800138002")
    issued = utcnow()

    def send(n: int) -> list[dict]:
        event = survey_triggers.EventData(
            type="card.issued", customer=who, occurred_at=issued, branch_code="HZ01"
        )
        return survey_triggers.record_event(event)

    outcomes = support.at_once(app, send, THREADS)  # (the customer is new to all of them)
    assert all(isinstance(o, list) for o in outcomes), outcomes
    items = [item for items in outcomes for item in items]
    with app.app_context():
        stored = db.session.scalars(
            select(FollowUp.id)
            .join(Customer, Customer.id == FollowUp.customer_id)
            .where(Customer.external_id == "RACE-EVT-2")
            .execution_options(include_all_branches=True)
        ).all()
        customers_made = db.session.scalar(
            select(func.count(Customer.id)).where(Customer.external_id == "RACE-EVT-2")
        )
        db.session.remove()
        db.engine.dispose()
    assert [i["kind"] for i in items].count("visit") == 1, items
    skipped = [i for i in items if i["kind"] == "skipped"]
    assert len(skipped) == THREADS - 1
    assert {i["reason_code"] for i in skipped} == {"duplicate_event"}
    assert {i["duplicate_of"]["id"] for i in skipped} == set(stored)
    assert len(stored) == 1 and customers_made == 1
