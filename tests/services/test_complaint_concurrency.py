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


def test_two_handlers_saving_one_case_at_once_get_one_success_and_a_conflict(own_postgres):
    """Two handlers accept the same case from the page they both loaded (same version). Both
    pass the version check; the loser's UPDATE then matches no row once the winner commits.
    It must read as the Chinese conflict message, not an unhandled StaleDataError (a 500)."""
    import threading

    from sqlalchemy import event, select

    from app.extensions import db
    from app.models import Role, User
    from app.models.complaint import Complaint, ComplaintEvent
    from app.services import complaint_handling as handling
    from app.services import complaints
    from app.services.complaints import IntakeData
    from app.services.errors import Conflict

    app = support.make_app(own_postgres)
    with app.app_context():
        support.migrate_to_head()
        support.seed_baseline()
        case, _ = complaints.create_complaint(
            IntakeData(
                channel="hotline",
                content="理财赎回资金迟迟未到账。",
                name="并发",
                branch_code="HZ01",
            )
        )
        case_id, seen = case.id, case.version
        agent_ids = db.session.scalars(
            select(User.id).where(User.role.in_([Role.AGENT, Role.BRANCH_MANAGER])).limit(2)
        ).all()
        db.session.remove()

    # Both handlers have loaded the case (and passed the version check) before either writes.
    both_loaded = threading.Barrier(2)
    waited = threading.local()

    def hold_first_flush(session, flush_context, instances):
        if not getattr(waited, "done", False):
            waited.done = True
            both_loaded.wait(timeout=20)

    def accept(n: int) -> str:
        actor = db.session.get(User, agent_ids[n])
        try:
            handling.accept(case_id, actor=actor, version=seen)
        except Conflict as err:
            return f"conflict: {err}"
        return f"accepted:{n}"

    event.listen(db.session, "before_flush", hold_first_flush)
    try:
        outcomes = support.at_once(app, accept, 2)
    finally:
        event.remove(db.session, "before_flush", hold_first_flush)

    assert sorted(o.split(":")[0] for o in outcomes) == ["accepted", "conflict"], outcomes
    assert any("已被他人修改" in o for o in outcomes), outcomes
    with app.app_context():
        # the loser is told who saved first (as when the version check itself refuses)
        won = next(o for o in outcomes if o.startswith("accepted"))
        winner = db.session.get(User, agent_ids[int(won.split(":")[1])])
        assert f"（{winner.display_name}）" in next(o for o in outcomes if o != won)
        case = db.session.get(Complaint, case_id)
        accepts = db.session.scalars(
            select(ComplaintEvent).where(
                ComplaintEvent.complaint_id == case_id, ComplaintEvent.to_status == "accepted"
            )
        ).all()
        assert case.status == "accepted" and case.version == seen + 1
        assert len(accepts) == 1
        db.session.remove()
        db.engine.dispose()
