"""Follow-up figures for the dashboards: calls made, reach rate, detractor call-back in 48 hours."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, select

from app.extensions import db
from app.models import FollowUpRollup
from app.services import metrics
from app.services.dashboard_filters import Filters

COUNTS = ("tasks", "attempts", "reached", "closed", "detractor_tasks", "detractor_within_48h")
REASONS = {"detractor": "低分客户", "trigger": "业务事件", "manual": "人工指派"}


def rows(f: Filters, *dims: str) -> list[tuple[tuple, dict[str, int]]]:
    r = FollowUpRollup
    cols = [getattr(r, d) for d in dims]
    sums = [func.coalesce(func.sum(getattr(r, c)), 0).label(c) for c in COUNTS]
    stmt = metrics.apply_filters(select(*cols, *sums), r, f)
    if cols:
        stmt = stmt.group_by(*cols)
    return [
        (tuple(row[: len(dims)]), {c: int(row._mapping[c]) for c in COUNTS})
        for row in db.session.execute(stmt)
    ]


def total(f: Filters) -> dict[str, int]:
    found = rows(f)
    return found[0][1] if found else dict.fromkeys(COUNTS, 0)


def trend(f: Filters) -> list[tuple[date, dict[str, int]]]:
    acc: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    for (day,), counts in rows(f, "day"):
        target = acc[metrics.period_of(day, f.grain)]
        for k, v in counts.items():
            target[k] += v
    return [(p, acc.get(p, dict.fromkeys(COUNTS, 0))) for p in metrics.periods(f)]


def by_reason(f: Filters) -> list[tuple[str, dict[str, int]]]:
    return [(REASONS.get(r, r), c) for (r,), c in rows(f, "reason")]


def share(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None
