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
from sqlalchemy.exc import DisconnectionError

# psycopg turns a query's ``%(name)s`` placeholders into ``$n`` once per distinct query and keeps
# the result in a bounded cache (128 queries), but only for queries of at most 50 parameters.
# The complaint's INSERT has more (one per column), so every complaint re-parsed its ~4 KB of
# SQL: ~0.4 ms of CPU, about 5 % of an API intake. The bound is a module constant read at each
# query; the cache stays bounded by its size either way.
PSYCOPG_CACHED_PARAMS = 200


def _cache_wide_statements() -> None:
    try:
        from psycopg import _queries
    except ImportError:  # (SQLite-only installs)
        return
    limit = getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", None)
    if isinstance(limit, int) and limit < PSYCOPG_CACHED_PARAMS:
        _queries.MAX_CACHED_STATEMENT_PARAMS = PSYCOPG_CACHED_PARAMS


_cache_wide_statements()


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
# it guesses, and e.g. sorted every open complaint through the status index instead of reading a
# queue page off its partial index (ix_complaint_queue_order): 14 ms a page at 10,000 open cases
# instead of 4. So a pooled connection now and then analyses the tables that need it
# (``analyse_stale_tables``): never analysed and holding ANALYSE_FROM_ROWS rows or more, or grown
# fourfold since their last analysis.
#
# Not ``PRAGMA optimize``, SQLite's own advice: it looks only at the tables whose queries ran
# on the connection running it, so a worker whose connection served complaint intakes by its
# check and the staff queue afterwards never analysed the queue's table in the load benchmark
# (SQLite 3.46 can check every table; Debian 12 ships 3.40). And whole analyses, not a sample
# (``analysis_limit``): a sample reads an index's first entries only, which made the status
# index (the first few hundred entries: one status) look selective.
#
# A connection checks at 200 uses, then each time its uses double (400, 800 ...), and at least
# hourly. A check costs a max(rowid) per table; an analysis ~20 ms for 11,000 complaints, and a
# table is analysed a handful of times in its life (each time it has grown fourfold).
OPTIMIZE_AFTER_USES = 200  # the first time: once the connection has seen some queries
OPTIMIZE_EVERY_SECONDS = 3600
ANALYSE_FROM_ROWS = 1000  # smaller tables are read whole in no time, statistics or not
REANALYSE_GROWTH = 4


@event.listens_for(Engine, "checkin")
def _sqlite_statistics_now_and_then(dbapi_conn, record) -> None:
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
        analyse_stale_tables(dbapi_conn)
    except sqlite3.Error:  # a read-only or full disk: the plans simply stay as they were
        pass


def analyse_stale_tables(dbapi_conn: sqlite3.Connection) -> list[str]:
    """ANALYZE the tables never analysed (from ANALYSE_FROM_ROWS rows) or grown fourfold since;
    the names analysed. A table's size is read as its largest rowid (no count of every row)."""
    tables = [
        name
        for (name,) in dbapi_conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    analysed: dict[str, int] = {}
    if dbapi_conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
        for table, stat in dbapi_conn.execute("SELECT tbl, stat FROM sqlite_stat1"):
            rows = int((stat or "0").split()[0])
            analysed[table] = max(rows, analysed.get(table, 0))
    done = []
    for table in tables:
        quoted = '"' + table.replace('"', '""') + '"'
        try:
            rows = dbapi_conn.execute(f"SELECT max(rowid) FROM {quoted}").fetchone()[0] or 0  # nosec B608
        except sqlite3.OperationalError:  # a WITHOUT ROWID table (none of ours)
            continue
        before = analysed.get(table)
        if before is None:
            due = rows >= ANALYSE_FROM_ROWS
        else:
            due = rows >= REANALYSE_GROWTH * max(before, ANALYSE_FROM_ROWS)
        if due:
            dbapi_conn.execute(f"ANALYZE {quoted}")
            done.append(table)
    return done


# Dead connections (a PostgreSQL restart, a firewall's idle timeout) are caught at check-out by a
# ping, but only on a connection that sat idle in the pool for PING_AFTER_IDLE_SECONDS: SQLAlchemy's
# ``pool_pre_ping`` pings at every check-out, a round trip per request (0.4-1.5 ms of the staff
# queue's ~10 ms on PostgreSQL here). A connection checked in a moment ago is as alive as the
# request that just used it; when the server goes away under load, the first failing request
# makes SQLAlchemy invalidate every older connection of the pool (and gets its 503), so the next
# ones connect afresh. A failed ping raises DisconnectionError: the pool then replaces the
# connection and the request never sees it.
PING_AFTER_IDLE_SECONDS = 2.0
_IDLE_FROM = "kesheng_idle_from"


@event.listens_for(Engine, "checkin")
def _note_idle_from(dbapi_conn, record) -> None:
    if record is not None:
        record.info[_IDLE_FROM] = time.monotonic()


@event.listens_for(Engine, "checkout")
def _ping_after_idle(dbapi_conn, record, _proxy) -> None:
    if isinstance(dbapi_conn, sqlite3.Connection):  # a file: nothing to lose on the way
        return
    idle_from = record.info.get(_IDLE_FROM)
    if idle_from is None or time.monotonic() - idle_from < PING_AFTER_IDLE_SECONDS:
        return  # just connected, or in use a moment ago
    try:
        ping(dbapi_conn)
    except Exception as err:  # noqa: BLE001  (whatever the driver raises: replace it)
        raise DisconnectionError(f"connection lost while idle: {err}") from err


def ping(dbapi_conn) -> None:
    """One ``SELECT 1`` outside any transaction (as SQLAlchemy's psycopg ``do_ping``)."""
    autocommit = getattr(dbapi_conn, "autocommit", True)
    if not autocommit:
        dbapi_conn.autocommit = True
    cursor = dbapi_conn.cursor()
    try:
        cursor.execute("SELECT 1")
    finally:
        cursor.close()
        if not autocommit and not getattr(dbapi_conn, "closed", False):
            dbapi_conn.autocommit = False


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
