"""Survey jobs: send a campaign, and the periodic dispatch (scheduled sends, retries, expiry)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task


@shared_task(name="surveys.send_campaign", ignore_result=True)
def send_campaign(campaign_id: int) -> None:
    """Idempotent: customers already invited or skipped are never processed again."""
    from app.services import campaigns

    campaigns.run_campaign(campaign_id)


@shared_task(name="surveys.send_invitation", ignore_result=True)
def send_invitation(invitation_id: int) -> bool:
    """An integrator's new invitation (POST /api/v1/invitations), sent after its commit; a job
    run twice, or after the dispatch sent it, sends nothing more."""
    from app.services import invitations

    return invitations.send_new(invitation_id)


@shared_task(name="surveys.dispatch_due", ignore_result=True)
def dispatch_due() -> None:
    """Every minute: scheduled invitations, retries, expiry, reminders; and the campaigns held
    back by the quiet hours or asked to send before their window opened, once they may send
    (each as its own send job, so that a large one does not hold up the next dispatch; a job
    sent twice sends nobody twice)."""
    from app.extensions import db
    from app.jobs import broker
    from app.services import campaigns, survey_triggers

    survey_triggers.dispatch_due()
    held = campaigns.held_campaign_ids()
    db.session.rollback()  # (ends the read: each send below is a job with its own session)
    for campaign_id in held:
        args = (campaign_id,)
        broker.send(send_campaign, args, fallback=broker.run_inline(send_campaign, args))


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
