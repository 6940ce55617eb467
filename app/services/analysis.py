"""Text analysis of saved texts: the only code that writes ``nlp`` results to the database.

Areas that own free text (complaints, survey answers, follow-up notes) register a loader for
their source type and call ``request_analysis`` in the transaction that saves the text. A
pending row is stored with the text's transaction, and the job is queued only after the commit,
so a failed or lost job never loses anything: ``flask nlp analyze`` (and the periodic sweep)
finish whatever is still pending or failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, insert, select

import nlp
from app.extensions import db
from app.models import (
    AnalysisStatus,
    LabelCorrection,
    TextAnalysis,
    TopicModelRecord,
    User,
    utcnow,
)
from app.models.analysis import SENTIMENT_LABELS
from app.services import rollups_tracking
from app.services.errors import NotFound, ValidationFailed
from app.services.tx import after_commit, transactional
from nlp.topics import TopicModel

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
_DEFERRED = "analysis_deferred"


@dataclass(frozen=True)
class SourceText:
    text: str
    branch_id: int | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Source:
    load: Callable[[int], SourceText | None]
    ids_since: Callable[[datetime | None], Select] | None = None


_sources: dict[str, Source] = {}


def register_source(
    source_type: str,
    load: Callable[[int], SourceText | None],
    ids_since: Callable[[datetime | None], Select] | None = None,
) -> None:
    """Declare where texts of ``source_type`` live (called once at import by the owning area)."""
    _sources[source_type] = Source(load, ids_since)


def source_types() -> list[str]:
    return sorted(_sources)


def _row(source_type: str, source_id: int) -> TextAnalysis:
    row = db.session.scalar(
        select(TextAnalysis).where(
            TextAnalysis.source_type == source_type, TextAnalysis.source_id == source_id
        )
    )
    if row is None:
        row = TextAnalysis(source_type=source_type, source_id=source_id)
        db.session.add(row)
    return row


def request_analysis(
    source_type: str,
    source_id: int,
    *,
    branch_id: int | None = None,
    new: bool = False,
    now: datetime | None = None,
) -> None:
    """Inside the caller's transaction: mark the text as waiting for analysis; queue the job
    once that transaction has committed.

    ``new``: the text was just created, so there is no row to look up (see
    ``request_new_analyses``)."""
    if new:
        request_new_analyses(source_type, [(source_id, branch_id)], now=now)
        return
    if source_type not in _sources:
        raise ValueError(f"unknown text source {source_type!r}")
    row = _row(source_type, source_id)
    row.status = AnalysisStatus.PENDING
    row.branch_id = branch_id
    db.session.flush()
    if not db.session.info.get(_DEFERRED):
        after_commit(lambda: enqueue(source_type, source_id))


def request_new_analyses(
    source_type: str, items: list[tuple[int, int | None]], *, now: datetime | None = None
) -> None:
    """Pending rows for texts just created (``items``: source id, branch id), as ONE INSERT (no
    ORM objects, which keeps the busiest writes short), with their rollup cells noted by hand
    as an ORM flush would have done; the jobs are queued after the commit."""
    if source_type not in _sources:
        raise ValueError(f"unknown text source {source_type!r}")
    if not items:
        return
    now = now or utcnow()
    db.session.connection().execute(
        insert(TextAnalysis.__table__),
        [
            {
                "source_type": source_type,
                "source_id": source_id,
                "status": AnalysisStatus.PENDING,
                "branch_id": branch_id,
                "created_at": now,
                "updated_at": now,
            }
            for source_id, branch_id in items
        ],
    )
    for _, branch_id in items:
        rollups_tracking.note("voice", now, branch_id)
    if not db.session.info.get(_DEFERRED):
        ids = [source_id for source_id, _ in items]
        after_commit(lambda: enqueue_many(source_type, ids))


@contextmanager
def deferred() -> Iterator[None]:
    """Bulk loads (demo seed, imports): leave texts pending instead of one job per text; the
    caller then runs ``analyze_batch`` over ``work_list()`` once its transaction committed."""
    db.session.info[_DEFERRED] = True
    try:
        yield
    finally:
        db.session.info.pop(_DEFERRED, None)


def enqueue(source_type: str, source_id: int) -> None:
    """Send the analysis job (inline when no broker); a broker failure leaves the row pending.

    With a broker, the texts saved in this process within a fraction of a second go out as one
    ``kesheng.analyze_texts`` job (one batched model call instead of one job per text)."""
    from app.jobs import broker
    from app.jobs.analysis import analyze_text, analyze_texts

    if broker.eager():
        # No fallback: the row stays pending and the periodic catch-up analyses it.
        broker.send(analyze_text, (source_type, source_id))
        return
    broker.send_batched(analyze_texts, (source_type, source_id), combine=broker.sorted_unique)


def enqueue_many(source_type: str, source_ids: list[int]) -> None:
    """``enqueue`` for the texts of one transaction: with a broker, as ONE batched job."""
    from app.jobs import broker
    from app.jobs.analysis import analyze_texts

    if len(source_ids) > 1 and not broker.eager():
        broker.send(analyze_texts, broker.sorted_unique([(source_type, i) for i in source_ids]))
        return
    for source_id in source_ids:
        enqueue(source_type, source_id)


_topic_models: dict[tuple, TopicModel] = {}


def _topic_model() -> TopicModel | None:
    """The newest discovered topic model (parsed once per record), so that a text analysed
    after discovery gets its topic at once and a re-analysis keeps it."""
    latest = db.session.execute(
        select(TopicModelRecord.id, TopicModelRecord.created_at)
        .order_by(TopicModelRecord.id.desc())
        .limit(1)
    ).first()
    if latest is None:
        return None
    key = tuple(latest)
    if key not in _topic_models:
        _topic_models.clear()
        _topic_models[key] = TopicModel.from_dict(db.session.get(TopicModelRecord, key[0]).model)
    return _topic_models[key]


_COLUMNS = {"sentiment": "sentiment", "business": "business_code", "cause": "cause_code"}


def _keep_corrections(rows: list[TextAnalysis]) -> None:
    """Put back the labels staff corrected (the latest correction of each field) after a
    re-analysis overwrote them with the model's."""
    by_id = {row.id: row for row in rows if row.corrected and row.id is not None}
    if not by_id:
        return
    corrections = db.session.scalars(
        select(LabelCorrection)
        .where(LabelCorrection.analysis_id.in_(by_id))
        .order_by(LabelCorrection.at, LabelCorrection.id)
    )
    for c in corrections:
        setattr(by_id[c.analysis_id], _COLUMNS[c.field], c.new_value)


def corrected_fields(row: TextAnalysis) -> set[str]:
    """Which of sentiment/business/cause staff corrected on this analysis."""
    if not row.corrected:
        return set()
    return set(
        db.session.scalars(
            select(LabelCorrection.field).where(LabelCorrection.analysis_id == row.id).distinct()
        )
    )


@dataclass(frozen=True)
class CorrectionShown:
    """One correction as the text panel lists it: when, who, which label, from and to (a
    sentiment in words, a category as its code)."""

    at: datetime
    who: str
    field: str
    old: str
    new: str


CORRECTED_FIELDS = {"sentiment": "情感倾向", "business": "业务类别", "cause": "投诉原因"}


def corrections_of(row: TextAnalysis) -> list[CorrectionShown]:
    """The corrections of this analysis, oldest first (the page showed 已人工更正 with no who,
    when or earlier value)."""
    if not row.corrected:
        return []
    stmt = (
        select(LabelCorrection, User.display_name)
        .outerjoin(User, User.id == LabelCorrection.user_id)
        .where(LabelCorrection.analysis_id == row.id)
        .order_by(LabelCorrection.at, LabelCorrection.id)
        .execution_options(include_all_branches=True)
    )

    def shown(c: LabelCorrection, value: str | None) -> str:
        return SENTIMENT_LABELS.get(value or "", "—") if c.field == "sentiment" else value or "—"

    return [
        CorrectionShown(
            c.at,
            name or "—",
            CORRECTED_FIELDS.get(c.field, c.field),
            shown(c, c.old_value),
            shown(c, c.new_value),
        )  # fmt: skip
        for c, name in db.session.execute(stmt).tuples()
    ]


def _load(source_type: str, source_id: int) -> SourceText | None:
    source = _sources.get(source_type)
    if source is None:
        raise ValueError(f"unknown text source {source_type!r}")
    return source.load(source_id)


@transactional
def analyze_source(source_type: str, source_id: int) -> TextAnalysis:
    """Analyse one saved text and store the result; a failure is recorded, never raised away.

    Returns the row; its status tells the caller (the Celery task) whether to retry.
    """
    row = _row(source_type, source_id)
    source = _load(source_type, source_id)
    if source is None or not source.text.strip():
        row.status = AnalysisStatus.SKIPPED
        return row
    try:
        result = nlp.analyze(source.text, topic_model=_topic_model())
    except Exception as err:  # a model failure must not lose the text: record and retry later
        log.exception("analysis of %s %s failed", source_type, source_id)
        row.mark_failed(f"{type(err).__name__}: {err}")
        return row
    row.apply(_read_as(source_type, result))
    _keep_corrections([row])
    row.branch_id = source.branch_id
    row.source_created_at = source.created_at
    return row


def _read_as(source_type: str, result: nlp.TextAnalysis) -> nlp.TextAnalysis:
    """A complaint's text is read as a complaint (``nlp.read_as_complaint``: never praise;
    the demo's 927 complaints had 21 read as 正面 and 213 as 中性); other texts as analysed."""
    return nlp.read_as_complaint(result) if source_type == "complaint" else result


def _ids_to_analyse(source_type: str, *, since: datetime | None, everything: bool) -> list[int]:
    source = _sources[source_type]
    if everything or since is not None:
        if source.ids_since is None:
            return []
        return list(db.session.scalars(source.ids_since(since)))
    stmt = select(TextAnalysis.source_id).where(
        TextAnalysis.source_type == source_type,
        (TextAnalysis.status == AnalysisStatus.PENDING)
        | ((TextAnalysis.status == AnalysisStatus.FAILED) & (TextAnalysis.attempts < MAX_ATTEMPTS))
        | (TextAnalysis.model_version != nlp.model_version()),
    )
    return list(db.session.scalars(stmt))


def work_list(*, since: datetime | None = None, everything: bool = False) -> list[tuple[str, int]]:
    """(source type, id) of every text that needs (re-)analysis."""
    return [
        (source_type, source_id)
        for source_type in source_types()
        for source_id in _ids_to_analyse(source_type, since=since, everything=everything)
    ]


@transactional
def analyze_batch(items: list[tuple[str, int]]) -> int:
    """Analyse a batch in one transaction, with one batched model call; returns how many."""
    loaded = [(t, i, _load(t, i)) for t, i in items]
    texts = [(t, i, s) for t, i, s in loaded if s is not None and s.text.strip()]
    results = nlp.analyze_many([s.text for _, _, s in texts], topic_model=_topic_model())
    rows = []
    for (source_type, source_id, source), result in zip(texts, results, strict=True):
        row = _row(source_type, source_id)
        row.apply(_read_as(source_type, result))
        row.branch_id = source.branch_id
        row.source_created_at = source.created_at
        rows.append(row)
    _keep_corrections(rows)
    for source_type, source_id, source in loaded:
        if source is None or not source.text.strip():
            _row(source_type, source_id).status = AnalysisStatus.SKIPPED
    return len(texts)


def analyze_in_batches(
    items: list[tuple[str, int]], size: int, *, progress: Callable[[int], None] | None = None
) -> int:
    """``analyze_batch`` over ``items`` in batches; when a batch fails (a text the model chokes
    on), its texts are analysed one by one, so the others are not held up and the failing one
    is recorded as failed (to be retried) instead of stopping the run. Returns how many."""
    done = 0
    for batch in in_batches(items, size):
        try:
            done += analyze_batch(batch)
        except Exception:
            log.exception("batch of %d texts failed; analysing them one by one", len(batch))
            for source_type, source_id in batch:
                row = analyze_source(source_type, source_id)
                done += int(row.status == AnalysisStatus.DONE)
        if progress is not None:
            progress(len(batch))
    return done


def in_batches(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


CORRECTABLE = ("sentiment", "business", "cause")


def _check_value(field: str, value: str) -> None:
    if field == "sentiment":
        if value not in ("negative", "neutral", "positive"):
            raise ValidationFailed("情感标签须为 负面/中性/正面", field="value")
        return
    dimension = {"business": "B", "cause": "C"}[field]
    if value not in {code for code, _ in nlp.load_taxonomy().dimension(dimension).choices()}:
        raise ValidationFailed("分类代码不在 JR/T 0169 代码表中", field="value")


@transactional
def correct_label(analysis_id: int, field: str, value: str, *, actor: User) -> TextAnalysis:
    """Store a staff correction (training material) and apply it to the analysis."""
    if field not in CORRECTABLE:
        raise ValidationFailed("只能更正情感、业务类别或投诉原因", field="field")
    _check_value(field, value)
    row = db.session.get(TextAnalysis, analysis_id)
    if row is None or row.status != AnalysisStatus.DONE:
        raise NotFound("分析结果不存在或尚未完成")
    column = _COLUMNS[field]
    db.session.add(
        LabelCorrection(
            analysis_id=row.id,
            field=field,
            old_value=getattr(row, column),
            new_value=value,
            text=row.redacted_text or "",
            user_id=actor.id,
        )
    )
    setattr(row, column, value)
    row.corrected = True
    return row


def corrected_sentiment_labels() -> list[tuple[str, int]]:
    """The latest staff sentiment label per text, as (redacted text, 0/1/2) training rows."""
    codes = {"negative": 0, "positive": 1, "neutral": 2}
    latest: dict[int, tuple[str, int]] = {}
    rows = db.session.scalars(
        select(LabelCorrection)
        .where(LabelCorrection.field == "sentiment")
        .order_by(LabelCorrection.at, LabelCorrection.id)
    )
    for c in rows:
        latest[c.analysis_id] = (c.text, codes[c.new_value])
    return list(latest.values())


def corrected_category_rows() -> list[tuple[str, str, str]]:
    """(text, business code, cause code) for texts whose category staff confirmed or corrected."""
    stmt = select(TextAnalysis).where(
        TextAnalysis.id.in_(
            select(LabelCorrection.analysis_id).where(
                LabelCorrection.field.in_(("business", "cause"))
            )
        )
    )
    return [
        (row.redacted_text or "", row.business_code or "", row.cause_code or "")
        for row in db.session.scalars(stmt)
        if row.business_code and row.cause_code
    ]


def results_for(source_type: str, source_ids: Iterable[int]) -> dict[int, TextAnalysis]:
    ids = list(source_ids)
    if not ids:
        return {}
    stmt = select(TextAnalysis).where(
        TextAnalysis.source_type == source_type, TextAnalysis.source_id.in_(ids)
    )
    return {row.source_id: row for row in db.session.scalars(stmt)}
