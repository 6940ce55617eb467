"""The customer's submission: one intake row in the request, expanded into exactly what the ORM
path would store (response, answer rows, follow-up, analysis request), with the rollups and the
analysis queue as current as an ORM flush would keep them; exactly once, even when the job that
expands it is lost or a row of its batch cannot be expanded."""

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
    Intake,
    Invitation,
    InvitationStatus,
    QuestionRollup,
    Response,
    SatisfactionRollup,
    SurveyVersion,
    TextAnalysis,
    VoiceRollup,
)
from app.services import invitations, responses, rollups
from app.services.customers import CustomerData
from app.services.tx import transactional
from tests import factories
from tests.services.test_dashboard_rollup_levels import _snapshot

pytestmark = pytest.mark.usefixtures("app")

MOMENT = datetime(2026, 1, 31, 15, 30, tzinfo=UTC)  # 23:30 on 31 January in Beijing
TABLES = (SatisfactionRollup, QuestionRollup, VoiceRollup, FollowUpRollup)


def _link(ext: str, now: datetime = MOMENT) -> str:
    return factories.survey_link(ext, now=now - timedelta(hours=1))[0]


def _form(
    token: str, *, score: str, comment: str, now: datetime = MOMENT, version: bool = False
) -> dict:
    """The answers a customer would post; with ``version``, also the form's hidden version field
    (what the page posts: the submission then takes the one-statement path)."""
    link = responses.open_link(token, now=now)
    defn = link.definition
    form: dict = {responses.VERSION_FIELD: link.version_key} if version else {}
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

    intake = db.session.get(Intake, submitted.intake_id)
    # no broker in the tests: the expansion ran right after the request's commit
    response = db.session.get(Response, intake.response_id)
    assert intake.answers is None and response.answers  # the response keeps the only copy
    assert response.detractor and submitted.thank_you
    assert response.submitted_at == MOMENT and response.branch_id is not None
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


def _accept_only(token: str, form: dict, now: datetime = MOMENT) -> responses.Submitted:
    """A submission whose expansion job is lost (a worker killed within its batching window)."""
    return responses.accept_link(token, form, now=now)


@transactional
def _expand_without_rollups(ids: list[int]) -> None:
    db.session.info["rollups_enabled"] = False
    try:
        responses.expand_intake.__wrapped__(ids)
    finally:
        db.session.info.pop("rollups_enabled", None)


def test_the_periodic_refresh_makes_good_a_refresh_that_never_ran():
    now = datetime.now(UTC)
    token = _link("SUB020", now)
    submitted = _accept_only(token, _form(token, score="5", comment="", now=now), now)
    _expand_without_rollups([submitted.intake_id])
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1
    assert not _snapshot(SatisfactionRollup)  # as if the worker died before sending the job
    rollups.refresh_recent()
    healed = {m.__tablename__: _snapshot(m) for m in TABLES}
    assert healed["rollup_satisfaction"]
    rollups.rebuild()
    assert {m.__tablename__: _snapshot(m) for m in TABLES} == healed


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_an_accepted_submission_counts_as_answered_before_its_response_exists():
    token = _link("SUB030")
    form = _form(token, score="2", comment="柜台服务很慢")
    submitted = _accept_only(token, form)
    assert _count(Response) == 0
    pending = db.session.get(Intake, submitted.intake_id)
    assert pending.response_id is None and pending.answers and pending.submitted_at == MOMENT

    with pytest.raises(responses.AlreadyAnswered):
        responses.open_link(token, now=MOMENT)
    with pytest.raises(responses.AlreadyAnswered):
        responses.submit_link(token, form, now=MOMENT)
    assert _count(Intake) == 1

    # the periodic catch-up makes the response, once; a second run finds nothing to do
    assert responses.expand_all_pending() == 1
    assert responses.expand_all_pending() == 0
    assert responses.expand_batch([submitted.intake_id]) == 0
    response = db.session.scalar(select(Response))
    assert _count(Response) == 1 and response.submitted_at == MOMENT
    assert response.detractor and _count(FollowUp) == 1
    invitation = db.session.get(Invitation, response.invitation_id)
    assert invitation.status == InvitationStatus.COMPLETED and invitation.completed_at == MOMENT
    done = db.session.get(Intake, submitted.intake_id)
    assert done.response_id == response.id and done.answers is None


def test_one_row_that_cannot_be_expanded_does_not_hold_back_its_batch():
    tokens = [_link(f"SUB04{n}") for n in range(3)]
    accepted = [
        _accept_only(t, _form(t, score="4", comment=f"第{n}条")).intake_id
        for n, t in enumerate(tokens)
    ]
    # the middle link was also answered another way (a response on the same invitation)
    blocker = db.session.get(Intake, accepted[1])
    version = db.session.get(SurveyVersion, blocker.version_id)
    responses.store_response(
        version,
        blocker.answers,
        channel="phone",
        now=MOMENT,
        invitation=db.session.get(Invitation, blocker.invitation_id),
    )
    db.session.commit()

    assert responses.expand_batch(accepted) == 2
    expanded = db.session.scalars(select(Intake).order_by(Intake.id)).all()
    assert [row.response_id is not None for row in expanded] == [True, False, True]
    assert expanded[1].answers  # kept, waiting for someone to look at the logged error
    assert _count(Response) == 3


def _stored(submitted: responses.Submitted) -> tuple:
    intake = db.session.get(Intake, submitted.intake_id)
    response = db.session.get(Response, intake.response_id)
    task = db.session.scalar(select(FollowUp).where(FollowUp.source_response_id == response.id))
    rows = db.session.scalars(select(Answer).where(Answer.response_id == response.id)).all()
    answers = sorted(
        (a.question_id, a.item_id or "", a.value_int or 0, a.value_text or "") for a in rows
    )
    invitation = db.session.get(Invitation, intake.invitation_id)
    return (
        response.invitation_id == invitation.id, response.customer_id == invitation.customer_id,
        response.branch_id, response.product_id, response.campaign_id,
        intake.channel, intake.submitted_at, response.answers, response.detractor,
        response.comment_redacted, response.version_id, task is not None,
        answers,
    )  # fmt: skip


def test_a_form_that_posts_its_version_stores_what_the_look_up_path_stores():
    quick_token, plain_token = _link("SUB030"), _link("SUB031")
    comment = "柜员态度冷淡，电话13912340000"
    quick_form = _form(quick_token, score="1", comment=comment, version=True)
    plain_form = _form(plain_token, score="1", comment=comment)
    assert quick_form[responses.VERSION_FIELD].count(":") == 1
    quick = responses.submit_link(quick_token, quick_form, now=MOMENT)
    plain = responses.submit_link(plain_token, plain_form, now=MOMENT)
    assert _stored(quick) == _stored(plain)
    assert quick.thank_you == plain.thank_you
    with pytest.raises(responses.AlreadyAnswered):
        responses.submit_link(quick_token, quick_form, now=MOMENT)


def test_a_posted_version_never_lets_other_answers_or_an_unusable_link_through():
    token = _link("SUB032")
    other = factories.survey_link("SUB033", survey_code="complaint-resolution", now=MOMENT)[0]
    other_form = _form(other, score="1", comment="", version=True)
    # the other survey's answers with the other survey's (valid, cached) version key: the
    # one-statement path finds no such invitation, and the link's own version judges them
    with pytest.raises(responses.AnswersInvalid):
        responses.submit_link(token, other_form, now=MOMENT)
    bad = _form(token, score="1", comment="", version=True) | {"q_overall": "9"}
    with pytest.raises(responses.AnswersInvalid) as invalid:
        responses.submit_link(token, bad, now=MOMENT)
    assert "overall" in invalid.value.fields
    good = _form(token, score="4", comment="", version=True)
    with pytest.raises(responses.LinkGone):  # expired by then: 14 days
        responses.submit_link(token, good, now=MOMENT + timedelta(days=30))
    with pytest.raises(responses.NotFound):
        responses.submit_link("x" * 43, good, now=MOMENT)
    assert db.session.scalar(select(func.count()).select_from(Intake)) == 0
    responses.submit_link(token, good, now=MOMENT)
    assert db.session.scalar(select(func.count()).select_from(Intake)) == 1


def test_writers_of_responses_take_turns_on_postgresql(app):
    """While one transaction is storing responses, another cannot start to: response ids then
    become visible in id order, which the API's ``resume`` cursor relies on."""
    from sqlalchemy import create_engine, text

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        pytest.skip("SQLite serialises every writer anyway")
    token = _link("ORDER1")
    form = _form(token, score="4", comment="")
    intake_id = responses.accept_link(token, form, now=MOMENT).intake_id
    other = create_engine(url)
    try_lock = text("SELECT pg_try_advisory_xact_lock(:key)")
    try:
        with other.connect() as conn:
            assert conn.scalar(try_lock, {"key": responses.RESPONSE_ORDER_LOCK}) is True
            conn.rollback()
            assert responses.expand_intake([intake_id]) == 1  # (this test's open transaction)
            # held until the storing transaction ends (the test's own, rolled back afterwards)
            assert conn.scalar(try_lock, {"key": responses.RESPONSE_ORDER_LOCK}) is False
            conn.rollback()
    finally:
        other.dispose()


@pytest.mark.parametrize("version", [False, True])
def test_a_link_whose_message_could_not_be_delivered_can_still_be_answered(version):
    """An e-mail invitation for a customer without an address fails at once; the API still
    gave its URL to the integrator, who may show it in its own app: it answers like any other."""
    issued = invitations.create_invitation(
        invitations.InvitationRequest(
            survey_code="branch-service",
            customer=CustomerData(external_id=f"SUB04{int(version)}", name="钱敏", phone=None),
            channel="email",
            branch_code="HZ01",
        ),
        now=MOMENT - timedelta(hours=1),
    )
    assert issued.invitation.status == InvitationStatus.FAILED
    token = issued.url.rsplit("/", 1)[1]
    responses.submit_link(token, _form(token, score="5", comment="", version=version), now=MOMENT)
    intake = db.session.scalar(select(Intake).where(Intake.invitation_id == issued.invitation.id))
    assert intake is not None


def test_a_link_submitted_with_nothing_answered_is_refused_and_stays_usable():
    """A questionnaire of optional questions only: an empty submission used the one-time link
    up with a blank response counted as answered."""
    from app.services import surveys

    survey = surveys.create_from_template("branch-service", code="all-optional", actor=None)
    text = (
        "code: all-optional\nquestions:\n"
        "  - {id: overall, type: rating, required: false, title: 您对本次服务满意吗？}\n"
        "  - {id: comment, type: text, required: false, title: 还有什么建议？}\n"
    )
    surveys.update_draft(survey.id, title="选填问卷", description="", text=text)
    surveys.publish(survey.id, actor=None)
    token = factories.survey_link("OPT001", survey_code="all-optional", now=MOMENT)[0]
    for version in (False, True):  # the page's one-statement path and the ORM path alike
        link = responses.open_link(token, now=MOMENT)
        form = {responses.VERSION_FIELD: link.version_key} if version else {}
        with pytest.raises(responses.AnswersInvalid) as refused:
            responses.submit_link(token, {**form, "q_overall": "", "q_comment": " "}, now=MOMENT)
        assert refused.value.fields == {"overall": "请至少回答一道题后再提交"}
    assert db.session.scalar(select(func.count(Intake.id))) == 0
    submitted = responses.submit_link(token, {"q_comment": "挺好"}, now=MOMENT)
    assert db.session.get(Intake, submitted.intake_id) is not None


def test_a_reported_tied_sale_gets_a_call_back_whatever_the_scores():
    """The loan survey's thank-you page promises a call to a customer who reports extra fees or
    a tied sale; with top scores none was scheduled (only detractors were called back)."""
    token = factories.survey_link("SUB-LOAN", survey_code="loan-followup", now=MOMENT)[0]
    answers = {
        "q_loan_type": "consumer",
        "q_overall": "5",
        "q_disclosure": "clear",
        "q_extra_fees": "yes",
        "q_extra_fees_detail": "经办人要求我购买理财产品5万元才放款，他的电话13912345678",
        "q_effort": "7",
        "q_nps": "10",
    }
    submitted = responses.submit_link(token, answers, now=MOMENT)
    assert submitted.dissatisfied  # (the thank-you page offers the complaint form)
    response = db.session.get(Response, db.session.get(Intake, submitted.intake_id).response_id)
    assert not response.detractor
    task = db.session.scalar(select(FollowUp).where(FollowUp.source_response_id == response.id))
    assert task is not None and task.reason == "reported"
    assert task.note.startswith(
        "客户问卷回答：「除合同约定的利息和费用外，是否有人向您收取其他费用，"
        "或要求您购买其他产品」答“有”，请尽快回访核实。客户说明：经办人要求我购买理财产品5万元才放款"
    )  # (what the customer wrote, so the agent need not open the answers; redacted)
    assert "13912345678" not in task.note and "他的电话" in task.note
    assert task.reason_label == "客户反映问题"

    # the same answers without the tied sale: no task
    token = factories.survey_link("SUB-LOAN2", survey_code="loan-followup", now=MOMENT)[0]
    plain = {k: v for k, v in answers.items() if k != "q_extra_fees_detail"}
    submitted = responses.submit_link(token, {**plain, "q_extra_fees": "no"}, now=MOMENT)
    assert not submitted.dissatisfied
    response_id = db.session.get(Intake, submitted.intake_id).response_id
    assert (
        db.session.scalar(select(FollowUp).where(FollowUp.source_response_id == response_id))
        is None
    )


def test_a_customer_who_declines_a_call_gets_none_whatever_they_report():
    """complaint-resolution asks whether the bank may call again; 不同意 (no_call) overrides an
    unresolved problem and low scores alike, 同意 keeps the call-back."""

    def answer(ext: str, callback: str) -> int:
        token = factories.survey_link(ext, survey_code="complaint-resolution", now=MOMENT)[0]
        form = _form(token, score="1", comment="问题没有解决")
        form |= {"q_resolved": "no", "q_callback": callback}
        submitted = responses.submit_link(token, form, now=MOMENT)
        return db.session.get(Intake, submitted.intake_id).response_id

    declined = answer("SUB-NOCALL", "no")
    assert db.session.get(Response, declined).detractor
    assert (
        db.session.scalar(select(FollowUp).where(FollowUp.source_response_id == declined)) is None
    )
    agreed = answer("SUB-CALL", "yes")
    task = db.session.scalar(select(FollowUp).where(FollowUp.source_response_id == agreed))
    assert task is not None and task.reason == "detractor" and "未解决" in task.note
