"""Complaint jobs: the deadline sweep, beat-scheduled every 15 minutes."""

from __future__ import annotations

from celery import current_app, shared_task

from app.services import complaint_escalation

BEAT_SCHEDULE = {
    "complaints-sweep-deadlines": {"task": "complaints.sweep_deadlines", "schedule": 15 * 60.0},
}


@shared_task(name="complaints.sweep_deadlines")
def sweep_deadlines() -> int:
    """Escalate overdue complaints to their branch managers and head office (idempotent)."""
    return len(complaint_escalation.sweep_deadlines())


# Imported by the worker (app/jobs/worker.py), so ``celery ... worker --beat`` runs the sweep.
current_app.conf.beat_schedule = {**(current_app.conf.beat_schedule or {}), **BEAT_SCHEDULE}
