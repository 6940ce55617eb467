"""Business events for one customer arriving at once schedule one survey (PostgreSQL)."""

from __future__ import annotations

import pytest

from tests import support

pytestmark = pytest.mark.postgres

THREADS = 8


def test_simultaneous_events_for_one_customer_stay_within_the_frequency_cap(own_postgres):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Customer, Invitation, utcnow
    from app.services import customers, survey_triggers

    app = support.make_app(own_postgres, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": THREADS + 2})
    who = customers.CustomerData(external_id="RACE-EVT-1", name="并发事件客户", phone="13800138001")
    with app.app_context():
        support.migrate_to_head()
        support.seed_baseline()
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
