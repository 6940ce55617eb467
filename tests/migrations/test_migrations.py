"""The migrations build the schema the models describe, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select, text, update
from sqlalchemy.exc import DatabaseError

from app.extensions import db
from app.models import AuditLog, Role
from app.models.audit import AuditLogImmutable


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
    # (expression indexes, which autogenerate cannot compare; test_complaint_queue checks the
    # one there is: the queue query runs off it on both databases)
    assert hand_written == {"ix_complaint_queue_order"}
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
