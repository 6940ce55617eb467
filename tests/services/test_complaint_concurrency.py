"""Twenty concurrent API retries with one external_ref, or of one forwarded case with one
regulator's number, create exactly one complaint (PostgreSQL).

Real commits from many connections are needed, so the test runs on a database of its own rather
than inside the rolled-back test transaction. The customer is new too, so its creation races.
"""

from __future__ import annotations

import threading

import pytest

from tests import support

pytestmark = pytest.mark.postgres

RETRIES = 20


WECHAT = {
    "channel": "wechat",
    "content": "微信银行转账失败但扣款成功，请尽快退回。",
    "customer": {"external_id": "RACE-CUST-1", "name": "并发客户", "phone": "13800000009"},
    "branch_code": "HZ01",
    "external_ref": "WX-RETRY-1",
}
# (keyed by the regulator's number alone: eight copies at once were eight cases)
FORWARDED = {
    "channel": "regulator",
    "content": "监管转办：客户反映信用卡分期手续费未披露。",
    "customer": {"external_id": "RACE-CUST-2", "name": "并发客户", "phone": "13800000010"},
    "branch_code": "HZ01",
    "regulator_ref": "JR-RACE-0001",
}


@pytest.mark.parametrize("body", [WECHAT, FORWARDED], ids=["external_ref", "regulator_ref"])
def test_twenty_concurrent_retries_create_one_complaint(seeded_postgres, body):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Complaint, Customer
    from app.services import tokens

    app = support.make_app(
        seeded_postgres, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": RETRIES + 5, "max_overflow": 5}
    )
    with app.app_context():
        support.migrate_to_head()
        secret = tokens.create_token("race", "complaints:write").secret
        db.session.remove()

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
        key = (
            Complaint.external_ref == body["external_ref"]
            if "external_ref" in body
            else Complaint.regulator_ref == body["regulator_ref"]
        )
        assert db.session.scalar(select(func.count(Complaint.id)).where(key)) == 1
        number = body["customer"]["external_id"]
        assert (
            db.session.scalar(select(func.count(Customer.id)).where(Customer.external_id == number))
            == 1
        )
        db.session.remove()
        db.engine.dispose()


def test_two_handlers_saving_one_case_at_once_get_one_success_and_a_conflict(seeded_postgres):
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

    app = support.make_app(seeded_postgres)
    with app.app_context():
        support.migrate_to_head()
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
    assert any("修改，您填写的内容未丢失" in o for o in outcomes), outcomes
    with app.app_context():
        # the loser is told who saved first (as when the version check itself refuses)
        won = next(o for o in outcomes if o.startswith("accepted"))
        winner = db.session.get(User, agent_ids[int(won.split(":")[1])])
        assert f"已被{winner.display_name}修改" in next(o for o in outcomes if o != won)
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


def test_a_handler_saving_a_case_during_the_deadline_sweep_does_not_stop_it(seeded_postgres):
    """The sweep escalates overdue cases; a handler saves one of them at that very moment. The
    sweep read the case before the handler committed, and its versioned UPDATE matched no row
    afterwards: a StaleDataError rolled back the whole sweep, so no overdue case was escalated.
    Now the case being saved is left to the next run and every other one is escalated.

    Interleaving: the handler's UPDATE is written (the row locked, not committed); the sweep
    then reads the overdue cases; the handler commits once the sweep begins to write."""
    from datetime import timedelta

    from sqlalchemy import event, select, update

    from app.extensions import db
    from app.models import Role, User, utcnow
    from app.models.complaint import Complaint
    from app.services import complaint_escalation, complaints
    from app.services import complaint_handling as handling
    from app.services.complaints import IntakeData

    app = support.make_app(seeded_postgres)
    with app.app_context():
        support.migrate_to_head()
        ids = []
        for text in ("信用卡年费未经同意扣收。", "网银转账手续费收取不明。"):
            case, _ = complaints.create_complaint(
                IntakeData(channel="hotline", content=text, name="超期", branch_code="HZ01")
            )
            ids.append(case.id)
        busy, other = ids
        past = utcnow() - timedelta(days=1)
        for n, case_id in enumerate(ids):  # overdue (as are some of the demo's cases)
            db.session.execute(
                update(Complaint)
                .where(Complaint.id == case_id)
                .values(due_at=past + timedelta(minutes=n))
            )
        db.session.commit()
        seen = db.session.get(Complaint, busy).version
        refs = {i: db.session.get(Complaint, i).reference for i in ids}
        agent_id = db.session.scalar(
            select(User.id).where(User.role == Role.AGENT, User.username == "agent")
        )
        db.session.remove()

    handler_wrote, sweep_writes = threading.Event(), threading.Event()
    role = threading.local()

    def after_flush(session, flush_context):
        if getattr(role, "name", None) == "handler" and not handler_wrote.is_set():
            handler_wrote.set()  # the UPDATE is written and the row locked, not committed
            assert sweep_writes.wait(timeout=20)

    def before_flush(session, flush_context, instances):
        if getattr(role, "name", None) == "sweep":
            sweep_writes.set()

    def work(n: int):
        if n == 0:
            role.name = "handler"
            return handling.accept(busy, actor=db.session.get(User, agent_id), version=seen).status
        role.name = "sweep"
        assert handler_wrote.wait(timeout=20)
        return complaint_escalation.sweep_deadlines()

    event.listen(db.session, "after_flush", after_flush)
    event.listen(db.session, "before_flush", before_flush)
    try:
        outcomes = support.at_once(app, work, 2)
    finally:
        event.remove(db.session, "after_flush", after_flush)
        event.remove(db.session, "before_flush", before_flush)

    assert "accepted" in outcomes, outcomes
    [swept] = [o for o in outcomes if o != "accepted"]
    assert isinstance(swept, list), outcomes  # (not the repr of a StaleDataError)
    assert refs[other] in swept and refs[busy] not in swept
    with app.app_context():
        saved = db.session.get(Complaint, busy)
        assert saved.status == "accepted" and saved.escalated_at is None
        assert db.session.get(Complaint, other).escalated_at is not None
        db.session.remove()
        assert complaint_escalation.sweep_deadlines() == [refs[busy]]  # the next run
        db.session.remove()
        db.engine.dispose()
