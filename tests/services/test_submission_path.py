"""The customer's submission (Core statements, no ORM objects) stores exactly what the ORM path
would, and keeps the rollups and the analysis queue as current as an ORM flush would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AnalysisStatus,
    Answer,
    FollowUp,
    FollowUpRollup,
    Invitation,
    InvitationStatus,
    QuestionRollup,
    Response,
    SatisfactionRollup,
    TextAnalysis,
    VoiceRollup,
)
from app.services import invitations, responses, rollups
from app.services.customers import CustomerData
from app.services.tx import transactional
from tests.services.test_dashboard_rollup_levels import _snapshot

pytestmark = pytest.mark.usefixtures("app")

MOMENT = datetime(2026, 1, 31, 15, 30, tzinfo=UTC)  # 23:30 on 31 January in Beijing
TABLES = (SatisfactionRollup, QuestionRollup, VoiceRollup, FollowUpRollup)


def _link(ext: str, now: datetime = MOMENT) -> str:
    issued = invitations.create_invitation(
        invitations.InvitationRequest(
            survey_code="branch-service",
            customer=CustomerData(external_id=ext, name="孙丽", phone="13800005555"),
            channel="sms",
            branch_code="HZ01",
        ),
        now=now - timedelta(hours=1),
    )
    return issued.url.rsplit("/", 1)[1]


def _form(token: str, *, score: str, comment: str, now: datetime = MOMENT) -> dict:
    defn = responses.open_link(token, now=now).definition
    form: dict = {}
    for q in defn.questions:
        if q.type.value == "text":
            form[f"q_{q.id}"] = comment
        elif q.items:
            form.update({f"q_{q.id}__{item.id}": "2" for item in q.items})
        elif q.scale_type is not None:
            form[f"q_{q.id}"] = score
        elif q.options:
            plain = [o.value for o in q.options if not o.other and not o.exclusive]
            form[f"q_{q.id}"] = [plain[0]] if q.type.value == "multiple" else plain[0]
    return form


def test_a_detractors_submission_stores_everything_in_one_commit():
    token = _link("SUB001")
    form = _form(token, score="1", comment="等了一个小时没人管，电话13912340000")
    submitted = responses.submit_link(token, form, now=MOMENT)

    response = db.session.get(Response, submitted.id)
    assert response.detractor and submitted.detractor
    assert response.submitted_at == MOMENT and response.branch_id == submitted.branch_id
    assert (
        "13912340000" not in response.comment_redacted
        and "等了一个小时" in response.comment_redacted
    )
    stored = db.session.scalars(select(Answer).where(Answer.response_id == response.id)).all()
    assert len(stored) >= len(response.answers)
    invitation = db.session.get(Invitation, response.invitation_id)
    assert invitation.status == InvitationStatus.COMPLETED and invitation.completed_at == MOMENT
    task = db.session.scalar(select(FollowUp).where(FollowUp.source_response_id == response.id))
    assert task is not None and task.reason == "detractor" and "请尽快回访" in task.note
    assert task.customer_id == response.customer_id and task.branch_id == response.branch_id
    analysed = db.session.scalar(
        select(TextAnalysis).where(
            TextAnalysis.source_type == "response", TextAnalysis.source_id == response.id
        )
    )
    # no broker in the tests: the job ran inline after the commit
    assert analysed.status == AnalysisStatus.DONE and analysed.branch_id == response.branch_id

    with pytest.raises(responses.AlreadyAnswered):
        responses.submit_link(token, form, now=MOMENT)
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1


def test_the_rollups_after_submissions_equal_a_full_rebuild():
    for n, score in enumerate(["1", "5", "3"]):
        token = _link(f"SUB1{n}")
        responses.submit_link(token, _form(token, score=score, comment=f"第{n}条意见"), now=MOMENT)
    incremental = {m.__tablename__: _snapshot(m) for m in TABLES}
    assert incremental["rollup_satisfaction"] and incremental["rollup_followup"]
    rollups.rebuild()
    assert {m.__tablename__: _snapshot(m) for m in TABLES} == incremental


@transactional
def _without_rollups(token: str, form: dict) -> None:
    db.session.info["rollups_enabled"] = False
    try:
        responses.submit_link.__wrapped__(token, form, now=datetime.now(UTC))
    finally:
        db.session.info.pop("rollups_enabled", None)


def test_the_periodic_refresh_makes_good_a_refresh_that_never_ran():
    now = datetime.now(UTC)
    token = _link("SUB020", now)
    _without_rollups(token, _form(token, score="5", comment="", now=now))
    assert not _snapshot(SatisfactionRollup)  # as if the worker died before sending the job
    rollups.refresh(rollups.recent_cells())
    healed = {m.__tablename__: _snapshot(m) for m in TABLES}
    assert healed["rollup_satisfaction"]
    rollups.rebuild()
    assert {m.__tablename__: _snapshot(m) for m in TABLES} == healed
