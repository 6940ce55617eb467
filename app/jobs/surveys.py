"""Survey jobs: send a campaign, and the periodic dispatch (scheduled sends, retries, expiry)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task


@shared_task(name="surveys.send_campaign", ignore_result=True)
def send_campaign(campaign_id: int) -> None:
    """Idempotent: customers already invited or skipped are never processed again."""
    from app.services import campaigns

    campaigns.run_campaign(campaign_id)


@shared_task(name="surveys.dispatch_due", ignore_result=True)
def dispatch_due() -> None:
    from app.services import survey_triggers

    survey_triggers.dispatch_due()


@shared_task(name="surveys.expand_intake", ignore_result=True)
def expand_intake(ids: list[int]) -> int:
    """Make responses of the submissions accepted in one short window (idempotent)."""
    from app.services import responses

    return responses.expand_batch([int(i) for i in ids])


@shared_task(name="surveys.expand_pending_intake", ignore_result=True)
def expand_pending_intake() -> int:
    """Periodic catch-up: expand submissions whose job was lost (a worker killed within its
    batching window, a broker outage); rows younger than a minute are left to their job."""
    from app.services import responses

    return responses.expand_all_pending(older_than=timedelta(minutes=1))
