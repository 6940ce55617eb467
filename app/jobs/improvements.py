"""Improvement jobs: reminders and escalation of actions (every 6 hours; see app/config.py)."""

from __future__ import annotations

from celery import shared_task

from app.services import improvement_actions


@shared_task(name="improvements.remind")
def remind() -> int:
    """Remind owners before the due date and escalate overdue actions (each only once)."""
    report = improvement_actions.remind_and_escalate()
    return len(report.reminded) + len(report.escalated)
