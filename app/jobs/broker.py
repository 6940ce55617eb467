"""Sending jobs to the broker without letting a Redis outage stall or break requests.

When the broker cannot be reached, the failure is remembered for ``PAUSE_SECONDS`` so that the
following requests do not each wait for connection retries; the caller's fallback runs instead
(the job inline, or nothing when a periodic catch-up finishes the work, as for text analysis,
whose pending rows ``kesheng.analyze_pending`` and ``flask nlp analyze`` pick up).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, has_app_context
from kombu.exceptions import OperationalError as BrokerError

log = logging.getLogger(__name__)
PAUSE_SECONDS = 15.0
RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
_down_until = 0.0


def bound(task: Any) -> Any:
    """The task as registered on the current Flask app's own Celery instance.

    ``shared_task`` objects resolve to Celery's *default* app, which is whichever app was
    created last in the process; resolving by name keeps each Flask app's jobs (and their
    database and settings) its own.
    """
    if has_app_context():
        celery = current_app.extensions.get("celery")
        if celery is not None:
            return celery.tasks[task.name]
    return task


def send(task: Any, args: tuple = (), *, fallback: Callable[[], Any] | None = None) -> bool:
    """Queue ``task(*args)``; True when queued (or run eagerly without a broker)."""
    global _down_until
    task = bound(task)
    if time.monotonic() >= _down_until:
        try:
            task.apply_async(args, retry=True, retry_policy=RETRY_POLICY)
            return True
        except (BrokerError, OSError) as err:
            _down_until = time.monotonic() + PAUSE_SECONDS
            log.warning("broker unreachable (%s): %s not queued", type(err).__name__, task.name)
    if fallback is not None:
        fallback()
    return False


def run_inline(task: Any, args: tuple = ()) -> Callable[[], Any]:
    """A fallback that runs the job in this process (its errors are logged, not raised)."""

    def run() -> None:
        result = bound(task).apply(args)
        if result.failed():
            log.error("inline %s failed: %s", task.name, result.result)

    return run
