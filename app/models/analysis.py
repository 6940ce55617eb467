"""Text-analysis results for any saved free text, and staff corrections of their labels."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import TimestampMixin, db, utcnow
from app.models.org import BranchScoped


class AnalysisStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


SENTIMENT_LABELS = {"negative": "负面", "neutral": "中性", "positive": "正面"}


class TextAnalysis(BranchScoped, TimestampMixin, db.Model):
    """The analysis of one source text; the text itself stays in its source table."""

    __tablename__ = "text_analysis"
    __table_args__ = (UniqueConstraint("source_type", "source_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source_type: Mapped[str] = mapped_column(String(30))
    source_id: Mapped[int]
    status: Mapped[AnalysisStatus] = mapped_column(String(10), default=AnalysisStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    analysed_at: Mapped[datetime | None] = mapped_column(index=True)
    source_created_at: Mapped[datetime | None] = mapped_column(index=True)
    model_version: Mapped[str | None] = mapped_column(String(60))
    redacted_text: Mapped[str | None] = mapped_column(Text)
    redaction_kinds: Mapped[str] = mapped_column(String(100), default="")
    sentiment: Mapped[str | None] = mapped_column(String(10), index=True)
    sentiment_score: Mapped[float | None] = mapped_column(Float)
    sentiment_confidence: Mapped[float | None] = mapped_column(Float)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    topic_id: Mapped[int | None]
    business_code: Mapped[str | None] = mapped_column(String(20))
    cause_code: Mapped[str | None] = mapped_column(String(20))
    channel_code: Mapped[str | None] = mapped_column(String(20))
    urgency: Mapped[str | None] = mapped_column(String(10), index=True)
    urgency_score: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    corrected: Mapped[bool] = mapped_column(default=False)

    @property
    def sentiment_label(self) -> str:
        return SENTIMENT_LABELS.get(self.sentiment or "", "—")

    def mark_failed(self, error: str) -> None:
        self.status = AnalysisStatus.FAILED
        self.attempts += 1
        self.last_error = error[:500]

    def apply(self, result: Any) -> None:
        """Copy an ``nlp.TextAnalysis`` onto this row; the caller puts staff corrections back
        (``app.services.analysis``)."""
        self.status = AnalysisStatus.DONE
        self.attempts += 1
        self.last_error = None
        self.analysed_at = utcnow()
        self.model_version = result.model_version
        self.redacted_text = result.text
        self.redaction_kinds = ",".join(result.redactions)
        self.sentiment = result.sentiment
        self.sentiment_score = round(float(result.sentiment_score), 4)
        self.sentiment_confidence = round(float(result.sentiment_confidence), 4)
        self.keywords = list(result.keywords)
        self.topic_id = result.topic
        category = result.category
        self.business_code = category.business.code if category.business else None
        self.cause_code = category.cause.code if category.cause else None
        self.channel_code = category.channel.code if category.channel else None
        self.urgency = result.urgency.priority
        self.urgency_score = round(float(result.urgency.score), 3)
        self.detail = {"category": category.to_dict(), "urgency": result.urgency.to_dict()}


class LabelCorrection(db.Model):
    """A staff member's correction of a label; the training material for ``flask nlp train``."""

    __tablename__ = "label_correction"
    id: Mapped[int] = mapped_column(primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("text_analysis.id"), index=True)
    field: Mapped[str] = mapped_column(String(20))
    old_value: Mapped[str | None] = mapped_column(String(40))
    new_value: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
