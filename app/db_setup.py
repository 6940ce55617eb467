"""Engine-level settings: SQLite in WAL mode with foreign keys and real transactions.

On SQLite a use case (``@transactional``) takes the write lock when its transaction begins
(``BEGIN IMMEDIATE``): a deferred transaction that reads first and then writes fails at once with
"database is locked" when another process committed in between, without waiting for the busy
timeout. Reads outside use cases keep the plain ``BEGIN`` and never block writers (WAL).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_conn, _record) -> None:
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return
    # SQLAlchemy's pysqlite recipe: let SQLAlchemy emit BEGIN itself, so that transactions and
    # SAVEPOINTs behave as on PostgreSQL (the driver's own handling silently breaks them).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.close()


# SQLite's planner knows how selective an index is only from ANALYZE's statistics; without them
# it guesses, and e.g. sorted every open complaint through the merge index instead of reading a
# queue page off its partial index (ix_complaint_queue_order). SQLite's advice for long-lived
# connections: ``PRAGMA optimize`` now and then. It is usually a no-op; it analyses the tables
# whose queries *on this connection* would have planned better with statistics (never analysed,
# or grown 25-fold since). The analysis is a whole one, not sampled (``analysis_limit``): a
# sample reads an index's first entries, and for a mostly-NULL column (``merged_into_id``) they
# are all NULL, so the statistics said "IS NULL matches 1 row in 30" and the planner sorted
# every open case through that index again (14 ms a page with 10,000 open cases, against 5).
# Exact statistics cost ~20 ms for 11,000 complaints, ~0.25 s for a 230 MB database, and are
# taken rarely (a table once, then after it grew 25-fold). Because it only knows this
# connection's queries, one check is not enough: a worker's connection that served only
# complaint intakes by its 200th use and the staff queue afterwards would have waited an hour.
# So a connection checks at 200 uses, then each time its uses double (400, 800 ...: a handful of
# checks in all), and at least hourly.
OPTIMIZE_AFTER_USES = 200  # the first time: once the connection has seen some queries
OPTIMIZE_EVERY_SECONDS = 3600


@event.listens_for(Engine, "checkin")
def _sqlite_optimize_now_and_then(dbapi_conn, record) -> None:
    if not isinstance(dbapi_conn, sqlite3.Connection) or record is None:
        return
    info = record.info
    uses = info["kesheng_uses"] = info.get("kesheng_uses", 0) + 1
    now = time.monotonic()
    if uses < info.get("kesheng_optimize_uses", OPTIMIZE_AFTER_USES) and now < info.get(
        "kesheng_optimize_at", float("inf")
    ):
        return
    info["kesheng_optimize_uses"] = 2 * uses
    info["kesheng_optimize_at"] = now + OPTIMIZE_EVERY_SECONDS
    try:
        dbapi_conn.execute("PRAGMA optimize")
    except sqlite3.Error:  # a read-only or full disk: the plans simply stay as they were
        pass


_write_intent: ContextVar[bool] = ContextVar("sqlite_write_intent", default=False)
_CHANGES_AT_BEGIN = "sqlite_changes_at_begin"


@contextmanager
def write_intent(bind: Engine | Connection | None = None) -> Iterator[None]:
    """Transactions that begin inside this block take SQLite's write lock at once.

    With an SQLite file engine (``bind``), the block first takes an exclusive ``flock`` on
    ``<database>.writelock``: writers in every process then queue in the kernel and the next
    one wakes the moment the previous one is done, instead of polling SQLite's lock with the
    busy handler's sleeps (1, 2, 5 … 100 ms), which left the cores idle and stretched the tail
    latency under concurrent writes. BEGIN IMMEDIATE stays as the guarantee against any writer
    that does not use this lock (the sqlite3 shell, a backup tool).
    """
    if _write_intent.get():  # nested use case: the outer one holds the lock
        yield
        return
    reset = _write_intent.set(True)
    try:
        with file_lock(bind):
            yield
    finally:
        _write_intent.reset(reset)


def in_write_intent() -> bool:
    """True inside a ``write_intent`` block (a use case that holds the writers' lock)."""
    return _write_intent.get()


@contextmanager
def file_lock(bind: Engine | Connection | None) -> Iterator[None]:
    """The writers' ``flock`` of an SQLite file database (nothing for other databases)."""
    lock_fd = _take_file_lock(bind)
    try:
        yield
    finally:
        if lock_fd is not None:
            os.close(lock_fd)  # closing the descriptor releases the flock


def _take_file_lock(bind: Engine | Connection | None) -> int | None:
    if bind is None or bind.dialect.name != "sqlite":
        return None
    path = bind.engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    try:
        fd = os.open(f"{path}.writelock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        # read-only or full file system: SQLite's own locking decides (and reports the error)
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_only_so_far(conn) -> bool:
    """True when this SQLite connection's open transaction has not written anything yet."""
    dbapi_conn = conn.connection.dbapi_connection
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return False
    return conn.info.get(_CHANGES_AT_BEGIN) == dbapi_conn.total_changes


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")
        conn.info[_CHANGES_AT_BEGIN] = conn.connection.dbapi_connection.total_changes
