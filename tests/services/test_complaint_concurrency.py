"""Twenty concurrent API retries with one external_ref create exactly one complaint (PostgreSQL).

Real commits from many connections are needed, so the test runs on a database of its own rather
than inside the rolled-back test transaction. The customer is new too, so its creation races.
"""

from __future__ import annotations

import threading

import pytest

from tests import support

pytestmark = pytest.mark.postgres

RETRIES = 20


def test_twenty_concurrent_retries_create_one_complaint(own_postgres):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Complaint, Customer
    from app.services import demo, tokens

    app = support.make_app(
        own_postgres, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": RETRIES + 5, "max_overflow": 5}
    )
    with app.app_context():
        support.migrate_to_head()
        demo.seed(customers=5, responses=0)
        secret = tokens.create_token("race", "complaints:write").secret
        db.session.remove()

    body = {
        "channel": "wechat",
        "content": "微信银行转账失败但扣款成功，请尽快退回。",
        "customer": {"external_id": "RACE-CUST-1", "name": "并发客户", "phone": "13800000009"},
        "branch_code": "HZ01",
        "external_ref": "WX-RETRY-1",
    }
    barrier = threading.Barrier(RETRIES)
    results: list[tuple[int, int | None]] = []
    lock = threading.Lock()

    def post() -> None:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            "/api/v1/complaints", json=body, headers={"Authorization": f"Bearer {secret}"}
        )
        data = response.get_json(silent=True) or {}
        with lock:
            results.append((response.status_code, data.get("id")))

    threads = [threading.Thread(target=post) for _ in range(RETRIES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    statuses = sorted(s for s, _ in results)
    assert len(results) == RETRIES
    assert statuses.count(201) == 1 and statuses.count(200) == RETRIES - 1, results
    assert len({i for _, i in results}) == 1
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(Complaint.id)).where(Complaint.external_ref == "WX-RETRY-1")
            )
            == 1
        )
        assert (
            db.session.scalar(
                select(func.count(Customer.id)).where(Customer.external_id == "RACE-CUST-1")
            )
            == 1
        )
        db.session.remove()
        db.engine.dispose()
