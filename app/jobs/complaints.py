"""Complaint jobs: the deadline sweep (beat-scheduled every 15 minutes in app/config.py)."""

from __future__ import annotations

from celery import shared_task

from app.services import complaint_escalation


@shared_task(name="complaints.sweep_deadlines")
def sweep_deadlines() -> int:
    """Escalate overdue complaints to their branch managers and head office (idempotent)."""
    return len(complaint_escalation.sweep_deadlines())


@shared_task(name="complaints.poll_imap")
def poll_imap() -> int:
    """Import unread e-mails from the configured complaint mailbox (no-op when unconfigured)."""
    from flask import current_app

    from app.services import complaint_mail

    settings = complaint_mail.imap_settings(current_app.config)
    return 0 if settings is None else len(complaint_mail.poll_imap(settings).created)
