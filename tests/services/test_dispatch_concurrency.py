"""Dispatches running side by side send each due invitation once (PostgreSQL).

Beat's runs queued behind a stopped worker ran two at a time when it came back, and cron beside
beat does the same: each selected the same queued invitations and sent them, two messages per
customer. Real commits from several connections are needed, so the test has a database of its
own rather than the rolled-back test transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests import support

pytestmark = pytest.mark.postgres

EVENTS = 12
DISPATCHES = 4


def _last_noon() -> datetime:
    """The latest 12:00 Beijing time not in the future (outside every channel's quiet hours)."""
    now = datetime.now(UTC)
    noon = now.astimezone(ZoneInfo("Asia/Shanghai")).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    if noon > now:
        noon -= timedelta(days=1)
    return noon.astimezone(UTC)


def test_dispatches_at_once_send_each_due_invitation_once(seeded_postgres):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Customer, Invitation, OutboundMessage
    from app.services import survey_triggers
    from app.services.customers import CustomerData

    app = support.make_app(seeded_postgres)
    noon = _last_noon()
    with app.app_context():
        support.migrate_to_head()
        for n in range(EVENTS):
            customer = CustomerData(
                external_id=f"DISPATCH-{n}", name="并发客户", phone=f"1390000{n:04d}"
            )
            event = survey_triggers.EventData(
                type="account.opened",  # the demo's rule: a branch-service survey 24 h later
                customer=customer,
                occurred_at=noon - timedelta(hours=25),
                branch_code="HZ01",
            )
            survey_triggers.record_event(event)
            db.session.commit()
        ids = db.session.scalars(
            select(Invitation.id)
            .join(Customer, Customer.id == Invitation.customer_id)
            .where(Customer.external_id.like("DISPATCH-%"))
        ).all()
        assert len(ids) == EVENTS
        db.session.remove()

    sent = support.at_once(app, lambda _: survey_triggers.dispatch_due(noon).sent, DISPATCHES)

    with app.app_context():
        assert all(isinstance(n, int) for n in sent), sent
        messages = db.session.scalar(
            select(func.count(OutboundMessage.id)).where(OutboundMessage.invitation_id.in_(ids))
        )
        assert messages == EVENTS
        statuses = db.session.scalars(select(Invitation.status).where(Invitation.id.in_(ids)))
        assert set(statuses) == {"sent"}
        db.session.remove()
        db.engine.dispose()
