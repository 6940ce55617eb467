"""Retention job: anonymise personal data past RETENTION_DAYS (beat-scheduled daily)."""

from __future__ import annotations

from celery import shared_task

from app.services import retention


@shared_task(name="kesheng.retention_run")
def retention_run() -> int:
    """Idempotent: a second run the same day changes nothing."""
    return retention.run_retention().changed
