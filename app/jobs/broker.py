"""Sending jobs to the broker without letting a Redis outage stall or break requests.

When the broker cannot be reached, the failure is remembered for ``PAUSE_SECONDS`` so that the
following requests do not each wait for connection retries; the caller's fallback runs instead
(the job inline, or nothing when a periodic catch-up finishes the work, as for text analysis,
whose pending rows ``kesheng.analyze_pending`` and ``flask nlp analyze`` pick up).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from kombu.exceptions import OperationalError as BrokerError

log = logging.getLogger(__name__)
PAUSE_SECONDS = 15.0
BATCH_SECONDS = 0.2
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


def eager() -> bool:
    """True when jobs run inline in this app (no broker configured)."""
    celery = current_app.extensions.get("celery") if has_app_context() else None
    return celery is None or bool(celery.conf.task_always_eager)


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


def preload_transport() -> None:
    """Import the broker's transport now (gunicorn's master, before forking) rather than in
    every worker's first batch: kombu's Redis transport pulls in ``redis`` and
    ``redis.asyncio``, a tenth of a second of imports. Opens no connection."""
    if eager():
        return
    connection = current_app.extensions["celery"].connection_for_write()
    try:
        connection.get_transport_cls()
    finally:
        connection.release()


def run_inline(task: Any, args: tuple = ()) -> Callable[[], Any]:
    """A fallback that runs the job in this process (its errors are logged, not raised)."""

    def run() -> None:
        result = bound(task).apply(args)
        if result.failed():
            log.error("inline %s failed: %s", task.name, result.result)

    return run


@dataclass
class _Batch:
    app: Any
    task: Any
    combine: Callable[[list[Any]], tuple]
    inline_fallback: bool
    items: list[Any] = field(default_factory=list)


_batches: dict[tuple[int, str], _Batch] = {}
_batches_lock = threading.Lock()
_batching = False


def enable_batching(enabled: bool = True) -> None:
    """Let ``send_batched`` batch in this process (long-lived web workers: gunicorn's
    ``post_fork`` turns it on and its ``worker_exit`` sends what is left). Elsewhere (CLI
    commands, Celery workers, tests) it sends at once, so nothing waits for a process's exit."""
    global _batching
    _batching = enabled


def send_batched(
    task: Any,
    item: Any,
    *,
    combine: Callable[[list[Any]], tuple],
    inline_fallback: bool = False,
) -> None:
    """Queue ``item`` for ``task``: the items of the next ``BATCH_SECONDS`` in this process go
    out as ONE message whose arguments are ``combine(items)``.

    Under load this turns one broker round trip per request into a few per second. Use it only
    for jobs whose work is also recorded durably (pending analysis rows; rollup cells that the
    periodic ``kesheng.refresh_recent_rollups`` recomputes), since a process killed within the
    window drops its batch. Without a broker (eager), or where batching is not enabled, the job
    is sent (or run) at once, as ``send`` does.
    """
    if eager() or not _batching:
        _send_items(task, [item], combine, inline_fallback)
        return
    app = current_app._get_current_object()
    key = (id(app), task.name)
    with _batches_lock:
        batch = _batches.get(key)
        if batch is None:
            batch = _batches[key] = _Batch(app, task, combine, inline_fallback)
            timer = threading.Timer(BATCH_SECONDS, _flush, (key,))
            timer.daemon = True  # a worker stopping normally sends what is left (worker_exit)
            timer.start()
        batch.items.append(item)


def sorted_unique(items: list[Any]) -> tuple:
    """The usual ``combine`` of ``send_batched``: one argument, the distinct items in order."""
    return (sorted(set(items)),)


def _send_items(task: Any, items: list[Any], combine: Callable, inline_fallback: bool) -> None:
    args = combine(items)
    send(task, args, fallback=run_inline(task, args) if inline_fallback else None)


def _flush(key: tuple[int, str]) -> None:
    with _batches_lock:
        batch = _batches.pop(key, None)
    if batch is None or not batch.items:
        return
    with batch.app.app_context():
        try:
            _send_items(batch.task, batch.items, batch.combine, batch.inline_fallback)
        except Exception:  # a fallback's own failure must not kill the timer thread silently
            log.exception("batched %s failed", batch.task.name)


def flush_batches() -> None:
    """Send every waiting batch now (tests, and a worker about to stop)."""
    for key in list(_batches):
        _flush(key)
