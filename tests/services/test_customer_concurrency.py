"""Simultaneous first contacts for one new customer number create one customer (PostgreSQL)."""

from __future__ import annotations

import pytest

from tests import support

pytestmark = pytest.mark.postgres

THREADS = 12


def test_concurrent_upserts_of_a_new_customer_create_it_once(own_postgres):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Customer
    from app.services import customers

    app = support.racing_app(own_postgres, THREADS)

    def upsert(n: int) -> str:
        customers.upsert_customer(
            customers.CustomerData(external_id="RACE-001", name=f"并发客户{n}", phone="13800138000")
        )
        return "ok"

    outcomes = support.at_once(app, upsert, THREADS)
    assert outcomes == ["ok"] * THREADS
    with app.app_context():
        count = db.session.scalar(
            select(func.count(Customer.id)).where(Customer.external_id == "RACE-001")
        )
        db.session.remove()
        db.engine.dispose()
    assert count == 1
