"""Direct statements for the busiest write: Core statements compiled once per dialect and run
on a plain DBAPI cursor, outside the ORM session.

A survey submission is one look-up and one INSERT. Through the ORM session each step costs
several times what the database itself spends: measured in one process on SQLite, ~1.3 ms of a
~1.8 ms submission was session and transaction objects, the pool check-out with its pre-ping,
per-statement events and result objects, against ~0.2 ms inside SQLite. ``write(work)`` keeps
the SQL (built with SQLAlchemy Core, types and all) and drops that machinery:

* ``Statement`` compiles a Core statement once per dialect and applies the columns' own bind and
  result processors (``UTCDateTime``, ``JSON`` …), so values round-trip exactly as through the
  ORM;
* the statements run on a connection of a per-process engine *without* pre-ping (on
  PostgreSQL the ping was a round trip per request). A connection the server dropped (a
  PostgreSQL restart) is noticed by the first statement, invalidated, and the unit of work is
  retried once on a fresh connection. If the database is still down the error is SQLAlchemy's
  ``OperationalError`` like anywhere else (the pages answer 503);
* with ``SURVEY_ASYNC_COMMIT`` (PostgreSQL) this engine's connections commit without waiting
  for the WAL flush. Measured under load on this project's machine, the flush (~130 µs of disk
  wait per commit) left the two cores 19 % idle and held submissions at ~34 % of the bare
  handler, against 45–47 % without it. The price is PostgreSQL's: a crash of the server (not a
  restart) may lose the last fraction of a second of acknowledged answers, never corrupt
  anything. Off by default; nothing but survey intakes is written through this engine;
* a unit of work reads and then makes one write (see ``write``): on PostgreSQL in autocommit,
  on SQLite in ``BEGIN IMMEDIATE`` under the writers' file lock (``db_setup.file_lock``) as
  every other use case; a read ``work`` makes through the session (a cache miss) is a plain
  read on another connection.

When the session is bound to a caller's connection (the test suite's rolled-back outer
transaction) or to an in-memory database, or a use case is already under way, ``write`` runs
the same statements on the session's own connection inside ``@transactional`` instead, so they
stay in that transaction.
"""

from __future__ import annotations

import functools
import os
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

from app import db_setup
from app.extensions import db

R = TypeVar("R")
_EXTENSION = "kesheng_direct_engine"
_inherited: list[Engine] = []  # engines a forked process must neither use nor close


class _Compiled:
    __slots__ = ("sql", "order", "defaults", "binds", "results", "row", "returns_rows")

    def __init__(self, stmt: Any, dialect: Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        self.order = tuple(compiled.positiontup) if compiled.positional else None
        self.defaults = {key: bind.effective_value for key, bind in compiled.binds.items()}
        self.binds = {
            key: proc
            for key, bind in compiled.binds.items()
            if (proc := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        columns = list(stmt.exported_columns)
        # known here, not asked of the cursor (psycopg builds an object per column for
        # ``cursor.description``)
        self.returns_rows = bool(columns)
        self.results = [
            col.type.dialect_impl(dialect).result_processor(dialect, None) for col in columns
        ]
        if not any(self.results):
            self.results = None
        self.row = namedtuple("Row", [col.key for col in columns], rename=True)  # type: ignore[misc]

    def parameters(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = {**self.defaults, **params}
        for key, proc in self.binds.items():
            values[key] = proc(values[key])
        return values if self.order is None else [values[key] for key in self.order]

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Any]:
        make, procs = self.row._make, self.results
        if procs is None:
            return [make(r) for r in raw]
        return [make(v if p is None else p(v) for p, v in zip(procs, r, strict=True)) for r in raw]


class Statement:
    """A Core SELECT, or a DML statement with RETURNING, to run through ``write``; rows come
    back as named tuples with the statement's column keys."""

    def __init__(self, stmt: Executable) -> None:
        self.stmt = stmt
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _Compiled(self.stmt, dialect)
        return found


Run = Callable[[Statement, Mapping[str, Any]], list[Any]]


def _translated(
    err: Exception, dialect: Dialect, sql: str | None, params: Any, dbapi_conn: Any, cursor: Any
) -> DBAPIError:
    """A driver's error as SQLAlchemy's (``OperationalError``, ``IntegrityError`` …), marked
    ``connection_invalidated`` when the connection is gone."""
    lost = dbapi_conn is None or dialect.is_disconnect(err, dbapi_conn, cursor)
    return DBAPIError.instance(
        sql, params, err, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
    )


def _runner(dbapi_conn: Any, dialect: Dialect) -> Run:
    base_error = dialect.loaded_dbapi.Error

    def run(statement: Statement, params: Mapping[str, Any]) -> list[Any]:
        compiled = statement.compiled(dialect)
        values = compiled.parameters(params)
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(compiled.sql, values)
            raw = cursor.fetchall() if compiled.returns_rows else []
        except base_error as err:
            raise _translated(err, dialect, compiled.sql, values, dbapi_conn, cursor) from err
        finally:
            cursor.close()
        return compiled.rows(raw)

    return run


def write(work: Callable[[Run], R]) -> R:
    """Run ``work(run)``, which reads and then makes at most ONE write, as its last statement;
    ``run(statement, params)`` executes a ``Statement``.

    On SQLite the statements run in one ``BEGIN IMMEDIATE`` transaction under the writers'
    lock, committed at the end. On PostgreSQL they run in autocommit: the reads see committed
    rows and the one write commits by itself, which saves the BEGIN and COMMIT round trips
    (half of them); what must hold across the read and the write is for the write's own
    constraints to enforce (the unique ``invitation_id`` of a submission). Any exception rolls
    back what is uncommitted and propagates (DBAPI errors as SQLAlchemy's). ``work`` may run
    twice when its connection turns out to be dead, so it must not have effects outside the
    database; a second run after a write that did commit meets that write's constraint."""
    engine = _direct_engine()
    if engine is None:
        from app.services.tx import transactional

        dialect = db.session.get_bind().dialect

        @transactional
        def in_session() -> R:
            dbapi_conn = db.session.connection().connection.dbapi_connection
            return work(_runner(dbapi_conn, dialect))

        return in_session()
    for attempt in (1, 2):
        try:
            return _write_once(engine, work)
        except DBAPIError as err:
            if attempt == 2 or not err.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def _write_once(engine: Engine, work: Callable[[Run], R]) -> R:
    dialect = engine.dialect
    base_error = dialect.loaded_dbapi.Error
    with db_setup.file_lock(engine):  # not write_intent: reads in ``work`` stay plain BEGIN
        try:
            conn = engine.raw_connection()
        except base_error as err:
            raise _translated(err, dialect, None, None, None, None) from err
        try:
            if dialect.name == "sqlite":  # the driver leaves BEGIN to us (db_setup)
                _end(conn, dialect, "BEGIN IMMEDIATE")
            result = work(_runner(conn.driver_connection, dialect))
            _end(conn, dialect, "COMMIT")
            return result
        except BaseException as err:
            if isinstance(err, DBAPIError) and err.connection_invalidated:
                conn.invalidate(err.orig)
            else:
                _quiet_rollback(conn)
            raise
        finally:
            conn.close()


def _end(conn: Any, dialect: Dialect, what: str) -> None:
    """BEGIN IMMEDIATE (SQLite) or COMMIT, with the driver's errors translated (a full disk
    shows at the commit)."""
    try:
        if what == "COMMIT":
            conn.commit()
        else:
            conn.driver_connection.execute(what)
    except dialect.loaded_dbapi.Error as err:
        raise _translated(err, dialect, what, None, conn.driver_connection, None) from err


def _quiet_rollback(conn: Any) -> None:
    try:
        conn.rollback()
    except Exception:  # the original error matters; a dead connection is dropped by the pool
        conn.invalidate()


def _direct_engine() -> Engine | None:
    """This process's engine for direct writes, or None when they must share the session's
    connection (a caller's transaction, an in-memory database)."""
    bind = db.engines[None]  # (the test suite puts its outer connection there)
    if not isinstance(bind, Engine) or db_setup.in_write_intent():
        return None  # (inside a use case: join its transaction)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    held = app.extensions.get(_EXTENSION)
    pid = os.getpid()
    if held is not None and held[0] == pid and held[1] is bind:
        return held[2]  # (made for a file or a server: never for an in-memory database)
    if _in_memory(bind):
        return None
    if held is not None and held[0] != pid:
        _inherited.append(held[2])  # the parent's sockets: never touched here
    elif held is not None:
        held[2].dispose()  # the app's engine was replaced (a new database)
    # No reset on return either: every unit of work ends in its own COMMIT or ROLLBACK.
    options: dict[str, Any] = {
        "pool_pre_ping": False,
        "pool_reset_on_return": None,
        "pool_size": 2,
        "max_overflow": 8,
    }
    if bind.dialect.name != "sqlite":  # see ``write``: no BEGIN/COMMIT round trips
        options["isolation_level"] = "AUTOCOMMIT"
        if app.config.get("SURVEY_ASYNC_COMMIT"):  # (this engine writes survey intakes only)
            options["connect_args"] = {"options": "-c synchronous_commit=off"}
    engine = create_engine(bind.url, **options)
    event.listen(bind, "engine_disposed", functools.partial(_dispose_in, pid, engine))
    app.extensions[_EXTENSION] = (pid, bind, engine)
    return engine


def _dispose_in(pid: int, engine: Engine, *_: Any) -> None:
    """The app's engine was disposed: so is this one, in the process that made it only (a
    forked child must not close its parent's connections)."""
    if os.getpid() == pid:
        engine.dispose()


def _in_memory(engine: Engine) -> bool:
    if engine.dialect.name != "sqlite":
        return False
    path = engine.url.database
    return not path or path == ":memory:" or "mode=memory" in str(engine.url)
