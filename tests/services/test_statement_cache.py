"""Complaint intake on PostgreSQL reuses psycopg's conversion of its wide INSERT (app.db_setup)
instead of re-parsing ~4 KB of SQL per complaint, and takes its ids in one round trip."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import Complaint
from app.models.outbox import OutboxMessage
from app.services import complaints
from tests.services.test_complaints import new


def _postgres(db_session) -> None:
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("psycopg's statement conversion is a PostgreSQL matter")


def test_every_table_fits_psycopgs_conversion_cache():
    queries = pytest.importorskip("psycopg._queries")
    widest = max(len(table.columns) for table in db.metadata.tables.values())
    assert len(Complaint.__table__.columns) > 50  # (psycopg's own limit, hence the setting)
    assert widest <= queries.MAX_CACHED_STATEMENT_PARAMS


def test_a_second_complaint_reuses_the_converted_insert(db_session):
    _postgres(db_session)
    from psycopg import _queries

    new()  # the first complaint converts (and caches) the statements
    before = _queries._query2pg.cache_info()
    uncached = []
    original = _queries._query2pg_nocache

    def spy(*args, **kwargs):
        uncached.append(args[0][:40])
        return original(*args, **kwargs)

    _queries._query2pg_nocache = spy
    try:
        new()
    finally:
        _queries._query2pg_nocache = original
    assert uncached == []
    assert _queries._query2pg.cache_info().hits > before.hits


def test_intake_takes_the_complaint_and_message_ids_in_one_statement(db_session):
    _postgres(db_session)
    new()
    statements: list[str] = []
    engine = db.session.get_bind()
    connection = db.session.connection()

    def note(_conn, _cursor, statement, *_):
        statements.append(statement)

    event.listen(connection, "before_cursor_execute", note)
    try:
        complaint = new()
    finally:
        event.remove(connection, "before_cursor_execute", note)
    assert engine.dialect.name == "postgresql"
    nextvals = [s for s in statements if "nextval" in s]
    assert len(nextvals) == 1, nextvals
    notices = [e for e in complaints.history(complaint) if e.kind == "notice"]
    message = db.session.get(OutboxMessage, notices[0].detail["message_id"])
    assert message.related_id == complaint.id and message.purpose == "acknowledgement"


def test_an_unused_message_id_waits_once_and_is_used_next(db_session):
    """Cases with no contact send no acknowledgement: the message id taken with theirs waits
    (one, not one per case) and the next message gets it without a statement of its own."""
    _postgres(db_session)
    for n in range(3):
        complaints.create_complaint(
            complaints.IntakeData(
                channel="branch", content=f"柜台排队太久{n}", name="匿名", branch_code="HZ01"
            )
        )
    waiting = db.session.info["reserved_ids"]["outbox_message"]
    assert len(waiting) == 1
    kept = waiting[0]
    complaint = new()
    notice = next(e for e in complaints.history(complaint) if e.kind == "notice")
    assert notice.detail["message_id"] == kept
