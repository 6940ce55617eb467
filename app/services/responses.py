"""Taking answers: the customer's one-time link (or a campaign's anonymous link), and storing a
response with its scores, answer rows and, for a detractor, a follow-up task in the same commit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, literal, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    Answer,
    Campaign,
    CampaignStatus,
    FollowUp,
    Invitation,
    InvitationStatus,
    Response,
    SurveyVersion,
    utcnow,
)
from app.services import analysis, rollups_tracking
from app.services.errors import Conflict, NotFound, ServiceError, ValidationFailed
from app.services.invitations import hash_token
from app.services.surveys import definition_of, frozen_version
from app.services.tx import transactional
from nlp import redact
from surveys import (
    QuestionType,
    SurveyDefinition,
    answers_from_form,
    is_detractor,
    other_key,
    score_response,
    validate,
)

MAX_TOKEN_LENGTH = 100
DEFAULT_THANKS = "感谢您的宝贵意见，我们会认真改进！"


class LinkGone(ServiceError):
    status = 410
    code = "gone"


class AlreadyAnswered(Conflict):
    code = "already_answered"


class AnswersInvalid(ValidationFailed):
    """Per-question Chinese errors plus the raw answers, so the form can be shown again."""

    def __init__(self, errors: dict[str, str], raw: dict[str, Any]) -> None:
        super().__init__("部分题目未填写或填写有误，请检查标红的题目", fields=errors)
        self.raw = raw


@dataclass
class SurveyLink:
    """What the customer's form shows: the questionnaire and, for an invitation, its expiry."""

    definition: SurveyDefinition
    expires_at: datetime | None = None


def _check_invitation(status: str, expires_at: datetime, now: datetime) -> None:
    if status == InvitationStatus.COMPLETED:
        raise AlreadyAnswered("您已提交过本问卷，感谢您的参与")
    if status in (InvitationStatus.EXPIRED, InvitationStatus.FAILED) or expires_at <= now:
        raise LinkGone("该问卷链接已过期")


def _check_campaign(status: str, window_end: datetime, now: datetime) -> None:
    if status == CampaignStatus.CLOSED or window_end <= now:
        raise LinkGone("本次调查已结束")


def _check_usable(target: Row, now: datetime) -> None:
    """An invitation (``target.id`` set) or a campaign's anonymous link, still answerable."""
    if target.id is not None:
        _check_invitation(target.status, target.expires_at, now)
    else:
        _check_campaign(target.status, target.expires_at, now)


@transactional
def open_link(token: str, *, now: datetime | None = None) -> SurveyLink:
    """The questionnaire behind a link; marks an invitation opened.

    Raises NotFound (unknown link), LinkGone (expired: 410), AlreadyAnswered (used link).
    """
    now = now or utcnow()
    target = _target(token, lock=False)
    _check_usable(target, now)
    if target.id is not None and target.status in (
        InvitationStatus.QUEUED,
        InvitationStatus.SENT,
    ):
        db.session.connection().execute(
            update(_INVITATION)
            .where(_INVITATION.c.id == target.id)
            .values(status=InvitationStatus.OPENED, opened_at=now)
        )
    version = frozen_version(target.version_id, target.definition_hash)
    return SurveyLink(version.definition, target.expires_at if target.id is not None else None)


@dataclass(frozen=True)
class Submitted:
    """A stored response, as the thank-you page and callers need it (no ORM object)."""

    id: int
    branch_id: int | None
    detractor: bool
    thank_you: str


_INVITATION = Invitation.__table__
_CAMPAIGN = Campaign.__table__
_VERSION = SurveyVersion.__table__


def _target(token: str, *, lock: bool) -> Row:
    """The invitation (or campaign) behind a link with its version's id and content hash."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise NotFound("链接不存在")
    digest = hash_token(token)
    conn = db.session.connection()
    inv, ver = _INVITATION.c, _VERSION.c
    stmt = (
        select(
            inv.id, inv.status, inv.expires_at, inv.channel, inv.campaign_id, inv.customer_id,
            inv.branch_id, inv.product_id, inv.version_id, ver.definition_hash,
        )
        .join_from(_INVITATION, _VERSION, ver.id == inv.version_id)
        .where(inv.token_hash == digest)
    )  # fmt: skip
    if lock:
        stmt = stmt.with_for_update(of=_INVITATION)
    found = conn.execute(stmt).first()
    if found is not None:
        return found
    camp = _CAMPAIGN.c
    stmt = (
        select(
            literal(None).label("id"), camp.status, camp.window_end.label("expires_at"),
            camp.channel, camp.id.label("campaign_id"), literal(None).label("customer_id"),
            literal(None).label("branch_id"), literal(None).label("product_id"),
            camp.version_id, ver.definition_hash,
        )
        .join_from(_CAMPAIGN, _VERSION, ver.id == camp.version_id)
        .where(camp.public_token_hash == digest)
    )  # fmt: skip
    found = conn.execute(stmt).first()
    if found is None:
        raise NotFound("链接不存在")
    return found


@transactional
def submit_link(token: str, form: Mapping[str, Any], *, now: datetime | None = None) -> Submitted:
    """Store the answers given through a link; exactly one response per one-time link.

    The invitation row is locked (PostgreSQL; SQLite's use cases hold the write lock) and
    ``survey_response.invitation_id`` is unique, so concurrent submissions of one link store one
    response; the others get AlreadyAnswered. Raises AnswersInvalid with per-question errors,
    NotFound, LinkGone.

    This is the busiest write of the product, so it uses Core statements (five round trips:
    look-up, response, answers, analysis/follow-up, invitation) instead of ORM objects; the
    rollup cells it touches are noted by hand, as an ORM flush would have done.
    """
    now = now or utcnow()
    target = _target(token, lock=True)
    _check_usable(target, now)
    version = frozen_version(target.version_id, target.definition_hash)
    raw = answers_from_form(version.definition, form)
    result = validate(version.definition, raw)
    if not result.ok:
        raise AnswersInvalid(result.errors, raw)
    values = response_values(
        version.definition,
        result.cleaned,
        survey_id=version.survey_id,
        version_id=version.id,
        invitation_id=target.id,
        campaign_id=target.campaign_id,
        customer_id=target.customer_id,
        branch_id=target.branch_id,
        product_id=target.product_id,
        channel=target.channel or "web",
        now=now,
    )
    conn = db.session.connection()
    try:
        response_id = conn.execute(
            insert(Response.__table__).returning(Response.__table__.c.id), values
        ).scalar_one()
    except IntegrityError as err:
        raise AlreadyAnswered("您已提交过本问卷，感谢您的参与") from err
    rollups_tracking.note("satisfaction", now, target.branch_id)
    conn.execute(
        insert(Answer.__table__), answer_values(version.definition, result.cleaned, response_id)
    )
    if values["comment_redacted"]:
        analysis.request_analysis(
            "response", response_id, branch_id=target.branch_id, new=True, now=now
        )
    if values["detractor"] and target.customer_id is not None:
        conn.execute(
            insert(FollowUp.__table__),
            followup_values(values, response_id, now=now),
        )
        rollups_tracking.note("followup", now, target.branch_id)
    if target.id is not None:
        conn.execute(
            update(_INVITATION)
            .where(_INVITATION.c.id == target.id)
            .values(status=InvitationStatus.COMPLETED, completed_at=now)
        )
    return Submitted(
        response_id,
        target.branch_id,
        values["detractor"],
        version.thank_you or DEFAULT_THANKS,
    )


def response_values(
    defn: SurveyDefinition,
    cleaned: dict[str, Any],
    *,
    survey_id: int,
    version_id: int,
    channel: str,
    now: datetime,
    invitation_id: int | None = None,
    campaign_id: int | None = None,
    customer_id: int | None = None,
    branch_id: int | None = None,
    product_id: int | None = None,
) -> dict[str, Any]:
    """The columns of a response: scores, detractor flag, answers, redacted comment."""
    scores = score_response(defn, cleaned)
    return {
        "survey_id": survey_id,
        "version_id": version_id,
        "invitation_id": invitation_id,
        "campaign_id": campaign_id,
        "customer_id": customer_id,
        "branch_id": branch_id,
        "product_id": product_id,
        "channel": channel,
        "submitted_at": now,
        "csat": scores.csat,
        "nps": scores.nps,
        "ces": scores.ces,
        "index_score": scores.index,
        "detractor": is_detractor(scores),
        "answers": cleaned,
        "comment_redacted": redacted_comment(defn, cleaned),
    }


def followup_values(response: Mapping[str, Any], response_id: int, *, now: datetime) -> dict:
    """The follow-up task a detractor's response creates."""
    return {
        "customer_id": response["customer_id"],
        "survey_id": response["survey_id"],
        "version_id": response["version_id"],
        "source_response_id": response_id,
        "product_id": response["product_id"],
        "branch_id": response["branch_id"],
        "reason": "detractor",
        "note": _detractor_note(response["nps"], response["csat"]),
        "due_at": now,
        "created_at": now,
        "updated_at": now,
    }


def store_response(
    version: SurveyVersion,
    cleaned: dict[str, Any],
    *,
    channel: str,
    now: datetime,
    invitation: Invitation | None = None,
    campaign_id: int | None = None,
    customer_id: int | None = None,
    branch_id: int | None = None,
    product_id: int | None = None,
    followup_on_detractor: bool = True,
) -> Response:
    """Add a response with scores and answer rows; a detractor with a known customer also gets
    a follow-up task, in the caller's transaction (flushes only). ORM objects, for the
    callers that go on with them (phone follow-ups, the demo seed)."""
    defn = definition_of(version)
    values = response_values(
        defn,
        cleaned,
        survey_id=version.survey_id,
        version_id=version.id,
        channel=channel,
        now=now,
        invitation_id=invitation.id if invitation else None,
        campaign_id=campaign_id,
        customer_id=customer_id,
        branch_id=branch_id,
        product_id=product_id,
    )
    response = Response(**values)
    db.session.add(response)
    db.session.flush()
    # One executemany without RETURNING: the ORM would send one INSERT per answer row.
    db.session.execute(insert(Answer), answer_values(defn, cleaned, response.id))
    if response.comment_redacted:
        analysis.request_analysis("response", response.id, branch_id=branch_id, new=True)
    if response.detractor and customer_id is not None and followup_on_detractor:
        db.session.add(FollowUp(**followup_values(values, response.id, now=now)))
    return response


def _detractor_note(nps: int | None, csat: int | None) -> str:
    parts = []
    if nps is not None:
        parts.append(f"推荐度 {nps} 分")
    if csat is not None:
        parts.append(f"满意度 {csat} 分")
    return "客户评分较低（" + "，".join(parts) + "），请尽快回访了解原因"


def answer_values(defn: SurveyDefinition, cleaned: dict[str, Any], response_id: int) -> list[dict]:
    """The answer rows of a response as plain values, for one multi-row INSERT."""
    rows: list[dict] = []

    def add(question_id: str, item_id=None, value_int=None, value_text=None) -> None:
        rows.append(
            {
                "response_id": response_id,
                "question_id": question_id,
                "item_id": item_id,
                "value_int": value_int,
                "value_text": value_text,
            }
        )

    for question in defn.questions:
        value = cleaned.get(question.id)
        if value is None:
            continue
        if question.type is QuestionType.MATRIX:
            for item, point in value.items():
                add(question.id, item, value_int=point)
        elif question.type is QuestionType.MULTIPLE:
            for v in value:
                add(question.id, value_text=v)
        elif isinstance(value, int):
            add(question.id, value_int=value)
        else:
            add(question.id, value_text=str(value))
        other = cleaned.get(other_key(question.id))
        if other:
            add(question.id, "other", value_text=other)
    return rows


def answer_rows(defn: SurveyDefinition, cleaned: dict[str, Any], response_id: int) -> list[Answer]:
    return [Answer(**values) for values in answer_values(defn, cleaned, response_id)]


def redacted_comment(defn: SurveyDefinition, cleaned: dict[str, Any]) -> str:
    """All free-text answers joined, personal data removed (nlp.redact)."""
    texts = [
        cleaned[q.id]
        for q in defn.questions
        if q.type is QuestionType.TEXT and isinstance(cleaned.get(q.id), str)
    ]
    return redact("\n".join(t for t in texts if t)).text[:4000]
