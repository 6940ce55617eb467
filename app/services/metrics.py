"""Satisfaction figures read from the rollups: totals, trends and groupings for dashboards and API.

Only rollup rows are read. Each group carries ``surveys.MetricSums``, so ratios are computed from
exact integer sums and the API and the dashboards show the same numbers for the same filters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, case, func, literal, literal_column, or_, select

from app.extensions import db
from app.models import Branch, Product, SatisfactionRollup, Survey
from app.models.rollup import METRIC_COLUMNS, QuestionRollup
from app.services import rollups
from app.services.dashboard_filters import CHANNELS, Filters, memo
from surveys import MetricSums

DIRECT = "本级"  # a unit's own counter and staff, apart from its sub-branches
NO_BRANCH = "未关联机构"
UNLINKED = "未关联"  # the group of rows naming no product (or survey)


@dataclass
class Group:
    key: str
    label: str
    sums: MetricSums

    def report(self, min_sample: int | None = None) -> Any:
        return self.sums.report(min_sample if min_sample is not None else min_sample_size())


def min_sample_size() -> int:
    return int(current_app.config.get("MIN_SAMPLE_SIZE", 30))


def period_of(day: date, grain: str) -> date:
    """The first day of the week, month or quarter (a grain only the heat maps fall back to)
    that ``day`` lies in."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(day=1)


def period_last_day(start: date, grain: str) -> date:
    """The last day of the week, month or quarter that begins on ``start``."""
    if grain == "week":
        return start + timedelta(days=6)
    after = start
    for _ in range(3 if grain == "quarter" else 1):
        after = rollups.next_month(after)
    return after - timedelta(days=1)


def period_label(start: date, grain: str, within: Filters | None = None) -> str:
    """ "2026-11", "2026-11-30周", "2026年第4季度"; with the range ``within``, a period the range
    cuts says so — "2026-12（至4日）" for the month still running — so that a short last (or
    first) period is not read as a drop."""
    if grain == "week":
        label = f"{start:%Y-%m-%d}周"
    elif grain == "quarter":
        label = f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    else:
        label = f"{start:%Y-%m}"
    if within is None:
        return label
    last = period_last_day(start, grain)
    if within.end < last and within.start > start:  # cut at both ends: "2026-09（15日至20日）"
        cut = f"{_day_text(within.start, grain)}至{_day_text(within.end, grain)}"
        return f"{label}（{cut}）"
    if within.end < last:
        return f"{label}（至{_day_text(within.end, grain)}）"
    if within.start > start:
        return f"{label}（自{_day_text(within.start, grain)}）"
    return label


def cut_last_period(f: Filters) -> str:
    """When the range ends inside its last period (the month still running), what a count
    line's last point should say about it: "本期仅含 6 天（全期 31 天），次数不宜与整期比较";
    "" when the last period is whole or is the only one (nothing drawn before it to compare)."""
    starts = periods(f)
    if len(starts) < 2:
        return ""
    last = starts[-1]
    end = period_last_day(last, f.grain)
    if f.end >= end:
        return ""
    days, whole = (f.end - last).days + 1, (end - last).days + 1
    return f"本期仅含 {days} 天（全期 {whole} 天），次数不宜与整期比较"


def _day_text(day: date, grain: str) -> str:
    return f"{day.day}日" if grain == "month" else f"{day.month}月{day.day}日"


def periods(f: Filters) -> list[date]:
    out, current = [], period_of(f.start, f.grain)
    while current <= f.end:
        out.append(current)
        if f.grain == "week":
            current += timedelta(days=7)
        else:
            for _ in range(3 if f.grain == "quarter" else 1):
                current = rollups.next_month(current)
    return out


def cover(start: date, end: date, periods: tuple[str, ...], *, weekly: bool) -> list[tuple]:
    """Split ``start``..``end`` (inclusive) into (period, first, after) runs of rollup rows:
    whole months as month rows (not for weekly figures, a month cuts weeks), whole weeks inside
    the rest as week rows, and the remaining edge days as day rows. A week row only stands for
    days inside one run, so it never crosses the month a monthly figure puts it in."""
    out: list[tuple] = []
    after_end = end + timedelta(days=1)
    if "m" in periods and not weekly:
        first = start if start.day == 1 else rollups.next_month(start)
        after = rollups.next_month(end) if end == _month_end(end) else end.replace(day=1)
        if first < after:
            out.append(("m", first, after))
            edges = [(start, first), (after, after_end)]
        else:
            edges = [(start, after_end)]
    else:
        edges = [(start, after_end)]
    if not weekly:  # a monthly figure: no week row may cross a month boundary
        edges = [part for lo, hi in edges for part in _split_months(lo, hi)]
    for lo, hi in edges:
        if lo >= hi:
            continue
        first = lo + timedelta(days=(7 - lo.weekday()) % 7)  # the first Monday on or after lo
        weeks = (hi - first).days // 7 if "w" in periods and first < hi else 0
        if weeks <= 0:
            out.append(("d", lo, hi))
            continue
        after = first + timedelta(days=7 * weeks)
        out.append(("w", first, after))
        out.extend(("d", x, y) for x, y in ((lo, first), (after, hi)) if x < y)
    return out


def date_clause(model: Any, f: Filters, *, daily: bool = False) -> Any:
    """The range as the fewest rollup rows: month, week and day rows (``daily``: weekly
    figures, so no month rows)."""
    if not hasattr(model, "period"):
        return and_(model.day >= f.start, model.day <= f.end)
    runs = cover(f.start, f.end, rollups.periods_of(model), weekly=daily)
    parts = [
        and_(model.period == period, model.day >= first, model.day < after)
        for period, first, after in runs
    ]
    return parts[0] if len(parts) == 1 else or_(*parts)


def _split_months(lo: date, hi: date) -> list[tuple[date, date]]:
    out = []
    while lo < hi:
        cut = min(hi, rollups.next_month(lo))
        out.append((lo, cut))
        lo = cut
    return out


def _month_end(day: date) -> date:
    return rollups.next_month(day) - timedelta(days=1)


def apply_filters(
    stmt: Any, model: Any, f: Filters, *, survey: bool = True, daily: bool = False
) -> Any:
    """Date range, branch subtree, product, channel and (for answers) survey on a rollup."""
    stmt = stmt.where(date_clause(model, f, daily=daily))
    if f.branch_ids is not None:
        stmt = stmt.where(model.branch_id.in_(f.branch_ids))
    if f.product is not None and hasattr(model, "product_id"):
        stmt = stmt.where(model.product_id == f.product.id)
    if f.channel is not None and hasattr(model, "channel"):
        stmt = stmt.where(model.channel == f.channel)
    if survey and f.survey is not None and hasattr(model, "survey_id"):
        stmt = stmt.where(model.survey_id == f.survey.id)
    return stmt


def _sums(model: Any, names: Iterable[str]) -> list[Any]:
    return [func.coalesce(func.sum(getattr(model, c)), 0).label(c) for c in names]


def satisfaction_rows(f: Filters, *dims: str) -> list[tuple[tuple, MetricSums]]:
    """MetricSums per combination of rollup columns ``dims`` (e.g. "day", "branch_id"),
    remembered for the rest of the request."""
    return memo(("satisfaction", f, dims), lambda: _satisfaction_rows(f, dims))


def rollup_column(model: Any, f: Filters, dim: str) -> Any:
    """A rollup's column for ``dim``; ``child``: the child subtree of the filter's node."""
    if dim == "child":
        return child_key_sql(model.branch_id, *children_of(f)).label("child")
    return getattr(model, dim)


def grouping(cols: list[Any]) -> list[Any]:
    """GROUP BY terms for ``cols``: the child subtree by its name in the select list (written
    out again, its parameters would be new ones and PostgreSQL would not see the same
    expression, nor should 2,000 unit ids be sent twice)."""
    return [literal_column("child") if getattr(c, "name", None) == "child" else c for c in cols]


def _satisfaction_rows(f: Filters, dims: tuple[str, ...]) -> list[tuple[tuple, MetricSums]]:
    cols = [rollup_column(SatisfactionRollup, f, d) for d in dims]
    stmt = apply_filters(
        select(*cols, *_sums(SatisfactionRollup, METRIC_COLUMNS)),
        SatisfactionRollup,
        f,
        daily="day" in dims and f.grain == "week",
    )
    if cols:
        stmt = stmt.group_by(*grouping(cols))
    out = []
    for row in db.session.execute(stmt):
        values = row._mapping
        sums = MetricSums(**{c: int(values[c]) for c in METRIC_COLUMNS})
        out.append((tuple(row[: len(dims)]), sums))
    return out


def satisfaction_total(f: Filters) -> MetricSums:
    rows = satisfaction_rows(f)
    return rows[0][1] if rows else MetricSums()


def _merge_into(acc: dict, key: Any, sums: MetricSums) -> None:
    acc[key] = acc.get(key, MetricSums()) + sums


def satisfaction_trend(f: Filters) -> list[Group]:
    """One group per week or month of the range, empty periods included."""
    acc: dict[date, MetricSums] = {}
    for (day,), sums in satisfaction_rows(f, "day"):
        _merge_into(acc, period_of(day, f.grain), sums)
    return [
        Group(p.isoformat(), period_label(p, f.grain, f), acc.get(p, MetricSums()))
        for p in periods(f)
    ]


def branch_map() -> dict[int, Branch]:
    return memo(("branch_map",), lambda: {b.id: b for b in db.session.scalars(select(Branch))})


def children_of(f: Filters) -> tuple[Branch | None, list[Branch]]:
    """The node the branch page looks at (the filter's branch, else head office) and its
    direct children, which are the rows of the ranking and the heat map."""
    branches = branch_map()
    node = f.branch or next((b for b in branches.values() if b.parent_id is None), None)
    if node is None:
        return None, []
    kids = sorted((b for b in branches.values() if b.parent_id == node.id), key=lambda b: b.code)
    return node, kids


def child_keys(node: Branch | None, kids: list[Branch]) -> dict[int | None, str]:
    """Which child subtree of ``node`` each branch id falls into ("" = the node itself);
    branches outside the node, and no branch (None), are absent: look up with
    ``.get(branch_id, NO_BRANCH)``. Worked out once per page from the paths (a row's unit's
    path below the node names its child): tried child by child for every rollup row, a 分行 of
    1,000 units took 15 s of the 机构 page."""
    if node is None:
        return {}

    def compute() -> dict[int | None, str]:
        codes = {k.path: k.code for k in kids}
        out: dict[int | None, str] = {}
        for branch in branch_map().values():
            if branch.path.startswith(node.path):
                below = branch.path[len(node.path) :].split("/", 1)[0]
                out[branch.id] = codes.get(f"{node.path}{below}/", "") if below else ""
        return out

    return memo(("child_keys", node.id, tuple(k.id for k in kids)), compute)


def child_key_sql(column: Any, node: Branch | None, kids: list[Branch]) -> Any:
    """``child_keys`` in SQL: the child subtree's code (``""`` for the node itself,
    ``NO_BRANCH`` outside it or for no branch) of the unit in ``column``, so a query groups its
    rows by child instead of returning one per unit: head office's 机构 page summed ~73,000
    (unit × period) rows in Python at 2,017 units."""
    units: dict[str, list[int]] = defaultdict(list)
    for branch_id, key in child_keys(node, kids).items():
        if branch_id is not None:
            units[key].append(branch_id)
    if not units:
        return literal(NO_BRANCH)
    whens = [(column.in_(sorted(ids)), literal(key)) for key, ids in sorted(units.items())]
    return case(*whens, else_=literal(NO_BRANCH))


def group_label(
    key: str, node: Branch | None, branches_by_code: dict[str, Branch], *, leaf: bool = False
) -> str:
    """A row's name: a child's, or the node's own unit ("杭州分行（本级）"; a sub-branch with no
    units under it is simply itself)."""
    if key == "":
        if node is None:
            return DIRECT
        return node.name if leaf else f"{node.name}（{DIRECT}）"
    return branches_by_code[key].name if key in branches_by_code else key


def satisfaction_by(f: Filters, group_by: str) -> list[Group]:
    """Groups for ``group_by`` in branch (the branch an answer belongs to), child (subtrees of
    the filter's branch), product, channel, survey or month; sorted by key."""
    if group_by in ("month", "week"):
        return satisfaction_trend(f if f.grain == group_by else _with_grain(f, group_by))
    if group_by == "child":
        return _by_child(f)
    dim = {"branch": "branch_id", "product": "product_id", "channel": "channel"}.get(
        group_by, "survey_id"
    )
    names = _names(group_by)
    groups = []
    for (value,), sums in satisfaction_rows(f, dim):
        code, label = names.get(value, (str(value) if value is not None else "", UNLINKED))
        groups.append(Group(code, label, sums))
    return sorted(groups, key=lambda g: g.key)


def _with_grain(f: Filters, grain: str) -> Filters:
    from dataclasses import replace

    return replace(f, grain=grain)


def _names(group_by: str) -> dict[Any, tuple[str, str]]:
    if group_by == "branch":
        return {b.id: (b.code, b.name) for b in db.session.scalars(select(Branch))}
    if group_by == "product":
        return {p.id: (p.code, p.name) for p in db.session.scalars(select(Product))}
    if group_by == "channel":
        return {code: (code, label) for code, label in CHANNELS.items()}
    return {s.id: (s.code, s.title) for s in db.session.scalars(select(Survey))}


def _by_child(f: Filters, also: Iterable[str] = ()) -> list[Group]:
    node, kids = children_of(f)
    by_code = {b.code: b for b in branch_map().values()}
    acc: dict[str, MetricSums] = {k.code: MetricSums() for k in kids}
    # the heat map's child x period rows, summed: one rollup read serves both charts
    for (key, _), sums in child_rows(f):
        _merge_into(acc, key, sums)
    for key in also:
        acc.setdefault(key, MetricSums())
    place = {k.code: i for i, k in enumerate(kids)}  # the node's own unit first, no branch last
    keys = sorted(acc, key=lambda k: -1 if k == "" else place.get(k, len(place)))
    return [Group(k, group_label(k, node, by_code, leaf=not kids), acc[k]) for k in keys]


def child_groups(f: Filters, also: Iterable[str] = ()) -> list[Group]:
    """The rows of the branch page: the node's own unit ("杭州分行（本级）", its own counter
    and staff) where it has answers or ``also`` names it (it has complaints), then every child
    subtree, then answers or cases of no branch. Together they hold everything in scope."""
    return _by_child(f, tuple(also))


def child_period_cells(f: Filters) -> tuple[list[date], dict[tuple[str, date], MetricSums]]:
    """The heat map's columns (the periods of the range at ``f.grain``) and its cells, keyed
    by (child key as in ``child_groups``, period start)."""
    cells: dict[tuple[str, date], MetricSums] = defaultdict(MetricSums)
    for (child, day), sums in child_rows(f):
        key = (child, period_of(day, f.grain))
        cells[key] = cells[key] + sums
    return periods(f), cells


def child_rows(f: Filters) -> list[tuple[tuple, MetricSums]]:
    """MetricSums per (child key as in ``child_groups``, rollup day), grouped in SQL
    (remembered for the rest of the request)."""
    return memo(
        ("satisfaction", f, ("child", "day")), lambda: _satisfaction_rows(f, ("child", "day"))
    )


def questions(f: Filters) -> list[dict[str, Any]]:
    """Mean and top-box share of each scale question and matrix item, most answered first."""
    q = QuestionRollup
    stmt = apply_filters(
        select(q.survey_id, q.question, q.scale, *_sums(q, ("answers", "total", "top"))), q, f
    ).group_by(q.survey_id, q.question, q.scale)
    surveys = {s.id: s for s in db.session.scalars(select(Survey))}
    titles = memo(("question titles",), question_titles)
    out = []
    for row in db.session.execute(stmt):
        if not row.answers:
            continue
        survey = surveys.get(row.survey_id)
        out.append(
            {
                "survey": survey.title if survey else "",
                "question": titles.get((row.survey_id, row.question), row.question),
                "question_id": row.question,
                "scale": SCALE_NAMES.get(row.scale, row.scale),
                "answers": int(row.answers),
                "mean": int(row.total) / int(row.answers),
                "top_share": int(row.top) / int(row.answers),
                "too_small": int(row.answers) < min_sample_size(),
            }
        )
    return sorted(out, key=lambda r: -r["answers"])


# each scale with its range, so a mean of 4.89 (CES, 1–7) is not read against 3.79 (1–5)
SCALE_NAMES = {"rating": "满意度 1–5 分", "ces": "省力度 CES 1–7 分", "nps": "推荐度 NPS 0–10 分"}


def question_titles() -> dict[tuple[int, str], str]:
    """(survey id, question id or ``question.item``) -> the question's Chinese text (matrix
    items: ``question：item``), newest version first so a reworded question reads as now."""
    from app.models import SurveyVersion
    from app.services.surveys import definition_of

    out: dict[tuple[int, str], str] = {}
    versions = db.session.scalars(select(SurveyVersion).order_by(SurveyVersion.id.desc()))
    for version in versions:
        try:
            defn = definition_of(version)
        except Exception:  # a definition the engine cannot read: keep the ids
            continue
        for question in defn.questions:
            title = question.title or question.id
            out.setdefault((version.survey_id, question.id), title)
            for item in question.items:
                key = f"{question.id}.{item.id}"[:130]
                out.setdefault((version.survey_id, key), f"{title}：{item.label}")
    return out
