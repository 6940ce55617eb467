"""Fixed-window rate limits whose counters live in the database, so they hold across workers.

An increment is one ``INSERT ... ON CONFLICT DO UPDATE`` (SQLite and PostgreSQL), atomic under
concurrent requests; old windows are removed by the retention job.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select

from app.extensions import db
from app.models import utcnow
from app.models.ratelimit import RateLimitCounter
from app.services.tx import transactional


def _window(seconds: int, now: datetime) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


def count(key: str, *, window_seconds: int, now: datetime | None = None) -> int:
    """Hits of ``key`` in the current window."""
    start = _window(window_seconds, now or utcnow())
    stmt = select(RateLimitCounter.hits).where(
        RateLimitCounter.key == key[:160], RateLimitCounter.window_start == start
    )
    return db.session.scalar(stmt) or 0


def exceeded(key: str, limit: int, *, window_seconds: int, now: datetime | None = None) -> bool:
    return count(key, window_seconds=window_seconds, now=now) >= limit


@transactional
def hit(key: str, *, window_seconds: int, now: datetime | None = None) -> None:
    """Count one hit of ``key`` in the current window (its own small transaction)."""
    start = _window(window_seconds, now or utcnow())
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(RateLimitCounter).values(key=key[:160], window_start=start, hits=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["key", "window_start"],
        set_={"hits": RateLimitCounter.hits + 1},
    )
    db.session.execute(stmt)


def prune(before: datetime) -> int:
    """Delete windows that started before ``before`` (helper: the caller commits)."""
    result = db.session.execute(
        delete(RateLimitCounter).where(RateLimitCounter.window_start < before)
    )
    return result.rowcount or 0


def prune_older_than(days: int = 1) -> int:
    return prune(utcnow() - timedelta(days=days))
