"""Keeping the dashboard rollups current: recompute (day, branch) cells from raw rows.

A cell is an Asia/Shanghai day and a branch id. Recomputing a cell deletes its rollup rows and
aggregates the raw rows again, so running a refresh twice, or after a retry, stores the same
figures. Days are computed in Python from the UTC timestamps, so they are the same on SQLite
and PostgreSQL (an answer at 23:30 on 31 January, Beijing time, belongs to January).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, String, and_, delete, func, insert, literal, or_, select, text

from app.extensions import db
from app.models import (
    CallAttempt,
    Complaint,
    ComplaintRollup,
    FollowUp,
    FollowUpRollup,
    QuestionRollup,
    Response,
    SatisfactionRollup,
    SurveyVersion,
    TextAnalysis,
    VoiceRollup,
)
from app.models.rollup import METRIC_COLUMNS
from app.services import rollup_rows as rows
from app.services.tx import transactional

TZ = ZoneInfo("Asia/Shanghai")
Cell = tuple[date, int | None]
KINDS = ("satisfaction", "complaint", "voice", "followup")
LOCK_KEY = 7_700_707
BATCH = 5000
ALL = {"include_all_branches": True}


def local_day(moment: datetime) -> date:
    return moment.astimezone(TZ).date()


def day_start(day: date) -> datetime:
    """The UTC instant at which an Asia/Shanghai day begins."""
    return datetime.combine(day, time(0), tzinfo=TZ).astimezone(UTC)


@dataclass
class DirtyCells:
    """Cells touched by a unit of work, per rollup kind; plus follow-ups touched by a call."""

    cells: dict[str, set[Cell]] = field(default_factory=lambda: {k: set() for k in KINDS})
    followup_ids: set[int] = field(default_factory=set)

    def add(self, kind: str, moment: datetime | None, branch_id: int | None) -> None:
        if moment is not None:
            self.cells[kind].add((local_day(moment), branch_id))

    def __bool__(self) -> bool:
        return bool(self.followup_ids) or any(self.cells.values())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: sorted([d.isoformat(), b] for d, b in v) for k, v in self.cells.items() if v
        }
        if self.followup_ids:
            out["followup_ids"] = sorted(self.followup_ids)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DirtyCells:
        dirty = cls()
        for kind in KINDS:
            for day, branch in data.get(kind, []):
                dirty.cells[kind].add((date.fromisoformat(day), branch))
        dirty.followup_ids = {int(i) for i in data.get("followup_ids", [])}
        return dirty


def _lock() -> None:
    # One writer at a time: two jobs recomputing one cell must not both insert its rows.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def _cell_filter(model: Any, cells: set[Cell]) -> Any:
    daily = [model.period == "d"] if hasattr(model, "period") else []
    return and_(
        *daily,
        or_(
            *(
                and_(
                    model.day == d,
                    model.branch_id == b if b is not None else model.branch_id.is_(None),
                )
                for d, b in cells
            )
        ),
    )


def _time_filter(column: Any, branch_column: Any, cells: set[Cell]) -> Any:
    return or_(
        *(
            and_(
                column >= day_start(d),
                column < day_start(d + timedelta(days=1)),
                branch_column == b if b is not None else branch_column.is_(None),
            )
            for d, b in cells
        )
    )


def _chunks(items: Iterable[Any], size: int = 200) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _store(model: Any, values: Iterable[dict[str, Any]]) -> int:
    stored = 0
    for batch in _chunks(values, BATCH):
        db.session.execute(insert(model), batch)
        stored += len(batch)
    return stored


# --- satisfaction and questions ---------------------------------------------------------------

RESPONSE_COLUMNS = (
    Response.submitted_at,
    Response.branch_id,
    Response.product_id,
    Response.channel,
    Response.survey_id,
    Response.version_id,
    Response.answers,
)


def _versions() -> dict[int, Any]:
    return {v.id: v for v in db.session.scalars(select(SurveyVersion))}


def _satisfaction(cells: set[Cell] | None) -> int:
    stmt = select(*RESPONSE_COLUMNS).execution_options(**ALL, yield_per=BATCH)
    if cells is not None:
        stmt = stmt.where(_time_filter(Response.submitted_at, Response.branch_id, cells))
    else:
        stmt = stmt.order_by(Response.submitted_at)
    acc = rows.SatisfactionAccumulator(_versions())
    stored = 0
    for row in db.session.execute(stmt):
        finished = acc.add(row, local_day(row.submitted_at))
        if finished and cells is None:  # full rebuild streams by day; write finished days
            stored += _write_satisfaction(acc.pop_before(finished))
    return stored + _write_satisfaction(acc.pop_before(None))


def _write_satisfaction(batch: rows.SatisfactionBatch) -> int:
    metrics = (
        {**dict(zip(rows.SAT_KEY, key, strict=True)), **sums.to_dict()}
        for key, sums in batch.metrics.items()
    )
    questions = (
        {**dict(zip(rows.QUESTION_KEY, key, strict=True)), "answers": n, "total": t, "top": top}
        for key, (n, t, top) in batch.questions.items()
    )
    return _store(SatisfactionRollup, metrics) + _store(QuestionRollup, questions)


# --- complaints -------------------------------------------------------------------------------


def _complaints(cells: set[Cell] | None) -> int:
    stmt = select(*rows.COMPLAINT_COLUMNS).execution_options(**ALL, yield_per=BATCH)
    if cells is not None:
        stmt = stmt.where(
            or_(
                _time_filter(Complaint.received_at, Complaint.branch_id, cells),
                _time_filter(Complaint.decided_at, Complaint.branch_id, cells),
                _time_filter(Complaint.closed_at, Complaint.branch_id, cells),
            )
        )
    acc: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in db.session.execute(stmt):
        for key, counts in rows.complaint_contributions(row, local_day):
            if cells is None or (key[0], key[1]) in cells:
                target = acc[key]
                for name, value in counts.items():
                    target[name] += value
    return _store(
        ComplaintRollup,
        ({**dict(zip(rows.COMPLAINT_KEY, k, strict=True)), **v} for k, v in acc.items()),
    )


# --- voice of the customer ----------------------------------------------------------------------


def _voice(cells: set[Cell] | None) -> int:
    moment = func.coalesce(TextAnalysis.source_created_at, TextAnalysis.created_at)
    stmt = (
        select(
            TextAnalysis.source_created_at,
            TextAnalysis.created_at,
            TextAnalysis.branch_id,
            TextAnalysis.source_type,
            TextAnalysis.sentiment,
            TextAnalysis.keywords,
            TextAnalysis.topic_id,
        )
        .where(TextAnalysis.status == "done")
        .execution_options(**ALL, yield_per=BATCH)
    )
    if cells is not None:
        stmt = stmt.where(_time_filter(moment, TextAnalysis.branch_id, cells))
    acc: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for row in db.session.execute(stmt):
        day = local_day(row.source_created_at or row.created_at)
        if cells is not None and (day, row.branch_id) not in cells:
            continue
        negative = int(row.sentiment == "negative")
        base = (day, row.branch_id, row.source_type)
        for kind, key in rows.voice_keys(row):
            counts = acc[(*base, kind, key)]
            counts[0] += 1
            counts[1] += negative
    return _store(
        VoiceRollup,
        (
            {**dict(zip(rows.VOICE_KEY, k, strict=True)), "texts": v[0], "negative": v[1]}
            for k, v in acc.items()
        ),
    )


# --- follow-ups ---------------------------------------------------------------------------------


def _followups(cells: set[Cell] | None) -> int:
    stmt = select(
        FollowUp.id,
        FollowUp.created_at,
        FollowUp.branch_id,
        FollowUp.reason,
        FollowUp.status,
    ).execution_options(**ALL)
    if cells is not None:
        stmt = stmt.where(_time_filter(FollowUp.created_at, FollowUp.branch_id, cells))
    tasks = list(db.session.execute(stmt))
    calls: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    ids = [t.id for t in tasks]
    for batch in _chunks(ids, 5000) if cells is not None else [None]:
        q = select(CallAttempt.followup_id, CallAttempt.outcome, CallAttempt.at)
        if batch is not None:
            q = q.where(CallAttempt.followup_id.in_(batch))
        for fid, outcome, at in db.session.execute(q):
            calls[fid].append((outcome, at))
    acc: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for task in tasks:
        key = (local_day(task.created_at), task.branch_id, task.reason)
        for name, value in rows.followup_counts(task, calls.get(task.id, [])).items():
            acc[key][name] += value
    return _store(
        FollowUpRollup,
        ({**dict(zip(rows.FOLLOWUP_KEY, k, strict=True)), **v} for k, v in acc.items()),
    )


def _followup_cells(ids: set[int]) -> set[Cell]:
    out: set[Cell] = set()
    for batch in _chunks(ids, 500):
        stmt = select(FollowUp.created_at, FollowUp.branch_id).where(FollowUp.id.in_(batch))
        for created_at, branch_id in db.session.execute(stmt.execution_options(**ALL)):
            out.add((local_day(created_at), branch_id))
    return out


MODELS = {
    "satisfaction": (SatisfactionRollup, QuestionRollup),
    "complaint": (ComplaintRollup,),
    "voice": (VoiceRollup,),
    "followup": (FollowUpRollup,),
}
BUILDERS = {
    "satisfaction": _satisfaction,
    "complaint": _complaints,
    "voice": _voice,
    "followup": _followups,
}


# Month rows: the sums of a month's day rows per key, so long ranges read few rows.
MONTHLY: dict[Any, tuple[tuple[str, ...], tuple[str, ...]]] = {
    SatisfactionRollup: (("branch_id", "product_id", "channel", "survey_id"), METRIC_COLUMNS),
    QuestionRollup: (
        ("branch_id", "product_id", "channel", "survey_id", "question", "scale"),
        ("answers", "total", "top"),
    ),
    ComplaintRollup: (
        ("branch_id", "product_id", "channel", "code_channel", "code_business", "code_cause"),
        rows.COMPLAINT_COUNTS,
    ),
    VoiceRollup: (("branch_id", "source_type", "kind", "key"), ("texts", "negative")),
}


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _month_rows(model: Any, month: date, branch: Any = ...) -> None:
    """Replace the month rows of ``month`` (one branch, or all when omitted) from day rows."""
    keys, sums = MONTHLY[model]
    where = [model.period == "d", model.day >= month, model.day < next_month(month)]
    gone = [model.period == "m", model.day == month]
    if branch is not ...:
        match = model.branch_id == branch if branch is not None else model.branch_id.is_(None)
        where.append(match)
        gone.append(match)
    db.session.execute(delete(model).where(*gone))
    source = (
        select(
            literal("m", String(1)),
            literal(month, Date()),
            *(getattr(model, k) for k in keys),
            *(func.sum(getattr(model, c)) for c in sums),
        )
        .where(*where)
        .group_by(*(getattr(model, k) for k in keys))
    )
    db.session.execute(insert(model).from_select(["period", "day", *keys, *sums], source))


@transactional
def refresh(dirty: DirtyCells) -> int:
    """Recompute the rollup rows of the given cells from the raw rows; returns rows stored.

    Idempotent: the cells' rows are replaced, never incremented.
    """
    _lock()
    cells = {k: set(v) for k, v in dirty.cells.items()}
    if dirty.followup_ids:
        cells["followup"] |= _followup_cells(dirty.followup_ids)
    stored = 0
    for kind, kind_cells in cells.items():
        for batch in _chunks(sorted(kind_cells, key=str), 100):
            chunk = set(batch)
            for model in MODELS[kind]:
                db.session.execute(delete(model).where(_cell_filter(model, chunk)))
            stored += BUILDERS[kind](chunk)
        months = {(month_start(d), b) for d, b in kind_cells}
        for model in MODELS[kind]:
            if model in MONTHLY:
                for month, branch in sorted(months, key=str):
                    _month_rows(model, month, branch)
    return stored


@transactional
def rebuild(kinds: Iterable[str] = KINDS) -> dict[str, int]:
    """Rebuild the rollups from every raw row in one transaction (dashboards never see half)."""
    _lock()
    out = {}
    for kind in kinds:
        for model in MODELS[kind]:
            db.session.execute(delete(model))
        out[kind] = BUILDERS[kind](None)
        for model in MODELS[kind]:
            if model in MONTHLY:
                first, last = db.session.execute(
                    select(func.min(model.day), func.max(model.day))
                ).one()
                month = month_start(first) if first else None
                while month is not None and month <= last:
                    _month_rows(model, month)
                    month = next_month(month)
    return out


def metric_columns() -> tuple[str, ...]:
    return METRIC_COLUMNS
