"""A review (核查) of a decided complaint: the figures keep counting the first decision, and
the survey on how the complaint was resolved waits until the review is closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Complaint, Invitation, Role, utcnow
from app.models.complaint import ComplaintEvent, Status, first_decision
from app.models.rollup import ComplaintRollup
from app.models.survey import InvitationStatus
from app.services import complaint_casework as casework
from app.services import complaint_clock as clock
from app.services import complaint_handling as handling
from app.services import regulator_report, responses_query, rollups, survey_triggers
from app.services.errors import Conflict
from app.web.api.complaints import complaint_out
from tests import factories
from tests.services.test_complaints import decide, new


def _close(c, agent) -> None:
    casework.close(
        c.id,
        actor=agent,
        code_channel="A04",
        code_business="B03.02",
        code_cause="C05",
        root_cause="年费政策宣传不一致",
    )


def _cell(day, branch_id) -> tuple[int, int, int]:
    """(decided, decided in time, days to decision) of the day rollups of one day and branch."""
    row = db.session.execute(
        select(
            func.coalesce(func.sum(ComplaintRollup.decided), 0),
            func.coalesce(func.sum(ComplaintRollup.decided_in_time), 0),
            func.coalesce(func.sum(ComplaintRollup.decision_days), 0),
        ).where(
            ComplaintRollup.period == "d",
            ComplaintRollup.day == day,
            ComplaintRollup.branch_id == branch_id,
        )
    ).one()
    return tuple(int(v) for v in row)


def _decided_first(agent, *, days_after_receipt: int, received_days_ago: int = 35):
    """A case received ``received_days_ago`` days ago, decided ``days_after_receipt`` days
    after and told the next day, closed."""
    c = new(received_at=utcnow() - timedelta(days=received_days_ago))
    handling.accept(c.id, actor=agent)
    decide(c, agent)
    c.decided_at = c.received_at + timedelta(days=days_after_receipt)
    db.session.commit()
    handling.record_notice(c.id, actor=agent, method="phone", purpose="decision", outcome="reached")
    c.decision_notified_at = c.decided_at + timedelta(days=1)
    db.session.commit()
    _close(c, agent)
    return c


def _reviewed(c, agent) -> None:
    """The customer asks for a review today; it is decided, told and closed today."""
    handling.request_review(
        c.id, actor=agent, requested_on=clock.local_date(utcnow()), reason="客户书面申请核查"
    )
    decide(c, factories.user(Role.AGENT, "HZ"))  # the superior unit's, not the first decider
    handling.record_notice(
        c.id, actor=agent, method="phone", purpose="review_decision", outcome="reached"
    )
    _close(c, agent)


def test_a_review_leaves_the_first_decision_in_the_figures(db_session):
    """Decided 10 days after receipt (in time, told the next day), reviewed a month later:
    the dashboards counted the case as decided today after 35 days (the review's decision
    overwrote decided_at), on today's row instead of the first decision's day."""
    agent = factories.user(Role.AGENT, "HZ")
    c = _decided_first(agent, days_after_receipt=10)
    first_at, first_due = c.decided_at, c.due_at
    first_day, today = clock.local_date(first_at), clock.local_date(utcnow())
    rollups.rebuild(["complaint"])
    before = _cell(first_day, c.branch_id), _cell(today, c.branch_id)
    _reviewed(c, agent)
    assert c.status == Status.CLOSED and c.decided_at > first_at  # (the review's decision)
    assert first_decision(c) == (first_due, first_at, first_at + timedelta(days=1))
    assert c.due_at != first_due  # (the review's own deadline)
    for _ in ("refreshed after each use case", "rebuilt"):
        assert _cell(first_day, c.branch_id) == before[0]
        assert _cell(today, c.branch_id) == before[1]
        rollups.rebuild(["complaint"])
    first = [e.to_status for e in db.session.scalars(
        select(ComplaintEvent).where(ComplaintEvent.complaint_id == c.id)
    ) if e.kind == "status"]  # fmt: skip
    assert first.count("decided") == 1 and first.count("review_decided") == 1
    assert regulator_report._in_time(c, utcnow()) == "是"
    out = complaint_out(c)
    assert out.first_decided_at == first_at and out.decided_at == c.decided_at
    # one review: a second request is refused and changes nothing
    with pytest.raises(Conflict, match="不能再次申请核查.*调解、仲裁或提起诉讼"):
        handling.request_review(
            c.id, actor=agent, requested_on=clock.local_date(utcnow()), reason="客户再次申请"
        )
    db.session.expire_all()
    assert c.status == Status.CLOSED and first_decision(c).decided == first_at


def test_an_overdue_review_is_escalated_though_the_case_was_escalated_before(db_session):
    """The sweep escalates a case once; a case escalated for its first decision was never
    escalated again when its review ran past its own 30 days."""
    from app.services import complaint_escalation

    agent = factories.user(Role.AGENT, "HZ")
    c = _decided_first(agent, days_after_receipt=20, received_days_ago=60)  # decided 40 days ago
    c.escalated_at = c.decided_at  # (escalated when its first deadline passed)
    db.session.commit()
    asked = clock.local_date(utcnow()) - timedelta(days=35)  # 5 days after the decision
    handling.request_review(c.id, actor=agent, requested_on=asked, reason="客户书面申请核查")
    assert clock.local_date(c.due_at) < clock.local_date(utcnow())  # the review is overdue
    assert c.reference in complaint_escalation.sweep_deadlines()
    assert c.reference not in complaint_escalation.sweep_deadlines()  # once


def test_a_late_first_decision_stays_late_after_a_timely_review(db_session):
    """Decided 20 days after receipt (15 allowed): late. The review, decided the day it was
    asked for, made the case count as decided in time in the regulator report and rollups."""
    agent = factories.user(Role.AGENT, "HZ")
    c = _decided_first(agent, days_after_receipt=20, received_days_ago=40)
    first_day = clock.local_date(c.decided_at)
    rollups.rebuild(["complaint"])
    decided, in_time, days = _cell(first_day, c.branch_id)
    assert regulator_report._in_time(c, utcnow()) == "否"
    _reviewed(c, agent)
    assert regulator_report._in_time(c, utcnow()) == "否"
    rollups.rebuild(["complaint"])
    assert _cell(first_day, c.branch_id) == (decided, in_time, days)


def _resolution_survey(c) -> Invitation | None:
    return db.session.scalar(
        select(Invitation)
        .where(Invitation.customer_id == c.customer_id)
        .order_by(Invitation.id.desc())
        .execution_options(include_all_branches=True)
    )


def test_a_review_request_cancels_the_resolution_survey_not_yet_sent(db_session):
    """Closed: the complaint-resolution survey is scheduled 24 h later. The customer asks for
    a review before it goes out: it was still sent, asking how satisfied they are with a
    resolution being re-examined. Now it is cancelled (kept, with the reason, in the case's
    history too) and closing the review schedules a new one."""
    agent = factories.user(Role.AGENT, "HZ")
    c = _decided_first(agent, days_after_receipt=5, received_days_ago=10)
    first = _resolution_survey(c)
    assert first is not None and first.survey.code == "complaint-resolution"
    assert first.status == InvitationStatus.QUEUED and first.complaint_id == c.id
    handling.request_review(
        c.id, actor=agent, requested_on=clock.local_date(utcnow()), reason="客户书面申请核查"
    )
    db.session.expire_all()
    assert first.status == InvitationStatus.CANCELLED and "客户已申请核查" in first.failure
    note = db.session.scalars(
        select(ComplaintEvent).where(
            ComplaintEvent.complaint_id == c.id, ComplaintEvent.kind == "survey"
        )
    ).one()
    assert "满意度调查已取消" in note.text and note.detail["cancelled_invitations"] == [first.id]
    report = survey_triggers.dispatch_due(first.scheduled_at + timedelta(minutes=1))
    db.session.expire_all()
    assert first.status == InvitationStatus.CANCELLED and first.sent_at is None
    assert first.token_hash is None and report.sent == 0
    seen = responses_query.invitation_status(first.id)  # what GET /api/v1/invitations/<id> says
    assert (seen["status"], seen["cancelled"]) == ("expired", True)  # CONTRACT.md's six statuses
    # the review closed: a new survey, as on any close
    decide(c, factories.user(Role.AGENT, "HZ"))  # (the superior unit's, not the first decider)
    handling.record_notice(
        c.id, actor=agent, method="phone", purpose="review_decision", outcome="reached"
    )
    _close(c, agent)
    second = _resolution_survey(c)
    assert second.id != first.id and second.status == InvitationStatus.QUEUED
    assert second.complaint_id == c.id and second.scheduled_at > c.closed_at


def test_a_resolution_survey_is_not_sent_while_its_complaint_is_open(db_session):
    """However the case came to be open again, the queued survey is not sent but cancelled."""
    agent = factories.user(Role.AGENT, "HZ")
    c = _decided_first(agent, days_after_receipt=5, received_days_ago=10)
    invitation = _resolution_survey(c)
    db.session.get(Complaint, c.id).status = Status.REVIEW_REQUESTED  # (not via request_review)
    db.session.commit()
    report = survey_triggers.dispatch_due(invitation.scheduled_at + timedelta(minutes=1))
    db.session.expire_all()
    assert report.sent == 0 and invitation.sent_at is None
    assert invitation.status == InvitationStatus.CANCELLED and "核查中" in invitation.failure


def test_a_review_decision_is_told_as_a_review_decision(db_session):
    """After a review, the notice form defaulted to 处理决定告知 and the customer's SMS named the
    review's decision 处理决定; each purpose is now refused where the other one is due."""
    import pytest

    from app.services.errors import ValidationFailed

    agent = factories.user(Role.AGENT, "HZ")
    c = _decided_first(agent, days_after_receipt=10)
    handling.request_review(
        c.id, actor=agent, requested_on=clock.local_date(utcnow()), reason="客户书面申请核查"
    )
    assert not c.decision_is_review
    with pytest.raises(ValidationFailed, match="尚未作出核查决定"):
        handling.record_notice(
            c.id, actor=agent, method="phone", purpose="review_decision", outcome="reached"
        )
    decide(c, factories.user(Role.AGENT, "HZ"))
    assert c.decision_is_review
    with pytest.raises(ValidationFailed, match="请选择“核查决定告知”"):
        handling.record_notice(c.id, actor=agent, method="sms", purpose="decision", outcome=None)
    handling.record_notice(c.id, actor=agent, method="sms", purpose="review_decision")
    told = db.session.scalars(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == c.id, ComplaintEvent.kind == "notice")
        .order_by(ComplaintEvent.id)
    ).all()[-1]
    assert "核查决定：" in told.text and "处理决定：" not in told.text
