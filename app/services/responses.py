"""Taking answers: the customer's one-time link (or a campaign's anonymous link), and storing a
response with its scores, answer rows and, for a detractor, a follow-up task in the same commit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
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
from app.services import analysis
from app.services.errors import Conflict, NotFound, ServiceError, ValidationFailed
from app.services.invitations import hash_token
from app.services.surveys import definition_of
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
    version: SurveyVersion
    definition: SurveyDefinition
    invitation: Invitation | None = None
    campaign: Campaign | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def _find(token: str, *, lock: bool = False) -> SurveyLink:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise NotFound("链接不存在")
    digest = hash_token(token)
    stmt = select(Invitation).where(Invitation.token_hash == digest)
    if lock:
        stmt = stmt.with_for_update()
    invitation = db.session.scalar(stmt.execution_options(include_all_branches=True))
    if invitation is not None:
        return SurveyLink(invitation.version, definition_of(invitation.version), invitation)
    campaign = db.session.scalar(select(Campaign).where(Campaign.public_token_hash == digest))
    if campaign is None:
        raise NotFound("链接不存在")
    return SurveyLink(campaign.version, definition_of(campaign.version), campaign=campaign)


def _check_usable(link: SurveyLink, now: datetime) -> None:
    invitation, campaign = link.invitation, link.campaign
    if invitation is not None:
        if invitation.status == InvitationStatus.COMPLETED:
            raise AlreadyAnswered("您已提交过本问卷，感谢您的参与")
        if invitation.expired(now) or invitation.status == InvitationStatus.FAILED:
            raise LinkGone("该问卷链接已过期")
    elif campaign is not None:
        if campaign.status == CampaignStatus.CLOSED or campaign.window_end <= now:
            raise LinkGone("本次调查已结束")


@transactional
def open_link(token: str, *, now: datetime | None = None) -> SurveyLink:
    """The questionnaire behind a link; marks an invitation opened.

    Raises NotFound (unknown link), LinkGone (expired: 410), AlreadyAnswered (used link).
    """
    now = now or utcnow()
    link = _find(token)
    _check_usable(link, now)
    invitation = link.invitation
    if invitation is not None and invitation.status in (
        InvitationStatus.QUEUED,
        InvitationStatus.SENT,
    ):
        invitation.status = InvitationStatus.OPENED
        invitation.opened_at = now
    return link


@transactional
def submit_link(token: str, form: Mapping[str, Any], *, now: datetime | None = None) -> Response:
    """Store the answers given through a link; exactly one response per one-time link.

    The invitation row is locked (PostgreSQL) and ``survey_response.invitation_id`` is unique,
    so concurrent submissions of one link store one response; the others get AlreadyAnswered.
    Raises AnswersInvalid with per-question errors, NotFound, LinkGone.
    """
    now = now or utcnow()
    link = _find(token, lock=True)
    _check_usable(link, now)
    raw = answers_from_form(link.definition, form)
    result = validate(link.definition, raw)
    if not result.ok:
        raise AnswersInvalid(result.errors, raw)
    invitation, campaign = link.invitation, link.campaign
    response = store_response(
        link.version,
        result.cleaned,
        channel=invitation.channel if invitation else (campaign.channel if campaign else "web"),
        now=now,
        invitation=invitation,
        campaign_id=invitation.campaign_id if invitation else campaign.id,
        customer_id=invitation.customer_id if invitation else None,
        branch_id=invitation.branch_id if invitation else None,
        product_id=invitation.product_id if invitation else None,
    )
    if invitation is not None:
        invitation.status = InvitationStatus.COMPLETED
        invitation.completed_at = now
    try:
        db.session.flush()
    except IntegrityError as err:
        raise AlreadyAnswered("您已提交过本问卷，感谢您的参与") from err
    # Kept outside the mapped attributes, so the thank-you page needs no query after the commit.
    response.thank_you = link.version.definition.get("thank_you") or DEFAULT_THANKS
    return response


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
    a follow-up task, in the caller's transaction (flushes only)."""
    defn = definition_of(version)
    scores = score_response(defn, cleaned)
    response = Response(
        survey_id=version.survey_id,
        version_id=version.id,
        invitation_id=invitation.id if invitation else None,
        campaign_id=campaign_id,
        customer_id=customer_id,
        branch_id=branch_id,
        product_id=product_id,
        channel=channel,
        submitted_at=now,
        csat=scores.csat,
        nps=scores.nps,
        ces=scores.ces,
        index_score=scores.index,
        detractor=is_detractor(scores),
        answers=cleaned,
        comment_redacted=redacted_comment(defn, cleaned),
    )
    db.session.add(response)
    db.session.flush()
    # One executemany without RETURNING: the ORM would send one INSERT per answer row.
    db.session.execute(insert(Answer), answer_values(defn, cleaned, response.id))
    if response.comment_redacted:
        analysis.request_analysis("response", response.id, branch_id=branch_id, new=True)
    if response.detractor and customer_id is not None and followup_on_detractor:
        db.session.add(
            FollowUp(
                customer_id=customer_id,
                survey_id=version.survey_id,
                version_id=version.id,
                source_response_id=response.id,
                product_id=product_id,
                branch_id=branch_id,
                reason="detractor",
                note=_detractor_note(response),
                due_at=now,
            )
        )
    return response


def _detractor_note(response: Response) -> str:
    parts = []
    if response.nps is not None:
        parts.append(f"推荐度 {response.nps} 分")
    if response.csat is not None:
        parts.append(f"满意度 {response.csat} 分")
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
