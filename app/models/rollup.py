"""Dashboard rollups: integer sums per Asia/Shanghai day and branch, kept current by jobs.

Every figure a dashboard shows is a ratio of sums stored here, so adding rows in any grouping
gives exact results. The rows are derived data: ``app.services.rollups`` recomputes a
(day, branch) cell from the raw rows, so a retried or duplicated job never double-counts.
They are BranchScoped, so a signed-in viewer only ever aggregates their own branch subtree.
``period`` is "d" for a day row, "w" for a week row (``day`` = its Monday) and "m" for a month
row (``day`` = the month's first day), the sums of that week's or month's day rows, so a year's
figures read a few thousand rows, not a million. The indexes lead with ``period`` so a range of
month rows is read without touching the day rows between them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import db, utcnow
from app.models.org import BranchScoped

METRIC_COLUMNS = (
    "responses",
    "csat_n",
    "csat_sum",
    "csat_top2",
    "nps_n",
    "promoters",
    "detractors",
    "ces_n",
    "ces_sum",
    "index_n",
    "index_units",
)


def _count() -> Any:
    return mapped_column(Integer, default=0, nullable=False)


class SatisfactionRollup(BranchScoped, db.Model):
    """``surveys.MetricSums`` per day x branch x product x channel x survey."""

    __tablename__ = "rollup_satisfaction"
    __table_args__ = (Index("ix_rollup_satisfaction_period_day", "period", "day", "branch_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(1), default="d", server_default="d")
    day: Mapped[date] = mapped_column(Date)
    product_id: Mapped[int | None]
    channel: Mapped[str] = mapped_column(String(20))
    survey_id: Mapped[int]
    responses: Mapped[int] = _count()
    csat_n: Mapped[int] = _count()
    csat_sum: Mapped[int] = _count()
    csat_top2: Mapped[int] = _count()
    nps_n: Mapped[int] = _count()
    promoters: Mapped[int] = _count()
    detractors: Mapped[int] = _count()
    ces_n: Mapped[int] = _count()
    ces_sum: Mapped[int] = _count()
    index_n: Mapped[int] = _count()
    # sums of the responses' mean steps in surveys.scoring.INDEX_UNITS_PER_STEP (up to ~2.9
    # million per response: a month row of a busy branch passes 32 bits)
    index_units: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)


class QuestionRollup(BranchScoped, db.Model):
    """Answers to each scale question (matrix items as ``question.item``) per day cell."""

    __tablename__ = "rollup_question"
    __table_args__ = (Index("ix_rollup_question_period_day", "period", "day", "branch_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(1), default="d", server_default="d")
    day: Mapped[date] = mapped_column(Date)
    product_id: Mapped[int | None]
    channel: Mapped[str] = mapped_column(String(20))
    survey_id: Mapped[int]
    question: Mapped[str] = mapped_column(String(130))
    scale: Mapped[str] = mapped_column(String(10))
    answers: Mapped[int] = _count()
    total: Mapped[int] = _count()
    top: Mapped[int] = _count()


class AnswerValueRollup(BranchScoped, db.Model):
    """How often each answer was given per day x branch x survey (问卷结果): ``question`` is
    "question=option", "question=point", "question.item=point" or the question alone for
    "answered" (``kind``: choice | point | answered; rollup_rows.value_answers). Kept apart
    from QuestionRollup, whose readers need none of these rows, and without product and
    channel, which multiply the rows tenfold for a page that does not filter by them."""

    __tablename__ = "rollup_answer_value"
    __table_args__ = (
        Index("ix_rollup_answer_value_survey_period_day", "survey_id", "period", "day"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(1), default="d", server_default="d")
    day: Mapped[date] = mapped_column(Date)
    survey_id: Mapped[int]
    question: Mapped[str] = mapped_column(String(130))
    kind: Mapped[str] = mapped_column(String(10))
    answers: Mapped[int] = _count()


class ComplaintRollup(BranchScoped, db.Model):
    """Complaint counts per day x branch x product x intake channel x JR/T 0169 codes.

    ``received``/``major``/``reviewed``/``reopened`` count on the received day, ``decided`` and
    the days-to-decision sums on the decision day, ``closed`` on the closing day.
    """

    __tablename__ = "rollup_complaint"
    __table_args__ = (Index("ix_rollup_complaint_period_day", "period", "day", "branch_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(1), default="d", server_default="d")
    day: Mapped[date] = mapped_column(Date)
    product_id: Mapped[int | None]
    channel: Mapped[str] = mapped_column(String(20))
    code_channel: Mapped[str] = mapped_column(String(20), default="")
    code_business: Mapped[str] = mapped_column(String(20), default="")
    code_cause: Mapped[str] = mapped_column(String(20), default="")
    received: Mapped[int] = _count()
    major: Mapped[int] = _count()
    reviewed: Mapped[int] = _count()
    reopened: Mapped[int] = _count()
    decided: Mapped[int] = _count()
    decided_in_time: Mapped[int] = _count()
    decision_days: Mapped[int] = _count()
    days_0_5: Mapped[int] = _count()
    days_6_15: Mapped[int] = _count()
    days_16_30: Mapped[int] = _count()
    days_31_60: Mapped[int] = _count()
    days_over_60: Mapped[int] = _count()
    closed: Mapped[int] = _count()


class ComplaintSliceRollup(BranchScoped, db.Model):
    """The complaint counts per day x branch and ONE dimension (``dim``/``value``), for the
    charts that group or filter by a single dimension: ``dim`` is "channel" (value = intake
    channel), "product" (value = product id as text, "" for none) or a JR/T 0169 code column.

    The sum over one ``dim``'s values is the branch's total, so the unfiltered trend reads the
    "channel" slice. Derived from the day rows of ``rollup_complaint`` (a few hundred rows a
    month instead of one per complaint); figures filtered by product *and* a code (or channel
    and a code) still read ``rollup_complaint``.
    """

    __tablename__ = "rollup_complaint_slice"
    __table_args__ = (Index("ix_rollup_complaint_slice_period_day", "period", "day", "branch_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(1), default="d", server_default="d")
    day: Mapped[date] = mapped_column(Date)
    dim: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(20), default="")
    received: Mapped[int] = _count()
    major: Mapped[int] = _count()
    reviewed: Mapped[int] = _count()
    reopened: Mapped[int] = _count()
    decided: Mapped[int] = _count()
    decided_in_time: Mapped[int] = _count()
    decision_days: Mapped[int] = _count()
    days_0_5: Mapped[int] = _count()
    days_6_15: Mapped[int] = _count()
    days_16_30: Mapped[int] = _count()
    days_31_60: Mapped[int] = _count()
    days_over_60: Mapped[int] = _count()
    closed: Mapped[int] = _count()


class VoiceRollup(BranchScoped, db.Model):
    """Text-analysis counts per day: ``kind`` is sentiment, keyword or topic, ``key`` its value."""

    __tablename__ = "rollup_voice"
    __table_args__ = (Index("ix_rollup_voice_period_day", "period", "day", "branch_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(1), default="d", server_default="d")
    day: Mapped[date] = mapped_column(Date)
    source_type: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(60))
    texts: Mapped[int] = _count()
    negative: Mapped[int] = _count()


class FollowUpRollup(BranchScoped, db.Model):
    """Follow-up tasks per day they were created x branch x reason x product x survey: calls
    made, reached, detractor call-backs."""

    __tablename__ = "rollup_followup"
    __table_args__ = (Index("ix_rollup_followup_day_branch", "day", "branch_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(20))
    # the task's product and questionnaire (the 回访 page's filters; None: a task without)
    product_id: Mapped[int | None]
    survey_id: Mapped[int | None]
    tasks: Mapped[int] = _count()
    called: Mapped[int] = _count()  # tasks with at least one call (the reach rate's denominator)
    attempts: Mapped[int] = _count()
    reached: Mapped[int] = _count()
    closed: Mapped[int] = _count()
    detractor_tasks: Mapped[int] = _count()
    detractor_within_48h: Mapped[int] = _count()


class TopicModelRecord(db.Model):
    """A discovered topic model (``nlp.topics.TopicModel.to_dict``); the newest one is used."""

    __tablename__ = "dashboard_topic_model"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    texts: Mapped[int]
    model: Mapped[dict[str, Any]] = mapped_column(JSON)


class TopicLabel(db.Model):
    """A name staff gave a discovered topic, or that it is hidden from the dashboards (a topic
    of greetings or of the survey's own wording is noise to a manager). Kept per topic model:
    when topics are discovered again, a label moves to the new topic whose top terms overlap
    its ``terms`` most (``app.services.topic_labels.carry_over``)."""

    __tablename__ = "dashboard_topic_label"
    __table_args__ = (UniqueConstraint("model_id", "topic_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("dashboard_topic_model.id"), index=True)
    topic_id: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(20))
    hidden: Mapped[bool] = mapped_column(default=False)
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)  # the topic's, when labelled
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
