"""Surveys and their distribution: versions, campaigns, trigger rules, invitations, outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import TimestampMixin, db, utcnow
from app.models.org import (
    PRODUCT_CATEGORY_LABELS,
    SEGMENT_LABELS,
    Branch,
    BranchScoped,
    Customer,
    Product,
    ProductCategory,
)
from app.services.errors import InvalidTransition


class SurveyStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


SURVEY_STATUS_LABELS = {"draft": "草稿", "published": "已发布", "closed": "已关闭"}

CHANNEL_LABELS = {
    "sms": "短信",
    "email": "电子邮件",
    "wechat": "微信",
    "app": "手机银行推送",
    "web": "网页",
    "phone": "电话回访",
    "kiosk": "网点评价器",
}


class Survey(TimestampMixin, db.Model):
    """A questionnaire; ``draft_text`` is the editable YAML, versions are frozen on publish."""

    __tablename__ = "survey"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[SurveyStatus] = mapped_column(String(20), default=SurveyStatus.DRAFT)
    draft_text: Mapped[str] = mapped_column(Text)
    template_code: Mapped[str | None] = mapped_column(String(40))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    closed_at: Mapped[datetime | None]

    versions: Mapped[list[SurveyVersion]] = relationship(
        back_populates="survey", order_by="SurveyVersion.number"
    )

    @property
    def status_label(self) -> str:
        return SURVEY_STATUS_LABELS.get(self.status, self.status)

    @property
    def latest_version(self) -> SurveyVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def serving(self) -> bool:
        """Whether new invitations, campaigns and trigger rules may use the survey: it has a
        published version and is not closed. A survey under revision (draft again) keeps
        serving its last version, unless it was closed when the revision began: 修订 does not
        reopen a closed survey, publishing does."""
        if self.latest_version is None:
            return False
        if self.status == SurveyStatus.PUBLISHED:
            return True
        return self.status == SurveyStatus.DRAFT and self.closed_at is None

    def require_status(self, *allowed: SurveyStatus, action: str) -> None:
        if SurveyStatus(self.status) not in allowed:
            raise InvalidTransition(f"问卷当前为“{self.status_label}”状态，不能{action}")


class SurveyVersion(db.Model):
    """A frozen definition; answers always point at the version they answered."""

    __tablename__ = "survey_version"
    __table_args__ = (UniqueConstraint("survey_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), index=True)
    number: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    definition_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    survey: Mapped[Survey] = relationship(back_populates="versions")


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SENDING = "sending"
    SENT = "sent"
    CLOSED = "closed"


CAMPAIGN_STATUS_LABELS = {
    "draft": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "closed": "已结束",
}
AUDIENCE_LABELS = {
    "branch": "机构（含下级）",
    "product": "持有产品",
    "segment": "客户分层",
    "list": "上传名单",
    "anonymous": "匿名公开链接",
}


class Campaign(TimestampMixin, db.Model):
    """Sending one survey version to an audience through a channel, within a window."""

    __tablename__ = "campaign"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id"))
    channel: Mapped[str] = mapped_column(String(20))
    audience: Mapped[str] = mapped_column(String(20))
    audience_branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"))
    audience_product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    audience_segment: Mapped[str | None] = mapped_column(String(20))
    audience_list: Mapped[str] = mapped_column(Text, default="")
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    expires_days: Mapped[int] = mapped_column(default=14)
    reminder_days: Mapped[int | None]
    quota: Mapped[int | None]
    status: Mapped[CampaignStatus] = mapped_column(String(20), default=CampaignStatus.DRAFT)
    public_nonce: Mapped[str | None] = mapped_column(String(64))
    public_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # the anonymous link takes one answer per browser (a cookie), unless a shared device (a
    # branch's tablet) collects them; campaigns made before the setting took any number
    once_per_device: Mapped[bool] = mapped_column(default=False, server_default=false())
    total: Mapped[int] = mapped_column(default=0)
    processed: Mapped[int] = mapped_column(default=0)
    sent_count: Mapped[int] = mapped_column(default=0)
    skipped_count: Mapped[int] = mapped_column(default=0)
    reminded_count: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    survey: Mapped[Survey] = relationship()
    version: Mapped[SurveyVersion] = relationship()
    audience_branch: Mapped[Branch | None] = relationship()
    audience_product: Mapped[Product | None] = relationship()

    @property
    def status_label(self) -> str:
        if self.audience == "anonymous" and self.status == CampaignStatus.SENT:
            # (an anonymous link sends nothing: it is collecting answers, or is full)
            full = self.quota is not None and self.sent_count >= self.quota
            return "已收满" if full else "收集中"
        return CAMPAIGN_STATUS_LABELS.get(self.status, self.status)

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS.get(self.channel, self.channel)

    @property
    def audience_label(self) -> str:
        return AUDIENCE_LABELS.get(self.audience, self.audience)

    @property
    def segment_label(self) -> str:
        return SEGMENT_LABELS.get(self.audience_segment, self.audience_segment or "")

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(100 * self.processed / self.total)


class CampaignSkip(db.Model):
    """A customer of a campaign's audience who was not sent the survey, and why."""

    __tablename__ = "campaign_skip"
    __table_args__ = (UniqueConstraint("campaign_id", "customer_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    reason_code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow)


TRIGGER_ACTION_LABELS = {"survey": "发送问卷", "visit": "安排电话回访"}


class TriggerRule(TimestampMixin, db.Model):
    """A business event schedules a survey invitation or a follow-up visit after a delay."""

    __tablename__ = "trigger_rule"
    id: Mapped[int] = mapped_column(primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"))
    action: Mapped[str] = mapped_column(String(20), default="survey")
    channel: Mapped[str] = mapped_column(String(20), default="sms")
    delay_hours: Mapped[int] = mapped_column(default=24)
    expires_days: Mapped[int] = mapped_column(default=14)
    active: Mapped[bool] = mapped_column(default=True)
    # Which events the rule takes besides their type (None: any): those at this unit or below
    # it, of this product or of any product of this category (at most one of the two), and
    # what share of them it acts on (the others are recorded as not sampled).
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    product_category: Mapped[str | None] = mapped_column(String(20))
    sample_percent: Mapped[int] = mapped_column(default=100, server_default="100")

    survey: Mapped[Survey] = relationship()
    branch: Mapped[Branch | None] = relationship()
    product: Mapped[Product | None] = relationship()

    @property
    def action_label(self) -> str:
        return TRIGGER_ACTION_LABELS.get(self.action, self.action)

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS.get(self.channel, self.channel)

    @property
    def scope_parts(self) -> list[str]:
        """Which events it takes, in words (empty: every event of its type)."""
        parts = []
        if self.product is not None:
            parts.append(f"产品：{self.product.name}")
        elif self.product_category:
            category = PRODUCT_CATEGORY_LABELS.get(ProductCategory(self.product_category))
            parts.append(f"{category}类产品")
        if self.branch is not None:
            parts.append(f"{self.branch.name}及下属机构")
        if self.sample_percent < 100:
            parts.append(f"抽样 {self.sample_percent}%")
        return parts

    @property
    def delay_label(self) -> str:
        """When the rule acts: 事件发生后立即, 事件发生 2 天后, 事件发生 36 小时后."""
        if not self.delay_hours:
            return "事件发生后立即"
        if self.delay_hours % 24 == 0:
            return f"事件发生 {self.delay_hours // 24} 天后"
        return f"事件发生 {self.delay_hours} 小时后"


class InvitationStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    OPENED = "opened"
    COMPLETED = "completed"
    EXPIRED = "expired"
    FAILED = "failed"
    # never sent and never will be: what it asked about changed before it went out (a
    # complaint-resolution survey whose case was reopened for review); ``failure`` says why
    CANCELLED = "cancelled"


INVITATION_STATUS_LABELS = {
    "queued": "待发送",
    "sent": "已发送",
    "opened": "已打开",
    "completed": "已完成",
    "expired": "已过期",
    "failed": "发送失败",
    "cancelled": "已取消",
}


class Invitation(BranchScoped, TimestampMixin, db.Model):
    """One customer's one-time link: looked up by a SHA-256 hash of its token.

    The token is created when the message goes out (or when an integrator asks for the link),
    so a scheduled invitation has no hash yet. It is also kept sealed (AES-GCM under the
    personal-data key, ``token_sealed``) so that a retry or a reminder carries the *same* link:
    the first message the customer got, and the URL an integrator was given, keep working.
    """

    __tablename__ = "invitation"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id"),
        Index("ix_invitation_due", "status", "scheduled_at"),
        Index("uq_invitation_external_ref", "external_ref", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # An integrator's own id for its request (POST /api/v1/invitations): a retry with it gets
    # the first invitation and its link, and sends nothing again.
    external_ref: Mapped[str | None] = mapped_column(String(100))
    token_sealed: Mapped[str | None] = mapped_column(String(200))
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("survey_version.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    channel: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20), default="api")
    # the complaint a complaint-resolution survey asks about (scheduled when it was closed)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    status: Mapped[InvitationStatus] = mapped_column(String(20), default=InvitationStatus.QUEUED)
    scheduled_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    opened_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    failure: Mapped[str | None] = mapped_column(String(300))

    survey: Mapped[Survey] = relationship()
    version: Mapped[SurveyVersion] = relationship()
    customer: Mapped[Customer | None] = relationship()
    campaign: Mapped[Campaign | None] = relationship()

    @property
    def status_label(self) -> str:
        return INVITATION_STATUS_LABELS.get(self.status, self.status)

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS.get(self.channel, self.channel)

    def expired(self, now: datetime) -> bool:
        return self.status == InvitationStatus.EXPIRED or (
            self.status != InvitationStatus.COMPLETED and self.expires_at <= now
        )


class TriggerFiring(db.Model):
    """One business event taken by one trigger rule for one customer, and what came of it.

    An event is identified by its type (the rule's), the customer and the moment it happened:
    the unique constraint makes an integrator's retry of the same event schedule nothing new,
    whichever gunicorn worker or database session takes it. Events too old to act on are not
    recorded (nothing is scheduled for them anyway)."""

    __tablename__ = "trigger_firing"
    __table_args__ = (
        UniqueConstraint("rule_id", "customer_id", "occurred_at"),
        # the rules page: each rule's last event and its last 30 days by outcome, index-only
        Index("ix_trigger_firing_activity", "rule_id", "created_at", "outcome"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("trigger_rule.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    occurred_at: Mapped[datetime]
    # "survey" or "visit" with the row it scheduled, else the reason_code it was skipped for
    outcome: Mapped[str] = mapped_column(String(40), default="")
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id"))
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followup.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # what the integrator said of the event: {"branch_code", "product_code", "attributes"}, the
    # attributes' texts redacted (shown beside the survey or call it scheduled); None before
    # events were kept
    event: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class OutboundMessage(db.Model):
    """Every message handed to a channel: the development outbox and the delivery log.

    ``body`` keeps the link only for the outbox backend (it *is* the delivery there); real
    channels store the text with the token cut out, so the database never holds a live link.
    """

    __tablename__ = "outbound_message"
    __table_args__ = (Index("ix_outbound_message_retry", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id"))
    channel: Mapped[str] = mapped_column(String(20))
    backend: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), default="invitation")
    recipient_masked: Mapped[str] = mapped_column(String(120), default="")
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS.get(self.channel, self.channel)
