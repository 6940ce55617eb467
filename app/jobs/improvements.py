"""Improvement jobs: the daily reminder and escalation sweep of improvement actions."""

from __future__ import annotations

from celery import current_app, shared_task

from app.services import improvement_actions

BEAT_SCHEDULE = {
    "improvements-remind": {"task": "improvements.remind", "schedule": 6 * 3600.0},
}


@shared_task(name="improvements.remind")
def remind() -> int:
    """Remind owners before the due date and escalate overdue actions (each only once)."""
    report = improvement_actions.remind_and_escalate()
    return len(report.reminded) + len(report.escalated)


current_app.conf.beat_schedule = {**(current_app.conf.beat_schedule or {}), **BEAT_SCHEDULE}
