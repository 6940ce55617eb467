"""Celery tasks for the dashboard rollups: thin wrappers over app.services.rollups."""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import shared_task
from flask import current_app, has_request_context

from app.extensions import db
from app.services import dashboard_voice, rollups

log = logging.getLogger(__name__)
_retries: list[threading.Thread] = []  # (kept for tests to wait on)


@shared_task(
    name="kesheng.refresh_rollups",
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def refresh_rollups(cells: dict[str, Any]) -> int:
    """Recompute the touched (day, branch) cells; idempotent, so a retry or duplicate is safe.
    Run inside a web request (no broker), it does not wait long for another refresh's lock:
    when the lock stays busy it returns -1 and the cells are recounted by a thread of this
    process that waits its turn (left to the two-day safety net alone, a case received
    months back stayed missing from that month's figures until a full rebuild)."""
    dirty = rollups.DirtyCells.from_json(cells)
    if not has_request_context():
        return rollups.refresh(dirty)
    stored = rollups.refresh(dirty, wait=False)
    if stored < 0:
        _retry_later(current_app._get_current_object(), dirty)  # type: ignore[attr-defined]
    return stored


def _retry_later(app: Any, dirty: rollups.DirtyCells) -> None:
    def run() -> None:
        with app.app_context():
            try:
                rollups.refresh(dirty)  # (waits for the lock)
            except Exception:  # logged: the safety net and a rebuild remain
                log.exception("rollup refresh retry failed: %s", dirty.to_json())
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name="rollup-refresh-retry", daemon=True)
    _retries[:] = [t for t in _retries if t.is_alive()] + [thread]
    thread.start()


@shared_task(name="kesheng.refresh_recent_rollups")
def refresh_recent_rollups() -> int:
    """Periodic safety net: recompute today's and yesterday's rows of every branch, so a refresh
    job that never reached the broker (a worker killed between commit and send) is made good
    within minutes."""
    return rollups.refresh_recent()


@shared_task(name="kesheng.rebuild_rollups")
def rebuild_rollups() -> dict[str, int]:
    """Rebuild every rollup from the raw rows (e.g. nightly, or after a bulk import)."""
    return rollups.rebuild()


@shared_task(name="kesheng.discover_topics")
def discover_topics() -> int:
    """Weekly: discover the topics of recent texts again (staff names carry over to the same
    topics found again, ``topic_labels.carry_over``) and recount the voice rollup; returns the
    number of topics (0 with too few texts, when the current model stays)."""
    record = dashboard_voice.discover_topics()
    if record is None:
        return 0
    rollups.rebuild(["voice"])
    return len(record.model.get("topics", []))
