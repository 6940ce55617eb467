"""Complaint figures for the dashboards, read from the complaint rollup (plus live overdue).

Timeliness (法定时限内处理占比) counts every case whose legal deadline fell in the period: the
cases decided in the period (on time or late) plus the open cases whose deadline in the period
has already passed without a decision. The numerator is the cases decided on time. The open
overdue cases are a live count (they change as time passes, not when a row is written), read
per the same dimensions as the rollup rows and added to them as ``overdue_open``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import Complaint, ComplaintRollup
from app.models.base import utcnow
from app.models.complaint import (
    CLOCK_RUNNING,
    deadline_running_clause,
    ended_late_undecided_clause,
    first_decision_clause,
    first_decision_pending_clause,
)
from app.models.rollup import ComplaintSliceRollup
from app.services import dashboard_filters, metrics
from app.services.dashboard_filters import Filters
from app.services.rollup_rows import COMPLAINT_COUNTS
from app.services.rollups import day_start, local_day
from nlp import load_taxonomy

# The counters the complaint rollups keep, read from where the rollups are written.
COUNTS = COMPLAINT_COUNTS
# live: open cases past their deadline (deadline in the period); decisions of the period not
# yet told whose deadline is still ahead (not due yet: the rollup counts them decided, not on
# time; the rate leaves them out until they are told or their deadline passes)
LIVE = ("overdue_open", "notice_pending")
BUCKET_LABELS = {
    "days_0_5": "0–5 天",
    "days_6_15": "6–15 天",
    "days_16_30": "16–30 天",
    "days_31_60": "31–60 天",
    "days_over_60": "60 天以上",
}
DIMENSIONS = {"code_channel": "A", "code_business": "B", "code_cause": "C"}
DIMENSION_LABELS = {
    "code_channel": "问题发生渠道（JR/T 0169 A）",
    "code_business": "业务类别（JR/T 0169 B）",
    "code_cause": "投诉原因（JR/T 0169 C）",
}


@dataclass
class Counts:
    values: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*COUNTS, *LIVE), 0))

    def __getattr__(self, name: str) -> int:
        if name in COUNTS or name in LIVE:
            return self.values[name]
        raise AttributeError(name)

    def add(self, other: Mapping[str, int]) -> None:
        for k in (*COUNTS, *LIVE):
            self.values[k] += int(other.get(k, 0) or 0)

    @property
    def due(self) -> int:
        """Cases the timeliness rate counts: decided (less those not yet told whose deadline is
        still ahead), plus open ones already past deadline."""
        return max(self.decided - self.notice_pending, 0) + self.overdue_open

    @property
    def in_time_share(self) -> float | None:
        return self.values["decided_in_time"] / self.due if self.due else None

    @property
    def mean_days(self) -> float | None:
        return self.values["decision_days"] / self.decided if self.decided else None

    @property
    def review_rate(self) -> float | None:
        return self.reviewed / self.received if self.received else None

    @property
    def reopen_rate(self) -> float | None:
        return self.reopened / self.received if self.received else None


SLICE_OF = {
    "channel": "channel",
    "product_id": "product",
    "code_channel": "code_channel",
    "code_business": "code_business",
    "code_cause": "code_cause",
}


def rows(f: Filters, *dims: str, regulator: bool | None = None) -> list[tuple[tuple, Counts]]:
    """Counts per combination of complaint rollup columns ``dims`` (remembered per request)."""
    key = ("complaints", f, dims, regulator)
    return dashboard_filters.memo(key, lambda: _with_overdue(f, dims, regulator))


def _with_overdue(
    f: Filters, dims: tuple[str, ...], regulator: bool | None
) -> list[tuple[tuple, Counts]]:
    """The rollup rows plus, per the same key, the open cases already past their deadline."""
    found = _rows(f, dims, regulator)
    live = {
        "overdue_open": overdue_open(f, dims, regulator),
        "notice_pending": notice_pending(f, dims, regulator),
    }
    if not any(live.values()):
        return found
    index = {key: counts for key, counts in found}
    for name, counted in live.items():
        for key, n in counted.items():
            if key not in index:
                index[key] = Counts()
                found.append((key, index[key]))
            index[key].values[name] += n
    return found


OVERDUE_COLUMNS = {
    "branch_id": Complaint.branch_id,
    "product_id": Complaint.product_id,
    "channel": Complaint.channel,
    "code_channel": Complaint.code_channel,
    "code_business": Complaint.code_business,
    "code_cause": Complaint.code_cause,
    "child": Complaint.branch_id,  # (mapped to its child subtree in _counted)
}


def narrowed(stmt: Any, f: Filters, model: Any = Complaint) -> Any:
    """A query of complaints (or of another model with ``branch_id``, ``product_id`` and
    ``channel``: survey responses) limited to the filters' branches, product and channel."""
    if f.branch_ids is not None:
        stmt = stmt.where(model.branch_id.in_(f.branch_ids))
    if f.product is not None:
        stmt = stmt.where(model.product_id == f.product.id)
    if f.channel is not None:
        stmt = stmt.where(model.channel == f.channel)
    return stmt


def first_decided_in(f: Filters) -> list[Any]:
    """Conditions: the complaint's first decision falls in the filters' days (written on the
    expression of ix_complaint_first_decided, so a period is read off that index)."""
    decided = first_decision_clause()[1]
    return [decided >= day_start(f.start), decided < day_start(f.end + timedelta(days=1))]


def overdue_open(
    f: Filters, dims: tuple[str, ...] = (), regulator: bool | None = None
) -> dict[tuple, int]:
    """Cases with no decision whose deadline lies in the range and has passed, per ``dims``
    (``day``: the local day of the deadline): open ones (clock running), and those withdrawn
    or declined only after the deadline (they were overdue undecided when they ended; ending
    them later took them out of the late count)."""
    now = utcnow()
    end = min(day_start(f.end + timedelta(days=1)), now)
    stmt = select(Complaint.due_at, *(OVERDUE_COLUMNS[d] for d in dims if d != "day")).where(
        or_(Complaint.status.in_([str(s) for s in CLOCK_RUNNING]), ended_late_undecided_clause()),
        Complaint.decided_at.is_(None),
        Complaint.due_at >= day_start(f.start),
        Complaint.due_at < end,
    )
    return _counted(stmt, f, dims, regulator)


def notice_pending(
    f: Filters, dims: tuple[str, ...] = (), regulator: bool | None = None
) -> dict[tuple, int]:
    """Cases whose first decision falls in the range, not yet proven told, with the deadline
    still ahead (``complaint_clock.notice_pending``), per ``dims`` (``day``: the local day of
    the decision, where the rollup counts it)."""
    decided = first_decision_clause()[1]
    stmt = select(decided, *(OVERDUE_COLUMNS[d] for d in dims if d != "day")).where(
        *first_decided_in(f), first_decision_pending_clause(utcnow())
    )
    return _counted(stmt, f, dims, regulator)


def _counted(
    stmt: Any, f: Filters, dims: tuple[str, ...], regulator: bool | None
) -> dict[tuple, int]:
    """The rows of ``stmt`` (a moment, then the columns of ``dims`` but ``day``) in the
    filters' scope, counted per ``dims`` (``day``: the moment's local day)."""
    stmt = narrowed(stmt, f)
    if regulator is not None:
        stmt = stmt.where(
            (Complaint.channel == "regulator") if regulator else (Complaint.channel != "regulator")
        )
    out: dict[tuple, int] = defaultdict(int)
    child = metrics.child_keys(*metrics.children_of(f)) if "child" in dims else {}
    for row in db.session.execute(stmt):
        rest = iter(row[1:])
        key = []
        for d in dims:
            if d == "day":
                key.append(local_day(row[0]))
            elif d == "child":
                key.append(child.get(next(rest), metrics.NO_BRANCH))
            elif d.startswith("code_"):
                key.append(next(rest) or "")
            else:
                key.append(next(rest))
        out[tuple(key)] += 1
    return out


def _slice_dim(f: Filters, dims: tuple[str, ...], regulator: bool | None) -> str | None:
    """The one slice that answers the query, or None when it needs two dimensions at once."""
    needed = {SLICE_OF[d] for d in dims if d in SLICE_OF}
    if any(d not in ("day", "branch_id", "child", *SLICE_OF) for d in dims):
        return None
    if f.channel is not None or regulator is not None:
        needed.add("channel")
    if f.product is not None:
        needed.add("product")
    if len(needed) > 1:
        return None
    return needed.pop() if needed else "channel"


def _rows(f: Filters, dims: tuple[str, ...], regulator: bool | None) -> list[tuple[tuple, Counts]]:
    dim = _slice_dim(f, dims, regulator)
    if dim is None and len(dims) == 1 and dims[0] in DIMENSIONS and regulator is None:
        return _one_code(f, dims[0])
    if dim is None:
        return _wide_rows(f, dims, regulator)
    s = ComplaintSliceRollup
    cols = [s.value if d in SLICE_OF else metrics.rollup_column(s, f, d) for d in dims]
    sums = [func.coalesce(func.sum(getattr(s, c)), 0).label(c) for c in COUNTS]
    daily = "day" in dims and f.grain == "week"
    stmt = metrics.apply_filters(select(*cols, *sums), s, f, survey=False, daily=daily)
    stmt = stmt.where(s.dim == dim)
    if f.channel is not None:
        stmt = stmt.where(s.value == f.channel)
    if f.product is not None:
        stmt = stmt.where(s.value == str(f.product.id))
    if regulator is not None:
        stmt = stmt.where((s.value == "regulator") if regulator else (s.value != "regulator"))
    if cols:
        stmt = stmt.group_by(*metrics.grouping(cols))
    out = []
    for row in db.session.execute(stmt):
        counts = Counts()
        counts.add(row._mapping)
        values = tuple(
            (int(v) if v else None) if d == "product_id" else v
            for d, v in zip(dims, row[: len(dims)], strict=True)
        )
        out.append((values, counts))
    return out


def _one_code(f: Filters, dim: str) -> list[tuple[tuple, Counts]]:
    """One JR/T 0169 dimension from a single read of all three (filtered pages read the wide
    rollup; its three code charts share that one read)."""
    codes = tuple(DIMENSIONS)
    found = dashboard_filters.memo(("complaint codes", f), lambda: _wide_rows(f, codes, None))
    position = codes.index(dim)
    acc: dict[str, Counts] = {}
    for values, counts in found:
        acc.setdefault(values[position], Counts()).add(counts.values)
    return [((code,), counts) for code, counts in acc.items()]


def _wide_rows(
    f: Filters, dims: tuple[str, ...], regulator: bool | None
) -> list[tuple[tuple, Counts]]:
    r = ComplaintRollup
    cols = [metrics.rollup_column(r, f, d) for d in dims]
    sums = [func.coalesce(func.sum(getattr(r, c)), 0).label(c) for c in COUNTS]
    daily = "day" in dims and f.grain == "week"
    stmt = metrics.apply_filters(select(*cols, *sums), r, f, survey=False, daily=daily)
    if regulator is not None:
        stmt = stmt.where((r.channel == "regulator") if regulator else (r.channel != "regulator"))
    if cols:
        stmt = stmt.group_by(*metrics.grouping(cols))
    out = []
    for row in db.session.execute(stmt):
        counts = Counts()
        counts.add(row._mapping)
        out.append((tuple(row[: len(dims)]), counts))
    return out


def total(f: Filters, **kw: Any) -> Counts:
    found = rows(f, **kw)
    return found[0][1] if found else Counts()


def sum_counts(items: Iterable[Counts]) -> Counts:
    out = Counts()
    for item in items:
        out.add(item.values)
    return out


def trend(f: Filters, **kw: Any) -> list[tuple[date, Counts]]:
    acc: dict[date, Counts] = defaultdict(Counts)
    for (day,), counts in rows(f, "day", **kw):
        acc[metrics.period_of(day, f.grain)].add(counts.values)
    return [(p, acc.get(p, Counts())) for p in metrics.periods(f)]


def by_dimension(f: Filters, dim: str) -> list[tuple[str, str, Counts]]:
    """(code, Chinese label, counts) for one JR/T 0169 dimension, most received first."""
    labels = code_labels(DIMENSIONS[dim])
    out = []
    for (code,), counts in rows(f, dim):
        if counts.received or counts.decided or counts.overdue_open:
            out.append((code, labels.get(code, "未分类") if code else "未分类", counts))
    return sorted(out, key=lambda r: (-r[2].received, r[0]))


def code_labels(dimension: str) -> dict[str, str]:
    return {e.code: e.label for e in load_taxonomy().dimension(dimension).entries}


def by_child(f: Filters) -> dict[str, Counts]:
    _, kids = metrics.children_of(f)
    acc: dict[str, Counts] = {k.code: Counts() for k in kids}
    for (key, _), counts in rows(f, "child", "day"):  # the heat map's rows, summed
        acc.setdefault(key, Counts()).add(counts.values)
    return acc


def by_channel(f: Filters) -> list[tuple[str, Counts]]:
    return sorted(((c, n) for (c,), n in rows(f, "channel")), key=lambda r: -r[1].received)


def by_product(f: Filters) -> dict[int | None, Counts]:
    return {p: n for (p,), n in rows(f, "product_id")}


def child_month(f: Filters) -> dict[tuple[str, date], Counts]:
    acc: dict[tuple[str, date], Counts] = defaultdict(Counts)
    for (child, day), counts in rows(f, "child", "day"):
        acc[(child, metrics.period_of(day, f.grain))].add(counts.values)
    return acc


def customers_by_child(f: Filters) -> dict[str, int]:
    """The bank's registered customers per child subtree (``Branch.customer_count``, the
    denominator of complaints per 10,000 customers); a child none of whose units has a count is
    absent. Kesheng's own customer table is not the population: it holds only the customers
    who complained, answered a survey or were imported for a campaign."""
    keys = metrics.child_keys(*metrics.children_of(f))
    acc: dict[str, int] = defaultdict(int)
    for branch in metrics.branch_map().values():
        if branch.customer_count is not None:
            acc[keys.get(branch.id, metrics.NO_BRANCH)] += branch.customer_count
    return acc


def overdue_now(f: Filters) -> int:
    """Open complaints whose legal deadline has passed (a live count, not a rollup)."""
    return sum(overdue_now_parts(f).values())


@dataclass
class OverdueNow:
    """The complaints past their legal deadline now, by what they wait for: a decision of the
    handler they are assigned to, a handler (unassigned), or, decided already, the notice of
    the decision to the customer or the decision of a review the customer asked for (the
    deadline still runs)."""

    assigned: int = 0
    unassigned: int = 0
    decided: int = 0

    def values(self) -> tuple[int, int, int]:
        return self.assigned, self.unassigned, self.decided


def overdue_now_parts(f: Filters) -> OverdueNow:
    """``overdue_now`` split as the 处理人员 page needs it (its 当前在办 counts only the
    undecided cases of a handler), so that the two live figures can be reconciled."""
    decided = Complaint.decided_at.is_not(None)
    unassigned = Complaint.assignee_id.is_(None)
    stmt = select(decided, unassigned, func.count(Complaint.id)).where(
        deadline_running_clause(), Complaint.due_at < utcnow()
    )
    stmt = narrowed(stmt, f).group_by(decided, unassigned)
    out = OverdueNow()
    for is_decided, is_unassigned, n in db.session.execute(stmt):
        if is_decided:
            out.decided += n
        elif is_unassigned:
            out.unassigned += n
        else:
            out.assigned += n
    return out
