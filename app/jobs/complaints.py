"""Complaint jobs: the deadline sweep (beat-scheduled every 15 minutes in app/config.py)."""

from __future__ import annotations

from celery import shared_task

from app.services import complaint_escalation


@shared_task(name="complaints.sweep_deadlines")
def sweep_deadlines() -> int:
    """Escalate overdue complaints to their branch managers and head office (idempotent)."""
    return len(complaint_escalation.sweep_deadlines())
