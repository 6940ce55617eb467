"""Fifty concurrent submissions of one link store exactly one response (real PostgreSQL).

This test needs real commits from many connections, so it runs on a database of its own rather
than inside the rolled-back test transaction.
"""

from __future__ import annotations

import pytest

from tests import factories, support

pytestmark = pytest.mark.postgres

SUBMISSIONS = 50


def _lowest_answers(defn) -> dict:
    """A valid form answering every question with its lowest score or first plain option."""
    form: dict = {}
    for q in defn.questions:
        if q.scale_type is not None and not q.items:
            form[f"q_{q.id}"] = "1" if q.type.value != "nps" else "0"
        elif q.items:
            for item in q.items:
                form[f"q_{q.id}__{item.id}"] = "1"
        elif q.options:
            plain = [o.value for o in q.options if not o.other and not o.exclusive]
            form[f"q_{q.id}"] = [plain[0]] if q.type.value == "multiple" else plain[0]
    return form


def test_fifty_concurrent_submissions_store_one_response(seeded_postgres):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import FollowUp, Invitation, Response
    from app.services import responses

    app = support.make_app(
        seeded_postgres,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": SUBMISSIONS + 5, "max_overflow": 10},
    )
    with app.app_context():
        support.migrate_to_head()
        token, issued = factories.survey_link(
            "RACE1", survey_code="complaint-resolution", name="并发客户", phone="13800000001"
        )
        invitation_id = issued.invitation.id
        form = _lowest_answers(responses.open_link(token).definition)
        db.session.remove()

    def submit(_: int) -> str:
        try:
            responses.submit_link(token, form)
        except responses.AlreadyAnswered:
            return "already"
        return "stored"

    outcomes = support.at_once(app, submit, SUBMISSIONS)

    assert sorted(set(outcomes)) == ["already", "stored"], outcomes
    assert outcomes.count("stored") == 1
    with app.app_context():
        count = db.session.scalar(
            select(func.count(Response.id)).where(Response.invitation_id == invitation_id)
        )
        assert count == 1
        assert db.session.get(Invitation, invitation_id).status == "completed"
        # The detractor's follow-up was created once, with the one response.
        assert db.session.scalar(select(func.count(FollowUp.id))) == 1
        db.session.remove()
        db.engine.dispose()


def test_concurrent_answers_to_a_capped_anonymous_link_fill_exactly_its_cap(seeded_postgres):
    """A public link capped at 5 answers, answered by 30 phones at once: 5 are stored, the other
    25 are told the survey is full (the campaign row's lock orders them)."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import Campaign, Response, Survey, utcnow
    from app.services import campaigns, responses

    cap, phones = 5, 30
    app = support.racing_app(seeded_postgres, phones)
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.code == "branch-service"))
        now = utcnow()
        campaign = campaigns.create_campaign(
            campaigns.CampaignInput(
                name="大堂二维码", survey_id=survey.id, channel="sms", audience="anonymous",
                window_start=now - timedelta(hours=1), window_end=now + timedelta(days=1),
                quota=cap,
            ),
            actor=None,
        )  # fmt: skip
        campaign_id = campaign.id
        token = campaigns.public_link(campaign).rsplit("/", 1)[1]
        form = _lowest_answers(responses.open_link(token).definition)
        db.session.remove()

    def submit(_: int) -> str:
        try:
            responses.submit_link(token, form)
        except responses.CampaignFull:
            return "full"
        return "stored"

    outcomes = support.at_once(app, submit, phones)

    assert (outcomes.count("stored"), outcomes.count("full")) == (cap, phones - cap), outcomes
    with app.app_context():
        stored = db.session.scalar(
            select(func.count(Response.id)).where(Response.campaign_id == campaign_id)
        )
        counted = db.session.get(Campaign, campaign_id).sent_count
        db.session.remove()
        db.engine.dispose()
    assert (stored, counted) == (cap, cap)
