"""Complaint jobs: the deadline sweep (beat-scheduled every 15 minutes in app/config.py), the
mailbox, and delivering customer notices through a real gateway (after the commit, retried)."""

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


@shared_task(name="complaints.deliver_notice", ignore_result=True)
def deliver_notice(message_id: int) -> None:
    """Deliver one queued notice (sent after the commit of the use case that wrote it)."""
    from app.services import notify

    notify.deliver(int(message_id))


@shared_task(name="complaints.deliver_due_notices", ignore_result=True)
def deliver_due_notices() -> int:
    """Retry failed notices whose back-off has passed; deliver queued ones whose job was lost."""
    from app.services import notify

    return notify.deliver_due()
