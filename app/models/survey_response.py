"""What customers answered, and agents' follow-up calls (回访)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import TimestampMixin, db, utcnow
from app.models.org import Branch, BranchScoped, Customer, Product
from app.models.survey import CHANNEL_LABELS, Invitation, Survey, SurveyVersion
from app.models.user import User


class Response(BranchScoped, db.Model):
    """One submitted questionnaire; ``invitation_id`` is unique, so a link is answered once."""

    __tablename__ = "survey_response"
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id"))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id"), unique=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    csat: Mapped[int | None]
    nps: Mapped[int | None]
    ces: Mapped[int | None]
    index_score: Mapped[float | None] = mapped_column(Float)
    detractor: Mapped[bool] = mapped_column(default=False)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Free text with personal data removed (nlp.redact); what lists, exports and the API show.
    comment_redacted: Mapped[str] = mapped_column(Text, default="")

    survey: Mapped[Survey] = relationship()
    version: Mapped[SurveyVersion] = relationship()
    invitation: Mapped[Invitation | None] = relationship()
    customer: Mapped[Customer | None] = relationship()
    product: Mapped[Product | None] = relationship()
    branch: Mapped[Branch | None] = relationship()
    answer_rows: Mapped[list[Answer]] = relationship(
        back_populates="response", order_by="Answer.id"
    )

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS.get(self.channel, self.channel)


class Intake(db.Model):
    """A submission accepted through a link, waiting to become a response.

    The customer's request validates the answers against the published version and writes only
    this row (one INSERT), so the busiest write of the product stays short;
    ``responses.expand_intake`` then turns batches of intake rows into responses, answer rows,
    follow-up tasks and analysis requests, sets ``response_id`` and clears ``answers`` (the
    response keeps them). ``invitation_id`` is unique and the row is kept, so a one-time link
    is accepted once, before and after its expansion. The customer, branch and product ids are
    copied from the invitation the request looked up (no foreign keys: fewer checks on the hot
    write; the invitation's own keys hold them)."""

    __tablename__ = "survey_intake"
    __table_args__ = (
        Index(
            "ix_survey_intake_pending",
            "id",
            postgresql_where=text("response_id IS NULL"),
            sqlite_where=text("response_id IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id"), unique=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id"))
    campaign_id: Mapped[int | None]
    customer_id: Mapped[int | None]
    branch_id: Mapped[int | None]
    product_id: Mapped[int | None]
    channel: Mapped[str] = mapped_column(String(20))
    submitted_at: Mapped[datetime]
    # The validated answers (surveys.validate's ``cleaned``) until expansion, then NULL.
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("survey_response.id"))


class Answer(db.Model):
    """One answered question (one row per matrix item), for queries by question."""

    __tablename__ = "survey_answer"
    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_response.id"), index=True)
    question_id: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[str | None] = mapped_column(String(64))
    value_int: Mapped[int | None]
    value_text: Mapped[str | None] = mapped_column(Text)

    response: Mapped[Response] = relationship(back_populates="answer_rows")


class FollowUpStatus(StrEnum):
    OPEN = "open"
    SCHEDULED = "scheduled"
    DONE = "done"
    UNREACHABLE = "unreachable"
    REFUSED = "refused"
    CANCELLED = "cancelled"


FOLLOWUP_STATUS_LABELS = {
    "open": "待回访",
    "scheduled": "预约回拨",
    "done": "已完成",
    "unreachable": "无法联系",
    "refused": "客户拒访",
    "cancelled": "已取消",
}
FOLLOWUP_REASON_LABELS = {
    "detractor": "低分客户",
    "reported": "客户反映问题",
    "trigger": "业务事件",
    "manual": "人工指派",
}
OPEN_FOLLOWUP_STATUSES = (FollowUpStatus.OPEN, FollowUpStatus.SCHEDULED)
OPEN_TASKS = "status IN ('open', 'scheduled')"  # (the partial index's condition, as SQL)


class FollowUp(BranchScoped, TimestampMixin, db.Model):
    """An agent's task to call a customer back, with the questionnaire as the script."""

    __tablename__ = "followup"
    __table_args__ = (
        # The 回访 queue: the open tasks by due time. Through ix_followup_due_at it walked past
        # every finished task (1.0 s at 150,000 tasks, 148,000 of them done).
        Index(
            "ix_followup_open_due",
            "due_at",
            "id",
            postgresql_where=text(OPEN_TASKS),
            sqlite_where=text(OPEN_TASKS),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id"))
    source_response_id: Mapped[int | None] = mapped_column(ForeignKey("survey_response.id"))
    result_response_id: Mapped[int | None] = mapped_column(ForeignKey("survey_response.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[FollowUpStatus] = mapped_column(String(20), default=FollowUpStatus.OPEN)
    due_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    closed_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship()
    survey: Mapped[Survey] = relationship()
    version: Mapped[SurveyVersion] = relationship()
    source_response: Mapped[Response | None] = relationship(foreign_keys=[source_response_id])
    result_response: Mapped[Response | None] = relationship(foreign_keys=[result_response_id])
    assigned_to: Mapped[User | None] = relationship()
    branch: Mapped[Branch | None] = relationship()
    call_attempts: Mapped[list[CallAttempt]] = relationship(order_by="CallAttempt.id")

    @property
    def status_label(self) -> str:
        return FOLLOWUP_STATUS_LABELS.get(self.status, self.status)

    @property
    def reason_label(self) -> str:
        return FOLLOWUP_REASON_LABELS.get(self.reason, self.reason)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_FOLLOWUP_STATUSES


OUTCOME_LABELS = {
    "reached": "接通",
    "no_answer": "无人接听",
    "busy": "占线",
    "invalid_number": "空号/错号",
    "refused": "拒访",
    "callback": "预约回拨",
}


class CallAttempt(db.Model):
    """One call of a follow-up and its outcome; never changed afterwards."""

    __tablename__ = "call_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    followup_id: Mapped[int] = mapped_column(ForeignKey("followup.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    callback_at: Mapped[datetime | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)

    agent: Mapped[User | None] = relationship()

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS.get(self.outcome, self.outcome)
