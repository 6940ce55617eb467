"""Transaction helpers shared by every service module."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import db_setup
from app.extensions import db
from app.services import scope
from app.services.errors import NotFound

log = logging.getLogger(__name__)
_AFTER_COMMIT = "after_commit_hooks"

P = ParamSpec("P")
R = TypeVar("R")


def transactional(fn: Callable[P, R]) -> Callable[P, R]:
    """Commit when the use case returns, roll back when it raises; then run after-commit hooks."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        _end_sqlite_read()
        with db_setup.write_intent(db.session.get_bind()):
            try:
                result = fn(*args, **kwargs)
                db.session.commit()
            except BaseException:
                db.session.rollback()
                db.session.info.pop(_AFTER_COMMIT, None)
                raise
        _run_after_commit()
        return result

    return run


def _end_sqlite_read() -> None:
    """On SQLite, close a read-only transaction the request opened before the use case (token
    or user look-up), so that the use case begins its own with the write lock held."""
    session = db.session()
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return
    if session.get_bind().dialect.name != "sqlite":
        return
    if db_setup.read_only_so_far(session.connection()):
        session.commit()


@contextmanager
def keep_loaded() -> Iterator[None]:
    """Objects a use case returns keep their loaded values after its commit (no re-read).

    For a caller that only reads back what the use case itself just wrote (an API answer built
    from the new record): saves one SELECT per object and relationship after the commit."""
    session = db.session()
    previous = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = previous


def after_commit(hook: Callable[[], None]) -> None:
    """Run ``hook`` once the current use case has committed (e.g. to enqueue a job)."""
    db.session.info.setdefault(_AFTER_COMMIT, []).append(hook)


def _run_after_commit() -> None:
    hooks = db.session.info.pop(_AFTER_COMMIT, [])
    for hook in hooks:
        try:
            hook()
        except Exception:  # a hook (a queue being down) must not undo a committed use case
            log.exception("after-commit hook %r failed", hook)


def insert_or_existing(row: R, find: Callable[[], R | None]) -> tuple[R, bool]:
    """``row`` inserted (flushed) in a savepoint, or, when a unique constraint refuses it
    because another session inserted the same a moment ago, the row ``find()`` reads then;
    returns (row, inserted). The caller looks for an existing row first: this settles only the
    race between two that both found none (on PostgreSQL the second INSERT waits for the
    first transaction and fails once it commits)."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        found = find()
        if found is None:
            raise
        return found, False
    return row, True


def get_or_raise(model: type[Any], ident: Any, message: str = "记录不存在") -> Any:
    """The row with this primary key, seen through the current branch scope, or NotFound."""
    row = db.session.get(model, ident)
    if row is None:
        raise NotFound(message)
    return row


def get_in_scope_or_raise(model: type[Any], ident: Any, noun: str) -> Any:
    """``get_or_raise`` for a branch's record (a complaint, a customer, an answer): NotFound
    says "<noun>不存在或不在您的管辖范围内" to a viewer whose branch scope may hide it, and only
    "<noun>不存在" to one who sees the whole bank (an API token, head office)."""
    hidden = "" if scope.current(db.session).unrestricted else "或不在您的管辖范围内"
    return get_or_raise(model, ident, f"{noun}不存在{hidden}")


_NEXT_IDS = "next_ids"
_RESERVED_IDS = "reserved_ids"  # PostgreSQL: ids taken ahead by ``next_id(..., also=...)``


def next_id(model: type[Any], *, also: tuple[type[Any], ...] = ()) -> int:
    """A primary key for a new ``model`` row, taken before its INSERT, so that values derived
    from the id (a complaint's reference) are written by the INSERT itself, not by an UPDATE,
    and rows that point at it can go out in the same flush.

    PostgreSQL: the column's own sequence. SQLite: one more than the largest id, which is what
    SQLite itself assigns; read inside the writer's transaction (writers hold the write lock
    from BEGIN IMMEDIATE, and a reader whose snapshot went stale cannot write at all), and never
    twice the same within one session (ids handed out but not yet flushed are remembered).

    ``also``: models whose next id the same use case will ask for; on PostgreSQL they are taken
    in the same statement (one round trip, not one each) and handed out by their own
    ``next_id`` call. A reserved id that is never used is a gap, as after any rollback."""
    table = model.__table__
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        reserved = db.session.info.setdefault(_RESERVED_IDS, {})
        if not also and reserved.get(table.name):
            return reserved[table.name].pop()
        # (at most one id waits per table: one left unused is taken by the next call)
        names = [
            table.name,
            *(m.__table__.name for m in also if not reserved.get(m.__table__.name)),
        ]
        ids = conn.execute(
            select(*(func.nextval(func.pg_get_serial_sequence(name, "id")) for name in names))
        ).one()
        for name, ident in zip(names[1:], ids[1:], strict=True):
            reserved.setdefault(name, []).append(int(ident))
        return int(ids[0])
    # (plain SQL over the model's own table name: no statement to build, compile and cache-key
    # for what is the busiest writers' first step under SQLite's write lock)
    sql = f"SELECT coalesce(max(id), 0) + 1 FROM {table.name}"  # nosec B608 - not user input
    found = int(conn.exec_driver_sql(sql).scalar_one())
    handed_out = db.session.info.setdefault(_NEXT_IDS, {})
    ident = handed_out[table.name] = max(found, handed_out.get(table.name, 0) + 1)
    return ident
