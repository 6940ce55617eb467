"""Survey jobs: send a campaign, and the periodic dispatch (scheduled sends, retries, expiry)."""

from __future__ import annotations

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
