"""Keeping the dashboard rollups current: recompute (day, branch) cells from raw rows.

A cell is an Asia/Shanghai day and a branch id. Recomputing a cell deletes its rollup rows and
aggregates the raw rows again, so running a refresh twice, or after a retry, stores the same
figures. Days are computed in Python from the UTC timestamps, so they are the same on SQLite
and PostgreSQL (an answer at 23:30 on 31 January, Beijing time, belongs to January).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import chain
from time import monotonic, sleep
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, String, and_, cast, delete, func, insert, literal, or_, select, text

from app.extensions import db
from app.models import (
    AnswerValueRollup,
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
from app.models.rollup import METRIC_COLUMNS, ComplaintSliceRollup
from app.services import rollup_rows as rows
from app.services.tx import transactional

log = logging.getLogger(__name__)

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


def within_days(column: Any, start: date | None, end: date | None) -> list[Any]:
    """SQL conditions: ``column`` (a UTC instant) on the Asia/Shanghai days from ``start`` to
    ``end``, both inclusive; an open end when a day is None."""
    found = [] if start is None else [column >= day_start(start)]
    return found if end is None else [*found, column < day_start(end + timedelta(days=1))]


@dataclass
class DirtyCells:
    """Cells touched by a unit of work, per rollup kind; plus follow-ups touched by a call."""

    cells: dict[str, set[Cell]] = field(default_factory=lambda: {k: set() for k in KINDS})
    followup_ids: set[int] = field(default_factory=set)

    def add(self, kind: str, moment: datetime | None, branch_id: int | None) -> None:
        if moment is not None:
            self.cells[kind].add((local_day(moment), branch_id))

    def update(self, other: DirtyCells) -> DirtyCells:
        for kind, cells in other.cells.items():
            self.cells[kind] |= cells
        self.followup_ids |= other.followup_ids
        return self

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


# How long a refresh run inside a web request (no broker) tries for the lock before leaving
# its cells to the periodic refresh: the safety net over the last two days held it for minutes
# on a bank of 2,000 units, and a request waiting behind it was cut off by gunicorn's timeout
# (a 500 for a complaint already saved).
IN_REQUEST_LOCK_SECONDS = 2.0


def _lock(wait: bool = True) -> bool:
    # One writer at a time: two jobs recomputing one cell must not both insert its rows.
    if db.session.get_bind().dialect.name != "postgresql":
        return True  # (SQLite serialises writers)
    if wait:
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
        return True
    deadline = monotonic() + IN_REQUEST_LOCK_SECONDS
    while True:
        taken = db.session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
        if taken.scalar():
            return True
        if monotonic() >= deadline:
            return False
        sleep(0.2)


@dataclass(frozen=True)
class Days:
    """Every branch's cells on the Asia/Shanghai days ``first`` to ``last`` (the periodic
    refresh): filtered by time alone, so a bank of 2,000 units is not asked about cell by cell."""

    first: date
    last: date

    def __contains__(self, cell: object) -> bool:
        return isinstance(cell, tuple) and self.first <= cell[0] <= self.last

    def each(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


Where = set[Cell] | Days


def _cell_filter(model: Any, cells: Where) -> Any:
    daily = [model.period == "d"] if hasattr(model, "period") else []
    if isinstance(cells, Days):
        return and_(*daily, model.day >= cells.first, model.day <= cells.last)
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


def _time_filter(column: Any, branch_column: Any, cells: Where) -> Any:
    if isinstance(cells, Days):
        return and_(*within_days(column, cells.first, cells.last))
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
    if db.session.get_bind().dialect.name == "postgresql":
        return _copy(model, values)
    stored = 0
    for batch in _chunks(values, BATCH):
        db.session.execute(insert(model), batch)
        stored += len(batch)
    return stored


def _copy(model: Any, values: Iterable[dict[str, Any]]) -> int:
    """Bulk insert with COPY in the session's transaction (a full rebuild writes ~2M rows)."""
    rows_ = iter(values)
    first = next(rows_, None)
    if first is None:
        return 0
    # every column but the id (and the period unless given); counts a row lacks are 0
    names = [
        c.name
        for c in model.__table__.columns
        if c.name != "id" and (c.name != "period" or "period" in first)
    ]
    cursor = db.session.connection().connection.driver_connection.cursor()
    stored = 0
    with cursor, cursor.copy(f"COPY {model.__tablename__} ({', '.join(names)}) FROM STDIN") as copy:
        for row in chain([first], rows_):
            copy.write_row([row.get(n, 0) for n in names])
            stored += 1
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


def _satisfaction(cells: Where | None) -> int:
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
    values = (
        {**dict(zip(rows.VALUE_KEY, key, strict=True)), "answers": n}
        for key, n in batch.values.items()
    )
    return (
        _store(SatisfactionRollup, metrics)
        + _store(QuestionRollup, questions)
        + _store(AnswerValueRollup, values)
    )


# --- complaints -------------------------------------------------------------------------------


def _complaints(cells: Where | None) -> int:
    stmt = select(*rows.COMPLAINT_COLUMNS).execution_options(**ALL, yield_per=BATCH)
    if cells is not None:
        stmt = stmt.where(
            or_(
                _time_filter(Complaint.received_at, Complaint.branch_id, cells),
                _time_filter(Complaint.decided_at, Complaint.branch_id, cells),
                _time_filter(Complaint.first_decided_at, Complaint.branch_id, cells),
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
    stored = _store(
        ComplaintRollup,
        ({**dict(zip(rows.COMPLAINT_KEY, k, strict=True)), **v} for k, v in acc.items()),
    )
    return stored + _complaint_slices(cells)


SLICE_DIMS = ("channel", "product", "code_channel", "code_business", "code_cause")


def _complaint_slices(cells: Where | None) -> int:
    """The slice day rows of ``cells`` (all when None), summed from the complaint day rows."""
    c = ComplaintRollup
    stored = 0
    for dim in SLICE_DIMS:
        column = c.product_id if dim == "product" else getattr(c, dim)
        value = func.coalesce(cast(c.product_id, String(20)), "") if dim == "product" else column
        source = select(
            c.day,
            c.branch_id,
            literal(dim, String(20)),
            value,
            *(func.sum(getattr(c, n)) for n in rows.COMPLAINT_COUNTS),
        ).where(c.period == "d")
        if cells is not None:
            source = source.where(_cell_filter(c, cells))
        source = source.group_by(c.day, c.branch_id, column)
        result = db.session.execute(
            insert(ComplaintSliceRollup).from_select(
                ["day", "branch_id", "dim", "value", *rows.COMPLAINT_COUNTS], source
            )
        )
        stored += max(result.rowcount or 0, 0)
    return stored


# --- voice of the customer ----------------------------------------------------------------------


def _voice(cells: Where | None) -> int:
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


def _followups(cells: Where | None) -> int:
    stmt = select(
        FollowUp.id,
        FollowUp.created_at,
        FollowUp.branch_id,
        FollowUp.reason,
        FollowUp.product_id,
        FollowUp.survey_id,
        FollowUp.status,
        FollowUp.attempts,
        FollowUp.closed_at,
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
        key = (
            local_day(task.created_at),
            task.branch_id,
            task.reason,
            task.product_id,
            task.survey_id,
        )
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
    "satisfaction": (SatisfactionRollup, QuestionRollup, AnswerValueRollup),
    "complaint": (ComplaintRollup, ComplaintSliceRollup),
    "voice": (VoiceRollup,),
    "followup": (FollowUpRollup,),
}
BUILDERS = {
    "satisfaction": _satisfaction,
    "complaint": _complaints,
    "voice": _voice,
    "followup": _followups,
}


# Period rows: the sums of a week's ("w", day = its Monday) or a month's ("m", day = its first
# day) day rows per key, so long ranges read few rows. Which periods each table keeps:
PERIODIC: dict[Any, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    SatisfactionRollup: (
        ("branch_id", "product_id", "channel", "survey_id"),
        METRIC_COLUMNS,
        ("w", "m"),
    ),
    QuestionRollup: (
        ("branch_id", "product_id", "channel", "survey_id", "question", "scale"),
        ("answers", "total", "top"),
        ("w", "m"),
    ),
    AnswerValueRollup: (("branch_id", "survey_id", "question", "kind"), ("answers",), ("w", "m")),
    ComplaintRollup: (
        ("branch_id", "product_id", "channel", "code_channel", "code_business", "code_cause"),
        rows.COMPLAINT_COUNTS,
        ("m",),
    ),
    ComplaintSliceRollup: (("branch_id", "dim", "value"), rows.COMPLAINT_COUNTS, ("w", "m")),
    VoiceRollup: (("branch_id", "source_type", "kind", "key"), ("texts", "negative"), ("w", "m")),
}
MONTHLY = {model: spec[:2] for model, spec in PERIODIC.items()}


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def period_start(period: str, day: date) -> date:
    return day - timedelta(days=day.weekday()) if period == "w" else month_start(day)


def period_after(period: str, start: date) -> date:
    return start + timedelta(days=7) if period == "w" else next_month(start)


def periods_of(model: Any) -> tuple[str, ...]:
    return PERIODIC[model][2] if model in PERIODIC else ()


def _period_rows(model: Any, period: str, start: date, branch: Any = ...) -> None:
    """Replace the ``period`` rows beginning ``start`` (one branch, or all when omitted) with
    the sums of their day rows."""
    keys, sums, _ = PERIODIC[model]
    where = [model.period == "d", model.day >= start, model.day < period_after(period, start)]
    gone = [model.period == period, model.day == start]
    if branch is not ...:
        match = model.branch_id == branch if branch is not None else model.branch_id.is_(None)
        where.append(match)
        gone.append(match)
    db.session.execute(delete(model).where(*gone))
    source = (
        select(
            literal(period, String(1)),
            literal(start, Date()),
            *(getattr(model, k) for k in keys),
            *(func.sum(getattr(model, c)) for c in sums),
        )
        .where(*where)
        .group_by(*(getattr(model, k) for k in keys))
    )
    db.session.execute(insert(model).from_select(["period", "day", *keys, *sums], source))


def _month_rows(model: Any, month: date, branch: Any = ...) -> None:
    _period_rows(model, "m", month, branch)


def _all_period_rows(model: Any) -> None:
    if not periods_of(model):
        return
    first, last = db.session.execute(
        select(func.min(model.day), func.max(model.day)).where(model.period == "d")
    ).one()
    if first is None:
        return
    for period in periods_of(model):
        start = period_start(period, first)
        while start <= last:
            _period_rows(model, period, start)
            start = period_after(period, start)


@transactional
def refresh(dirty: DirtyCells, *, wait: bool = True) -> int:
    """Recompute the rollup rows of the given cells from the raw rows; returns rows stored.

    Idempotent: the cells' rows are replaced, never incremented. ``wait=False`` (a refresh run
    inside a web request): when another refresh holds the lock beyond a moment, nothing is
    done and -1 is returned; the periodic ``refresh_recent`` recounts the last two days (older
    cells: ``flask dashboards rebuild``).
    """
    if not _lock(wait):
        log.warning("rollup refresh left to the periodic refresh (lock busy): %s", dirty.to_json())
        return -1
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
        for model in MODELS[kind]:
            for period in periods_of(model):
                starts = {(period_start(period, d), b) for d, b in kind_cells}
                for start, branch in sorted(starts, key=str):
                    _period_rows(model, period, start, branch)
    return stored


@transactional
def refresh_recent(days: int = 2, now: datetime | None = None) -> int:
    """Recompute every branch's rows of the last ``days`` Asia/Shanghai days (today included)
    from the raw rows; returns rows stored. The periodic safety net: a refresh job that never
    reached the broker (a worker killed between commit and send, a request that left its cells
    because the lock was busy) is made good within minutes.

    The raw rows and rollup rows are selected by time alone and the week and month rows summed
    for all branches at once: asked cell by cell ((day, branch) for every unit), the last two
    days of a bank of 2,026 units took 392 s, holding the lock every save's refresh waits for.
    """
    _lock()
    today = local_day(now or datetime.now(UTC))
    span = Days(today - timedelta(days=days - 1), today)
    stored = 0
    for kind in KINDS:
        for model in MODELS[kind]:
            db.session.execute(delete(model).where(_cell_filter(model, span)))
        stored += BUILDERS[kind](span)
        for model in MODELS[kind]:
            for period in periods_of(model):
                for start in sorted({period_start(period, d) for d in span.each()}):
                    _period_rows(model, period, start)
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
            _all_period_rows(model)
    return out


def metric_columns() -> tuple[str, ...]:
    return METRIC_COLUMNS
