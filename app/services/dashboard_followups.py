"""Follow-up figures for the dashboards: calls made, reach rate, detractor call-back in 48 hours.

The reach rate counts only tasks already called (a task still waiting for its first call says
nothing about reaching the customer), and the 48-hour call-back rate only detractor tasks whose
48 hours are over. The rollup's day rows answer that for tasks created at least three Beijing
days before today (all their windows have closed); the tasks of the last three days are read
live, those whose 48 hours have passed by now (leaving them out biased the current period
towards the days before).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import case, func, select

from app.extensions import db
from app.models import CallAttempt, FollowUp, FollowUpRollup
from app.models.base import utcnow
from app.models.survey_response import FOLLOWUP_REASON_LABELS
from app.services import dashboard_filters, metrics, rollup_rows
from app.services.dashboard_filters import Filters
from app.services.rollups import day_start, local_day

COUNTS = (
    "tasks",
    "called",
    "attempts",
    "reached",
    "closed",
    "detractor_tasks",
    "detractor_within_48h",
)
# the detractor counts again, of the days whose 48-hour windows have all closed
WINDOW_CLOSED = {"detractor_due": "detractor_tasks", "detractor_due_in_48h": "detractor_within_48h"}
KEYS = (*COUNTS, *WINDOW_CLOSED)
WINDOW_DAYS = 3
REASONS = FOLLOWUP_REASON_LABELS


def rows(f: Filters, *dims: str) -> list[tuple[tuple, dict[str, int]]]:
    r = FollowUpRollup
    cols = [getattr(r, d) for d in dims]
    closed_by = dashboard_filters.today() - timedelta(days=WINDOW_DAYS)
    sums = [func.coalesce(func.sum(getattr(r, c)), 0).label(c) for c in COUNTS]
    sums += [
        func.coalesce(func.sum(case((r.day <= closed_by, getattr(r, c)), else_=0)), 0).label(key)
        for key, c in WINDOW_CLOSED.items()
    ]
    stmt = metrics.apply_filters(select(*cols, *sums), r, f)
    if cols:
        stmt = stmt.group_by(*cols)
    found: dict[tuple, dict[str, int]] = {
        tuple(row[: len(dims)]): {k: int(row._mapping[k]) for k in KEYS}
        for row in db.session.execute(stmt)
    }
    for key, (due, in_time) in _recent_due(f, dims, closed_by).items():
        counts = found.setdefault(key, dict.fromkeys(KEYS, 0))
        counts["detractor_due"] += due
        counts["detractor_due_in_48h"] += in_time
    return list(found.items())


def _recent_due(f: Filters, dims: tuple[str, ...], closed_by: date) -> dict[tuple, list[int]]:
    """Detractor tasks created after ``closed_by`` whose 48 hours are over by now, and those
    of them reached within the 48 hours, per ``dims`` (read live: a few days of tasks)."""
    first = max(f.start, closed_by + timedelta(days=1))
    if first > f.end:
        return {}
    stmt = select(FollowUp).where(
        FollowUp.reason == "detractor",
        FollowUp.created_at >= day_start(first),
        FollowUp.created_at < day_start(f.end + timedelta(days=1)),
        FollowUp.created_at <= utcnow() - rollup_rows.CALLBACK_WINDOW,
    )
    tasks = list(db.session.scalars(f.on_rows(stmt, FollowUp)))
    if not tasks:
        return {}
    calls: dict[int, list] = defaultdict(list)
    attempts = select(CallAttempt.followup_id, CallAttempt.outcome, CallAttempt.at).where(
        CallAttempt.followup_id.in_([t.id for t in tasks])
    )
    for followup_id, outcome, at in db.session.execute(attempts):
        calls[followup_id].append((outcome, at))
    out: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for task in tasks:
        counts = rollup_rows.followup_counts(task, calls[task.id])
        key = tuple(local_day(task.created_at) if d == "day" else getattr(task, d) for d in dims)
        out[key][0] += 1
        out[key][1] += counts["detractor_within_48h"]
    return out


def total(f: Filters) -> dict[str, int]:
    found = rows(f)
    return found[0][1] if found else dict.fromkeys(KEYS, 0)


def trend(f: Filters) -> list[tuple[date, dict[str, int]]]:
    acc: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(KEYS, 0))
    for (day,), counts in rows(f, "day"):
        target = acc[metrics.period_of(day, f.grain)]
        for k, v in counts.items():
            target[k] += v
    return [(p, acc.get(p, dict.fromkeys(KEYS, 0))) for p in metrics.periods(f)]


def by_reason(f: Filters) -> list[tuple[str, dict[str, int]]]:
    return [(REASONS.get(r, r), c) for (r,), c in rows(f, "reason")]


def share(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def reach_rate(counts: dict[str, int]) -> float | None:
    """Tasks reached at least once among the tasks called at least once (None: none called)."""
    return share(counts["reached"], counts["called"])


def callback_rate(counts: dict[str, int]) -> float | None:
    """Detractors called back within 48 hours among those whose 48 hours are over."""
    return share(counts["detractor_due_in_48h"], counts["detractor_due"])
