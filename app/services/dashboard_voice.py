"""Voice of the customer: sentiment, keywords and topics of a period, from the voice rollup.

The voice rollup is kept per day, branch and source type only. With a product, channel or
survey filter the figures are counted from the analysed texts themselves instead, each text
filtered through its source row (the answer, complaint or follow-up call it came from) by what
that row records; the one filter that cannot apply, a survey on complaints, is said on the
charts (``unfiltered_note``).

Topics come from ``nlp.topics.discover`` over recent redacted texts; the model is stored as JSON
(``TopicModelRecord``) and its ids are written to ``text_analysis.topic_id``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, false, func, or_, select, update

from app.extensions import db
from app.models import (
    CallAttempt,
    Complaint,
    FollowUp,
    Response,
    TextAnalysis,
    TopicModelRecord,
    VoiceRollup,
)
from app.services import metrics, topic_labels
from app.services.dashboard_filters import Filters, memo
from app.services.rollup_rows import voice_keys
from app.services.rollups import day_start, local_day
from app.services.topic_labels import latest_model
from app.services.tx import transactional
from nlp import topics as nlp_topics
from nlp.keywords import is_filler

SENTIMENTS = {"positive": "正面", "neutral": "中性", "negative": "负面"}
TOPIC_SAMPLE = 3000
QUOTES = 3


def _rows(f: Filters, kind: str, *dims: str) -> list[tuple[tuple, int, int]]:
    """(dims, texts, negative) per combination of ``dims`` (remembered per request); keywords
    without the survey filler words (``nlp.keywords.is_filler``: 总体, 满意, 下次 …) that texts
    analysed before they were left out of keywords still carry."""
    read = _read_texts if narrowed_by_source(f) else _read
    found = memo(("voice", f, kind, dims), lambda: read(f, kind, dims))
    if kind != "keyword" or "key" not in dims:
        return found
    at = dims.index("key")
    return [row for row in found if not is_filler(row[0][at])]


MIN_PREVIOUS_TERM = 5  # a key mentioned fewer times in the previous period has no ratio
MIN_PREVIOUS_SHARE = 0.25  # nor has anything when that period has under a quarter of the texts


@dataclass(frozen=True)
class Comparison:
    """The texts of this period and the previous one, and whether their keys can be compared:
    against a period with almost no data (before the bank started collecting) every key
    looks ten times up."""

    current: int
    previous: int
    minimum: int

    @property
    def comparable(self) -> bool:
        return self.previous >= max(self.minimum, MIN_PREVIOUS_SHARE * self.current)

    def note(self, f: Filters) -> str:
        before = f.previous()
        return (
            f"上期（{before.start} 至 {before.end}）仅 {self.previous} 条文本，本期 "
            f"{self.current} 条：上期数据过少，不与上期比较"
        )


def comparison(f: Filters) -> Comparison:
    def texts(period: Filters) -> int:
        return sum(t for _, t, _ in _rows(period, "sentiment", "key"))

    return Comparison(texts(f), texts(f.previous()), metrics.min_sample_size())


def change_text(current: int, previous: int) -> int | str:
    """The change against the previous period, or why there is none to show."""
    if previous == 0:
        return "新出现"
    if previous < MIN_PREVIOUS_TERM:
        return f"上期仅 {previous} 次"
    return current - previous


def narrowed_by_source(f: Filters) -> bool:
    """Whether ``f`` filters on what only the texts' source rows record (not the rollup)."""
    return f.product is not None or f.channel is not None or f.survey is not None


def unfiltered_note(f: Filters) -> str:
    """The filter the texts' sources cannot apply, in words ("" when every one applies)."""
    return "投诉文本不受问卷筛选影响（投诉不属于任何问卷）" if f.survey is not None else ""


def _sources(f: Filters) -> Any:
    """Which texts the product, channel and survey filters keep, by their source rows:
    answers by all three; complaints by product and channel (a survey cannot apply); notes of
    follow-up calls by their task's product and survey, and only on the phone channel."""
    answers = select(Response.id)
    complaints = select(Complaint.id)
    calls = select(CallAttempt.id).join(FollowUp, FollowUp.id == CallAttempt.followup_id)
    if f.product is not None:
        answers = answers.where(Response.product_id == f.product.id)
        complaints = complaints.where(Complaint.product_id == f.product.id)
        calls = calls.where(FollowUp.product_id == f.product.id)
    if f.channel is not None:
        answers = answers.where(Response.channel == f.channel)
        complaints = complaints.where(Complaint.channel == f.channel)
        calls = calls.where(false()) if f.channel != "phone" else calls
    if f.survey is not None:
        answers = answers.where(Response.survey_id == f.survey.id)
        calls = calls.where(FollowUp.survey_id == f.survey.id)
    t = TextAnalysis
    return or_(
        and_(t.source_type == "response", t.source_id.in_(answers)),
        and_(t.source_type == "complaint", t.source_id.in_(complaints)),
        and_(t.source_type == "call_note", t.source_id.in_(calls)),
    )


def _texts(f: Filters) -> list[Any]:
    """The conditions on the analysed texts of the range (by the moment of their source, as
    the rollup counts them), in the filters' branches and sources."""
    t = TextAnalysis
    start, end = metrics_start(f), metrics_end(f)
    conditions = [
        t.status == "done",
        or_(
            and_(t.source_created_at >= start, t.source_created_at < end),
            and_(t.source_created_at.is_(None), t.created_at >= start, t.created_at < end),
        ),
        _sources(f),
    ]
    if f.branch_ids is not None:
        conditions.append(t.branch_id.in_(f.branch_ids))
    return conditions


def _read_texts(f: Filters, kind: str, dims: tuple[str, ...]) -> list[tuple[tuple, int, int]]:
    """What ``_read`` gives, counted from the texts themselves (the rollup's rules: one count
    per text and key, ``voice_keys``), for filters the rollup cannot apply."""
    t = TextAnalysis
    stmt = select(
        t.source_created_at, t.created_at, t.branch_id, t.source_type, t.sentiment, t.keywords,
        t.topic_id,
    ).where(*_texts(f))  # fmt: skip
    acc: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for row in db.session.execute(stmt):
        found = {
            "day": local_day(row.source_created_at or row.created_at),
            "branch_id": row.branch_id,
            "source_type": row.source_type,
        }
        for k, key in voice_keys(row):
            if k == kind:
                counts = acc[tuple(key if d == "key" else found[d] for d in dims)]
                counts[0] += 1
                counts[1] += int(row.sentiment == "negative")
    return [(key, texts, negative) for key, (texts, negative) in acc.items()]


def _read(f: Filters, kind: str, dims: tuple[str, ...]) -> list[tuple[tuple, int, int]]:
    v = VoiceRollup
    cols = [getattr(v, d) for d in dims]
    stmt = select(
        *cols, func.coalesce(func.sum(v.texts), 0), func.coalesce(func.sum(v.negative), 0)
    ).where(v.kind == kind)
    stmt = metrics.apply_filters(stmt, v, f, daily="day" in dims and f.grain == "week")
    if cols:
        stmt = stmt.group_by(*cols)
    return [(tuple(r[: len(dims)]), int(r[-2]), int(r[-1])) for r in db.session.execute(stmt)]


def sentiment_trend(f: Filters) -> list[tuple[date, dict[str, int]]]:
    acc: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SENTIMENTS, 0))
    for (day, key), texts, _ in _rows(f, "sentiment", "day", "key"):
        if key in SENTIMENTS:
            acc[metrics.period_of(day, f.grain)][key] += texts
    return [(p, acc.get(p, dict.fromkeys(SENTIMENTS, 0))) for p in metrics.periods(f)]


def top_terms(f: Filters, kind: str, limit: int = 20) -> list[dict[str, Any]]:
    """The most frequent keywords or topics, with the previous period's count and trend."""
    hidden = hidden_topics() if kind == "topic" else set()
    now = {k: (t, n) for (k,), t, n in _rows(f, kind, "key") if k not in hidden}
    before = {k: t for (k,), t, _ in _rows(f.previous(), kind, "key")}
    names = topic_names() if kind == "topic" else {}
    out = []
    for key, (texts, negative) in sorted(now.items(), key=lambda kv: (-kv[1][0], kv[0]))[:limit]:
        out.append(
            {
                "key": key,
                "label": names.get(key, key),
                "texts": texts,
                "negative_share": negative / texts if texts else None,
                "previous": before.get(key, 0),
                "change": change_text(texts, before.get(key, 0)),
            }
        )
    return out


def term_trend(f: Filters, kind: str, keys: list[str]) -> dict[str, list[int]]:
    acc: dict[str, dict[date, int]] = {k: defaultdict(int) for k in keys}
    for (day, key), texts, _ in _rows(f, kind, "day", "key"):
        if key in acc:
            acc[key][metrics.period_of(day, f.grain)] += texts
    return {k: [acc[k].get(p, 0) for p in metrics.periods(f)] for k in keys}


def rising(f: Filters) -> list[dict[str, Any]]:
    """Topics (and keywords) rising fastest against the previous period (nlp.topics.rising)."""
    out = []
    for kind in ("topic", "keyword"):
        hidden = hidden_topics() if kind == "topic" else set()
        now = {k: t for (k,), t, _ in _rows(f, kind, "key") if k not in hidden}
        before = {k: t for (k,), t, _ in _rows(f.previous(), kind, "key")}
        names = topic_names() if kind == "topic" else {}
        for item in nlp_topics.rising(now, before, min_count=5, min_ratio=1.5, alpha=0.05)[:8]:
            out.append(
                {
                    "kind": "话题" if kind == "topic" else "关键词",
                    "label": names.get(item.topic, item.topic),
                    "current": item.current,
                    "previous": before.get(item.topic, 0),
                    "expected": item.expected,
                    "ratio": item.ratio
                    if before.get(item.topic, 0) >= MIN_PREVIOUS_TERM
                    else change_text(item.current, before.get(item.topic, 0)),
                }
            )
    return out


def topic_names() -> dict[str, str]:
    """Each topic's name on the dashboards: the one staff gave it, else its top terms."""
    return memo(("topic_names",), _topic_names)[0]


def hidden_topics() -> set[str]:
    """The topics staff hid from the dashboards (``topic_labels``)."""
    return memo(("topic_names",), _topic_names)[1]


def _topic_names() -> tuple[dict[str, str], set[str]]:
    record = latest_model()
    if record is None:
        return {}, set()
    given, hidden = topic_labels.names_and_hidden(record)
    names = {str(t["id"]): _topic_label(t) for t in record.model.get("topics", [])}
    return names | given, hidden


def _topic_label(topic: dict[str, Any]) -> str:
    """A topic's top three terms, without filler words (models found before they were left
    out of topic discovery are labelled like 还会、下次、选择)."""
    terms = [w for w in topic.get("terms", []) if not is_filler(w)]
    return "、".join(terms[:3]) or topic["label"]


def quotes(f: Filters, *, topic: str | None = None, keyword: str | None = None) -> list[str]:
    """A few recent redacted texts of the period for a topic or keyword (a bounded raw read)."""
    stmt = select(TextAnalysis.redacted_text).where(
        TextAnalysis.status == "done",
        TextAnalysis.source_created_at >= metrics_start(f),
        TextAnalysis.source_created_at < metrics_end(f),
    )
    if f.branch_ids is not None:
        stmt = stmt.where(TextAnalysis.branch_id.in_(f.branch_ids))
    if narrowed_by_source(f):
        stmt = stmt.where(_sources(f))
    if topic is not None:
        stmt = stmt.where(TextAnalysis.topic_id == int(topic))
    if keyword is not None:
        stmt = stmt.where(TextAnalysis.redacted_text.contains(keyword, autoescape=True))
    # (the same words come again and again, a form letter or a repeated complaint: each is
    # quoted once)
    rows = db.session.scalars(stmt.order_by(TextAnalysis.id.desc()).limit(QUOTES * 4))
    return list(dict.fromkeys(r[:120] for r in rows if r))[:QUOTES]


def metrics_start(f: Filters):
    return day_start(f.start)


def metrics_end(f: Filters):
    return day_start(f.end + timedelta(days=1))


@transactional
def discover_topics(sample: int = TOPIC_SAMPLE) -> TopicModelRecord | None:
    """Fit a topic model on recent redacted texts, store it, and assign every text its topic.

    Returns None when there are too few texts. Run ``dashboards rebuild`` (or the job) after it
    so the voice rollup counts the new topic ids.
    """
    stmt = (
        select(TextAnalysis.redacted_text)
        .where(TextAnalysis.status == "done", TextAnalysis.redacted_text.is_not(None))
        .order_by(TextAnalysis.id.desc())
        .limit(sample)
        .execution_options(include_all_branches=True)
    )
    texts = [t for t in db.session.scalars(stmt) if t and t.strip()]
    try:
        model = nlp_topics.discover(texts)
    except ValueError:
        return None
    previous = latest_model()
    record = TopicModelRecord(texts=len(texts), model=model.to_dict())
    db.session.add(record)
    db.session.flush()
    if previous is not None:
        topic_labels.carry_over(previous, record)
    db.session.info["rollups_enabled"] = False  # the caller rebuilds the voice rollup once
    try:
        ids = select(TextAnalysis.id, TextAnalysis.redacted_text).where(
            TextAnalysis.status == "done"
        )
        for row_id, text in db.session.execute(ids.execution_options(include_all_branches=True)):
            topic, _ = model.assign(text or "")
            db.session.execute(
                update(TextAnalysis).where(TextAnalysis.id == row_id).values(topic_id=topic)
            )
    finally:
        db.session.info.pop("rollups_enabled", None)
    return record
