"""The migrations build the schema the models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text, update
from sqlalchemy.exc import DatabaseError

from app.extensions import db
from app.models import AuditLog, Role, utcnow
from app.models.audit import AuditLogImmutable
from app.models.complaint import ComplaintEvent


def test_single_head(app):
    config = app.extensions["migrate"].migrate.get_config()
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_models_and_migrations_agree(app, db_session):
    hand_written = {
        index.name
        for table in db.metadata.tables.values()
        for index in table.indexes
        if index.info.get("hand_written")
    }
    # (expression indexes, which autogenerate cannot compare; test_complaint_queue and
    # test_dashboard_handlers check that their queries run off them on both databases)
    assert hand_written == {"ix_complaint_queue_order", "ix_complaint_first_decided"}
    context = MigrationContext.configure(
        db_session.connection(),
        opts={
            "compare_type": True,
            "render_as_batch": True,
            "include_object": lambda obj, name, kind, *_: (
                not (kind == "index" and name in hand_written)
            ),
        },
    )
    assert compare_metadata(context, db.metadata) == []


def test_database_is_at_head(app, db_session):
    config = app.extensions["migrate"].migrate.get_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    assert db_session.execute(text("SELECT version_num FROM alembic_version")).scalar() == head


def test_audit_log_refuses_changes_in_the_orm(db_session):
    entry = AuditLog(actor_name="system", action="test.event")
    db_session.add(entry)
    db_session.flush()
    entry.action = "tampered"
    with pytest.raises(AuditLogImmutable):
        db_session.flush()
    db_session.rollback()


def test_audit_log_refuses_changes_in_the_database(db_session):
    db_session.add(AuditLog(actor_name="system", action="test.event"))
    db_session.commit()
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"):
            with db_session.begin_nested():
                db_session.execute(text(statement))


def test_decision_notified_at_is_filled_from_the_history(db_session):
    """Migration 6b2f8d4e1a37 gives existing cases the time their decision was proven to
    reach the customer: the first decision notice at or after the decision that proves it (a
    message only once its outbox row was sent); a review under way gets none."""
    import importlib

    from app.models import Complaint, OutboxMessage
    from app.services import complaint_handling as handling
    from tests import factories
    from tests.services.test_complaints import decide, new

    agent = factories.user(Role.AGENT, "HZ")
    failed = new()
    handling.accept(failed.id, actor=agent)
    decide(failed, agent)
    handling.record_notice(failed.id, actor=agent, method="sms", purpose="decision")
    message = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.related_id == failed.id, OutboxMessage.purpose == "decision"
        )
    ).one()
    message.status = "failed"  # (the gateway never took it)
    db.session.commit()
    expected = {
        c.id: c.decision_notified_at
        for c in db.session.scalars(select(Complaint).execution_options(include_all_branches=True))
    }
    expected[failed.id] = None
    assert sum(v is not None for v in expected.values()) > 10  # the demo's closed cases
    db.session.execute(update(Complaint).values(decision_notified_at=None))
    migration = importlib.import_module(
        "migrations.versions.20261205_6b2f8d4e1a37_complaint_decision_notified_at"
    )
    migration._backfill(db.session.connection())
    db.session.expire_all()
    got = {
        c.id: c.decision_notified_at
        for c in db.session.scalars(select(Complaint).execution_options(include_all_branches=True))
    }
    assert got == expected


def test_first_decision_is_filled_from_the_history(db_session):
    """Migration 3e7b5c1d9a40 gives reviewed cases their first decision as the application
    keeps it at the review request: the first 已作出处理决定 of the history, the deadline before
    the review and the first proof of that decision's notice."""
    import importlib

    from app.models import Complaint
    from app.services import complaint_clock as clock
    from app.services import complaint_handling as handling
    from app.services.complaints import get_complaint
    from tests import factories
    from tests.services.test_complaint_reviews import _decided_first

    agent = factories.user(Role.AGENT, "HZ")
    case = _decided_first(agent, days_after_receipt=10)
    (told,) = [
        e
        for e in db.session.scalars(
            select(ComplaintEvent).where(
                ComplaintEvent.complaint_id == case.id, ComplaintEvent.kind == "notice"
            )
        )
        if e.detail.get("purpose") == "decision"
    ]
    # (the history holds what the application recorded: the decision and the call's times)
    first_at = db.session.scalars(
        select(ComplaintEvent.at).where(
            ComplaintEvent.complaint_id == case.id, ComplaintEvent.to_status == "decided"
        )
    ).one()
    case.decided_at, case.decision_notified_at = first_at, told.at
    db.session.commit()
    handling.request_review(
        case.id, actor=agent, requested_on=clock.local_date(utcnow()), reason="客户书面申请核查"
    )
    assert get_complaint(case.id).first_decided_at == first_at
    columns = ("first_decided_at", "first_due_at", "first_decision_notified_at")
    every = select(Complaint).execution_options(include_all_branches=True)

    def first(c):
        return tuple(getattr(c, name) for name in columns)

    expected = {c.id: first(c) for c in db.session.scalars(every)}
    assert sum(v[0] is not None for v in expected.values()) > 3  # the demo's reviewed cases
    db.session.execute(update(Complaint).values(dict.fromkeys(columns)))
    migration = importlib.import_module(
        "migrations.versions.20261206_3e7b5c1d9a40_complaint_first_decision"
    )
    migration._backfill(db.session.connection())
    db.session.expire_all()
    assert {c.id: first(c) for c in db.session.scalars(every)} == expected


def test_decided_by_is_filled_from_the_history(db_session):
    """Migration d3a7c5e9f104 gives decided cases the staff member of their latest step to
    已作出处理决定, which is who the application records at 作出处理决定; a review's decision
    (to 核查已决定) does not count."""
    import importlib

    from app.models import Complaint
    from app.services import complaint_clock as clock
    from app.services import complaint_handling as handling
    from tests import factories
    from tests.services.test_complaint_reviews import _decided_first

    agent = factories.user(Role.AGENT, "HZ", display_name="首次决定人")
    head = factories.user(Role.HQ_MANAGER, "HO", display_name="核查决定人")
    case = _decided_first(agent, days_after_receipt=10)
    handling.request_review(
        case.id, actor=agent, requested_on=clock.local_date(utcnow()), reason="客户书面申请核查"
    )
    decision = handling.Decision("重新核实了扣费", "依据领用合约", "维持原决定", ("mediation",))
    handling.decide(case.id, actor=head, decision=decision)
    every = select(Complaint).execution_options(include_all_branches=True)
    expected = {c.id: c.decided_by_id for c in db.session.scalars(every)}
    assert expected[case.id] == agent.id
    assert sum(v is not None for v in expected.values()) > 10  # the demo's decided cases
    db.session.execute(update(Complaint).values(decided_by_id=None))
    migration = importlib.import_module(
        "migrations.versions.20261212_d3a7c5e9f104_complaint_decided_by"
    )
    migration._backfill(db.session.connection())
    db.session.expire_all()
    assert {c.id: c.decided_by_id for c in db.session.scalars(every)} == expected


def test_identity_check_is_filled_from_the_history(db_session):
    """Migration d8b2e5f1a694 gives each case the identity check its history states (the demo
    records one on accepting, or with the decision for a web form's complainant); 暂未核验 is
    none."""
    import importlib

    from app.models import Complaint

    every = select(Complaint).execution_options(include_all_branches=True)
    expected = {c.id: c.identity_check for c in db.session.scalars(every)}
    assert {"callback", "caller_number", "id_document", "online_login"} <= set(expected.values())
    assert None in expected.values()  # (web forms accepted and not yet checked)
    db.session.execute(update(Complaint).values(identity_check=None))
    migration = importlib.import_module(
        "migrations.versions.20261223_d8b2e5f1a694_complaint_identity_check"
    )
    migration._backfill(db.session.connection())
    db.session.expire_all()
    assert {c.id: c.identity_check for c in db.session.scalars(every)} == expected


def test_sqlite_connections_enforce_foreign_keys_after_the_migrations(app, backend, db_session):
    """The migrations run with SQLite's foreign keys off (a table rebuild needs it); the
    connection they used goes back to the pool, so they must be on again for everyone else."""
    if backend != "sqlite":
        pytest.skip("a SQLite pragma")
    for _ in range(3):  # (whichever pooled connection the session gets)
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.session.commit()


def test_the_index_rollups_keep_their_figures_through_upgrade_and_downgrade(tmp_path):
    """Revision a3d9f7c2e581 turns the pooled index sums into per-response units and back; a
    downgrade and an upgrade again left the units at 0, so 1,903 responses read 满意度指数 0.0."""
    from flask_migrate import downgrade, upgrade

    from tests.support import make_app

    before = "f2a8d4c6b017"
    app = make_app(f"sqlite:///{tmp_path / 'index.db'}")
    pooled = "SELECT 25.0 * index_steps / index_answers FROM rollup_satisfaction"
    per_response = "SELECT 25.0 * index_units / 720720 / index_n FROM rollup_satisfaction"
    with app.app_context():
        upgrade(revision=before)
        db.session.execute(
            text(
                "INSERT INTO rollup_satisfaction (period, day, channel, survey_id, responses, "
                "csat_n, csat_sum, csat_top2, nps_n, promoters, detractors, ces_n, ces_sum, "
                "index_n, index_answers, index_steps) "
                "VALUES ('d', '2026-01-01', 'sms', 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 3, 7, 15)"
            )
        )
        db.session.commit()
        figure = db.session.scalar(text(pooled))  # 25 × 15 / 7 = 53.57

        def read(query: str) -> float:
            value = db.session.scalar(text(query))
            db.session.remove()  # (the next migration runs on a connection of its own)
            return value

        db.session.remove()
        upgrade()
        assert read(per_response) == pytest.approx(figure, abs=1e-4)
        downgrade(revision=before)
        assert read(pooled) == pytest.approx(figure, abs=0.02)
        upgrade()
        assert read(per_response) == pytest.approx(figure, abs=0.02)
        db.engine.dispose()
