"""Customer notices of complaints go through the channel's real gateway when one is configured:
queued in the use case, delivered after its commit, retried with back-off, failed after the
last attempt, and proof of a decision notice only once the gateway accepted it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Role, utcnow
from app.models.outbox import OutboxMessage
from app.services import complaint_casework as casework
from app.services import complaint_handling as handling
from app.services import notify
from tests import factories
from tests.services.test_complaints import decide, new
from tests.services.test_survey_services import Gateway, gateway  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("app")


def _messages(complaint, purpose):
    return db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.related_id == complaint.id, OutboxMessage.purpose == purpose)
        .order_by(OutboxMessage.id)
    ).all()


def test_the_acknowledgement_goes_through_the_sms_gateway_after_the_commit(gateway):  # noqa: F811
    complaint = new()
    (ack,) = _messages(complaint, "acknowledgement")
    assert ack.status == "sent" and ack.attempts == 1 and ack.next_attempt_at is None
    (call,) = [c for c in gateway.calls if complaint.reference in c["text"]]
    assert call["to"] == "13800001111" and call["channel"] == "sms"
    assert "您的投诉已收到" in call["text"]


def test_a_failing_gateway_loses_nothing_and_is_retried_then_given_up(gateway):  # noqa: F811
    gateway.fail = True
    complaint = new()  # stored although the gateway refuses
    (ack,) = _messages(complaint, "acknowledgement")
    assert ack.status == "failed" and "503" in ack.error and ack.attempts == 1
    first_retry = ack.next_attempt_at
    assert first_retry is not None
    assert notify.deliver_due(first_retry - timedelta(seconds=1)) == 0  # back-off not over
    at = first_retry
    for _ in range(notify.MAX_ATTEMPTS - 1):
        assert notify.deliver_due(at) == 1
        db.session.refresh(ack)
        at = ack.next_attempt_at or at
    assert ack.status == "failed" and ack.attempts == notify.MAX_ATTEMPTS
    assert ack.next_attempt_at is None  # the last attempt: shown as failed, no more retries
    assert notify.deliver_due(at + timedelta(days=1)) == 0
    tries = [c for c in gateway.calls if complaint.reference in c["text"]]
    assert len(tries) == notify.MAX_ATTEMPTS
    assert {(c["id"], c["_idempotency_key"]) for c in tries} == {(f"kesheng-notice-{ack.id}",) * 2}
    gateway.fail = False


def _decided_with_a_refused_notice(gateway):  # noqa: F811
    """A decided case whose SMS decision notice the gateway refused at first."""
    agent = factories.user(Role.AGENT, "HZ")
    complaint = new()
    handling.accept(complaint.id, actor=agent)
    decide(complaint, agent)
    gateway.fail = True
    handling.record_notice(complaint.id, actor=agent, method="sms", purpose="decision")
    (notice,) = _messages(complaint, "decision")
    return complaint, notice


def test_a_decision_notice_is_proof_only_once_the_gateway_took_it(gateway):  # noqa: F811
    complaint, notice = _decided_with_a_refused_notice(gateway)
    assert notice.status == "failed"
    assert not casework.notice_proven(complaint)
    gateway.fail = False
    assert notify.deliver_due(notice.next_attempt_at) == 1
    db.session.refresh(notice)
    assert notice.status == "sent" and casework.notice_proven(complaint)


def test_the_decision_counts_as_communicated_when_the_gateway_took_its_notice(gateway):  # noqa: F811
    """Art. 18: made *and communicated*. A notice the gateway refused first and accepted on a
    retry reached the customer at the retry, not when it was written."""
    complaint, notice = _decided_with_a_refused_notice(gateway)
    assert complaint.decision_notified_at is None and complaint.awaiting_notice
    gateway.fail = False
    retry = notice.next_attempt_at
    assert notify.deliver_due(retry) == 1
    db.session.refresh(complaint)
    assert complaint.decision_notified_at == retry and not complaint.awaiting_notice


def test_without_a_gateway_the_outbox_is_the_delivery():
    complaint = new()
    (ack,) = _messages(complaint, "acknowledgement")
    assert ack.status == "sent" and ack.next_attempt_at is None
    assert notify.deliver_due(utcnow() + timedelta(days=1)) == 0


def test_the_case_page_shows_each_notice_as_its_delivery_stands(client, auth, gateway):  # noqa: F811
    gateway.fail = True
    complaint = new()
    (ack,) = _messages(complaint, "acknowledgement")
    auth.login("agent")
    page = client.get(f"/staff/complaints/{complaint.id}").get_data(as_text=True)
    assert "结果：发送失败（稍后自动重试）" in page
    gateway.fail = False
    notify.deliver_due(ack.next_attempt_at)
    page = client.get(f"/staff/complaints/{complaint.id}").get_data(as_text=True)
    assert "结果：已发送" in page and "发送失败" not in page.split("处理记录")[-1]
