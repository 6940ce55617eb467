"""Figures of the closure loop: before/after windows, the chart, suggestions, the overview."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, case, func, or_, select

from app.extensions import db
from app.models import (
    Branch,
    Complaint,
    ImprovementAction,
    Problem,
    ProblemLink,
    Response,
    SatisfactionRollup,
    utcnow,
)
from app.models.analysis import TextAnalysis
from app.models.improvement import LINK_SOURCES, OPEN_ACTIONS, ProblemStatus
from app.services import complaint_clock as clock
from app.services import improvement_verification as rule
from app.services import metrics, rollups, scope
from surveys.scoring import half_up


def settings() -> tuple[int, int]:
    """(minimum answers per window for CSAT/NPS, minimum complaints in both windows)."""
    cfg = current_app.config
    return int(cfg.get("MIN_SAMPLE_SIZE", 30)), int(cfg.get("IMPROVEMENT_MIN_COMPLAINTS", 5))


def open_actions(problem: Problem) -> int:
    """Actions still to do (a cancelled one is not)."""
    return sum(1 for a in problem.actions if a.is_open)


def anchor_of(problem: Problem) -> datetime | None:
    """When the last action was completed; None while the problem has none or one is still to
    finish (the comparison starts from the last one)."""
    done = [a.done_at for a in problem.actions if a.done_at]
    return max(done) if done and not open_actions(problem) else None


def _branch_ids(problem: Problem) -> Select:
    branch = db.session.get(Branch, problem.branch_id)
    return select(Branch.id).where(Branch.path.startswith(branch.path if branch else "/-/"))


def categories(problem: Problem) -> list[str]:
    """The problem's complaint categories: its own code, else those of its linked complaints."""
    if problem.code_business:
        return [problem.code_business]
    stmt = (
        select(Complaint.code_business)
        .join(ProblemLink, ProblemLink.source_id == Complaint.id)
        .where(ProblemLink.problem_id == problem.id, ProblemLink.source_type == "complaint")
        .where(Complaint.code_business.is_not(None))
        .distinct()
        .execution_options(include_all_branches=True)
    )
    return sorted(set(db.session.scalars(stmt)))


def complaint_count(problem: Problem, start: datetime, end: datetime, codes: list[str]) -> int:
    stmt = select(func.count(Complaint.id)).where(
        Complaint.branch_id.in_(_branch_ids(problem)),
        Complaint.received_at >= start,
        Complaint.received_at < end,
        Complaint.merged_into_id.is_(None),
    )
    if codes:
        stmt = stmt.where(or_(*(Complaint.code_business.startswith(c) for c in codes)))
    if problem.code_cause:
        stmt = stmt.where(Complaint.code_cause == problem.code_cause)
    if problem.product_id:
        stmt = stmt.where(Complaint.product_id == problem.product_id)
    return db.session.scalar(stmt.execution_options(include_all_branches=True)) or 0


FIGURES = ("csat_n", "csat_good", "nps_n", "promoters", "detractors")


def response_figures(problem: Problem, start: datetime, end: datetime) -> dict[str, int]:
    """CSAT and NPS counts of the answers of the problem's unit subtree (its product and
    survey when it names them) submitted from ``start`` to before ``end``: the whole Beijing
    days between from the satisfaction rollup (its month, week and day rows), the part days at
    either edge from the answers themselves. From the answers alone, a head-office problem's
    two windows read 120 days of every answer in the bank, for each problem: ``improvements
    remind`` took over 7 minutes with 1,212 open problems on a million answers."""
    first = rollups.local_day(start)
    if rollups.day_start(first) < start:
        first += timedelta(days=1)
    last = rollups.local_day(end) - timedelta(days=1)
    if first > last:
        return _answered(problem, start, end)
    parts = (
        _answered(problem, start, rollups.day_start(first)),
        _rolled_up(problem, first, last),
        _answered(problem, rollups.day_start(last + timedelta(days=1)), end),
    )
    return {k: sum(part[k] for part in parts) for k in FIGURES}


def _answered(problem: Problem, start: datetime, end: datetime) -> dict[str, int]:
    if start >= end:
        return dict.fromkeys(FIGURES, 0)
    stmt = select(
        func.count(Response.csat),
        func.sum(case((Response.csat >= 4, 1), else_=0)),
        func.count(Response.nps),
        func.sum(case((Response.nps >= 9, 1), else_=0)),
        func.sum(case((Response.nps <= 6, 1), else_=0)),
    ).where(
        Response.branch_id.in_(_branch_ids(problem)),
        Response.submitted_at >= start,
        Response.submitted_at < end,
    )
    return _counted(problem, stmt, Response)


def _rolled_up(problem: Problem, first: date, last: date) -> dict[str, int]:
    """The same counts over the Beijing days ``first`` to ``last`` (inclusive), from the rollup
    (the same definitions: top two of five, promoters 9-10, detractors 0-6)."""
    s = SatisfactionRollup
    runs = metrics.cover(first, last, rollups.periods_of(s), weekly=False)
    stmt = select(
        func.sum(s.csat_n),
        func.sum(s.csat_top2),
        func.sum(s.nps_n),
        func.sum(s.promoters),
        func.sum(s.detractors),
    ).where(
        or_(*(and_(s.period == p, s.day >= lo, s.day < hi) for p, lo, hi in runs)),
        s.branch_id.in_(_branch_ids(problem)),
    )
    return _counted(problem, stmt, s)


def _counted(problem: Problem, stmt: Select, model: Any) -> dict[str, int]:
    """``stmt``'s FIGURES, narrowed to the problem's product and survey when it names them
    (``model``: the answers or the rollup, which share those columns)."""
    if problem.product_id:
        stmt = stmt.where(model.product_id == problem.product_id)
    if problem.survey_id:
        stmt = stmt.where(model.survey_id == problem.survey_id)
    row = db.session.execute(stmt.execution_options(include_all_branches=True)).one()
    return {k: int(v or 0) for k, v in zip(FIGURES, row, strict=True)}


@dataclass(frozen=True)
class Windows:
    anchor: datetime | None
    days: int
    before: rule.WindowFigures = field(default_factory=rule.WindowFigures)
    after: rule.WindowFigures = field(default_factory=rule.WindowFigures)
    days_left: int = 0


def windows(problem: Problem, now: datetime) -> Windows:
    """The before/after figures around the last completed action (empty before any)."""
    anchor, days = anchor_of(problem), problem.window_days or 60
    if anchor is None:
        return Windows(None, days)
    span = timedelta(days=days)
    codes = categories(problem)
    end = min(anchor + span, now)
    before = rule.WindowFigures(
        complaints=complaint_count(problem, anchor - span, anchor, codes),
        **response_figures(problem, anchor - span, anchor),
    )
    after = rule.WindowFigures(
        complaints=complaint_count(problem, anchor, end, codes),
        **response_figures(problem, anchor, end),
    )
    left = max(0, (anchor + span - now).days + (1 if (anchor + span - now).seconds else 0))
    return Windows(anchor, days, before, after, left if anchor + span > now else 0)


def evaluate(problem: Problem, now: datetime | None = None) -> tuple[Windows, rule.Verification]:
    now = now or utcnow()
    w = windows(problem, now)
    if w.anchor is None:
        return w, rule.pending(open_actions(problem))
    min_sample, min_complaints = settings()
    result = rule.verify(
        w.before,
        w.after,
        days_left=w.days_left,
        min_sample=min_sample,
        min_complaints=min_complaints,
    )
    return w, result


def refresh(problem: Problem, now: datetime) -> rule.Verification:
    """Store the current verdict on the problem (flush only) and return it."""
    w, result = evaluate(problem, now)
    problem.verification = {
        **result.to_dict(),
        "anchor": w.anchor.isoformat() if w.anchor else None,
        "window_days": w.days,
        "at": now.isoformat(),
    }
    if result.holds and problem.verified_at is None:
        problem.verified_at = now
    return result


BEFORE_COLOR = "#9aa5b1"
NEUTRAL_COLOR = "#cbd5e1"  # too small a sample, or no change: no verdict in the colour
CHANGE_COLORS = {"better": "#15803d", "worse": "#c2410c"}
COUNT_SIGNALS = frozenset({"complaints"})


def after_color(signal: rule.Signal) -> str:
    """Green when better, orange when worse, neutral when unusable (样本不足) or unchanged."""
    if not signal.usable:
        return NEUTRAL_COLOR
    return CHANGE_COLORS.get(signal.change, NEUTRAL_COLOR)


def shown(signal: rule.Signal, value: float | None) -> str:
    """A signal's value as shown: counts as integers, rates as stored (one decimal)."""
    if value is None:
        return "—"
    if signal.name in COUNT_SIGNALS:
        return str(int(round(value)))
    return f"{value:g}"


def bar_text(signal: rule.Signal, value: float | None, size: int) -> str:
    """The label over a bar: the figure, and for a rate its sample size below, smaller (a
    count is its own sample: "14 n=14" said it twice)."""
    if signal.name in COUNT_SIGNALS:
        return shown(signal, value)
    return f"{shown(signal, value)}<br><span style='font-size:10px'>n={size}</span>"


CHART_HEIGHT, TOP_MARGIN, BOTTOM_MARGIN = 336, 86, 30


def chart(problem: Problem, w: Windows, result: rule.Verification) -> dict[str, Any]:
    """A Plotly figure (plain JSON): before/after bars for each signal, with sample sizes."""
    data, notes, n = [], [], len(result.signals) or 1
    plot_height = CHART_HEIGHT - TOP_MARGIN - BOTTOM_MARGIN
    for i, s in enumerate(result.signals, start=1):
        axis = "" if i == 1 else str(i)
        for label, value, size, color in (
            ("整改前", s.before, s.n_before, BEFORE_COLOR),
            # while the after-window runs, its figures so far carry no colour of a verdict
            ("整改后", s.after, s.n_after, NEUTRAL_COLOR if result.days_left else after_color(s)),
        ):
            marker: dict[str, Any] = {"color": color}
            if value == 0:  # no bar to see: an outline on the axis says "0", not "no data"
                marker["line"] = {"color": "#64748b", "width": 3}
            data.append(
                {
                    "type": "bar",
                    "name": label,
                    "x": [label],
                    "y": [value if value is not None else 0],
                    "text": [bar_text(s, value, size)],
                    # above the bar, upright (inside a thin bar plotly turned it sideways)
                    "textposition": "outside",
                    "textangle": 0,
                    "cliponaxis": False,
                    "marker": marker,
                    "xaxis": f"x{axis}",
                    "yaxis": f"y{axis}",
                    "showlegend": False,
                    "hovertemplate": f"{s.label} {label}：%{{y}}（样本 {size}）<extra></extra>",
                }
            )
        state = "" if s.usable else "<br><span style='color:#94a3b8'>样本不足</span>"
        # the unit on a line of its own: on a phone a third of the width holds 满意度 but not
        # 满意度（CSAT，%）, and the three titles ran into one another
        title = s.label.replace("（", "<br>（", 1)
        notes.append(
            {
                "text": f"<b>{title}</b>{state}",
                "x": 0.5,  # over the middle of its own bars, whatever the axis labels take
                # hung from the top of the figure: titles of one, two or three lines start on
                # one line (anchored at their foot, they began at three heights)
                "y": 1 + (TOP_MARGIN - 4) / plot_height,
                "yanchor": "top",
                "xref": f"x{axis} domain",
                "yref": "paper",
                "showarrow": False,
                "font": {"size": 13},
            }
        )
    layout: dict[str, Any] = {
        "margin": {"l": 40, "r": 10, "t": TOP_MARGIN, "b": BOTTOM_MARGIN},
        "height": CHART_HEIGHT,
        "annotations": notes,
        "font": {"family": "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif"},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "bargap": 0.3,
    }
    gap = 0.06
    counts = {
        i: _count_ticks(s) for i, s in enumerate(result.signals, start=1) if s.name in COUNT_SIGNALS
    }
    for i in range(1, n + 1):
        axis = "" if i == 1 else str(i)
        start, end = (i - 1) / n + (gap if i > 1 else 0), i / n - (gap if i < n else 0)
        layout[f"xaxis{axis}"] = {"domain": [start, end], "anchor": f"y{axis}", "fixedrange": True}
        layout[f"yaxis{axis}"] = {
            "anchor": f"x{axis}",
            "fixedrange": True,
            "rangemode": "tozero",
            "nticks": 6,
            "automargin": True,
            **_headroom(result.signals[i - 1] if result.signals else None),
            **counts.get(i, {}),
        }
    return {"data": data, "layout": layout, "config": {"displayModeBar": False}}


def _headroom(signal: rule.Signal | None) -> dict[str, Any]:
    """A range with room above the taller bar (below a negative one) for its label outside."""
    if signal is None:
        return {}
    values = [v for v in (signal.before, signal.after) if v is not None]
    top, low = max(values + [0.0]), min(values + [0.0])
    if top == low:
        return {}
    span = top - low
    return {"range": [low - 0.25 * span if low < 0 else 0, top + 0.25 * span if top > 0 else 0]}


def _count_ticks(signal: rule.Signal) -> dict[str, Any]:
    """Whole-number ticks for a count (automatic ticks on a top of 2 read 0, 1, 1, 2, 2 once
    formatted as integers)."""
    top = max(signal.before or 0, signal.after or 0)
    return {
        "tickformat": ",d",
        "tickmode": "linear",
        "tick0": 0,
        "dtick": max(1, math.ceil(top / 5)),
    }


def problem_terms(problem: Problem, k: int = 6) -> list[str]:
    """The words a problem is about (its title and description's keywords and their parts:
    转账限额 also finds 限额), to find and rank texts about it."""
    import nlp
    from nlp.keywords import is_filler
    from nlp.segment import is_stopword, tokenizer

    found: dict[str, None] = {}
    for word in nlp.keywords(f"{problem.title}。{problem.description or ''}", k=k):
        for part in tokenizer().cut_for_search(word):
            if len(part) >= 2 and not is_stopword(part) and not is_filler(part):
                found[part] = None
    return list(found)


def suggestions(problem: Problem, limit: int = 20) -> list[TextAnalysis]:
    """Analysed texts in the problem's scope sharing its categories, its linked texts' topics or
    the words of its title and description; those sharing the most words first. (By category
    and topic alone, a problem about 非柜面转账限额 was offered recent texts about LPR, ATMs and
    fees, and none of the complaints about limits.)"""
    linked = select(ProblemLink.source_type, ProblemLink.source_id).where(
        ProblemLink.problem_id == problem.id
    )
    have = {(t, i) for t, i in db.session.execute(linked)}
    topics = set(
        db.session.scalars(
            select(TextAnalysis.topic_id).where(
                TextAnalysis.topic_id.is_not(None),
                or_(
                    *(
                        (TextAnalysis.source_type == t) & (TextAnalysis.source_id == i)
                        for t, i in have
                    )
                )
                if have
                else False,
            )
        )
    )
    codes = categories(problem)
    match = [TextAnalysis.business_code.startswith(c) for c in codes]
    if topics:
        match.append(TextAnalysis.topic_id.in_(topics))
    terms = problem_terms(problem)
    match += [TextAnalysis.redacted_text.contains(t, autoescape=True) for t in terms]
    if not match:
        return []
    stmt = (
        select(TextAnalysis)
        .where(
            TextAnalysis.source_type.in_(LINK_SOURCES),
            TextAnalysis.branch_id.in_(_branch_ids(problem)),
            or_(*match),
        )
        .order_by(TextAnalysis.source_created_at.desc().nulls_last(), TextAnalysis.id.desc())
        .limit(limit * 10 + len(have))
    )
    rows = [r for r in db.session.scalars(stmt) if (r.source_type, r.source_id) not in have]

    def shared(row: TextAnalysis) -> int:  # (most words first; the most recent among equals)
        text = row.redacted_text or ""
        return sum(t in text for t in terms) * 2 + (row.topic_id in topics)

    return sorted(rows, key=shared, reverse=True)[:limit]


@dataclass
class BranchRow:
    code: str
    name: str
    problems: int = 0
    closed: int = 0
    verified: int = 0  # closed on a passing verdict
    overridden: int = 0  # closed on a manager's override (人工认定闭环): closed, not verified
    overdue_actions: int = 0
    days: list[int] = field(default_factory=list)

    @property
    def closure_rate(self) -> float | None:
        return half_up(100.0 * self.closed / self.problems, 1) if self.problems else None

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days) if self.days else None


def overview(now: datetime | None = None) -> tuple[BranchRow, list[BranchRow]]:
    """Closure figures for the viewer's scope: the total and one row per branch (分行)."""
    now = now or utcnow()
    today = clock.local_date(now)
    branches = {b.id: b for b in db.session.scalars(select(Branch))}
    by_code = {b.code: b for b in branches.values()}
    total, rows = BranchRow("ALL", "合计"), {}
    problems = list(db.session.scalars(select(Problem)))
    for p in problems:
        path = branches[p.branch_id].path.strip("/").split("/") if p.branch_id in branches else []
        code = path[1] if len(path) > 1 else (path[0] if path else "HO")
        row = rows.setdefault(
            code, BranchRow(code, by_code[code].name if code in by_code else code)
        )
        for target in (total, row):
            target.problems += 1
            if p.status == ProblemStatus.CLOSED:
                target.closed += 1
                if p.closed_by_override:  # no verification: not in 验证通过 nor its days
                    target.overridden += 1
                elif p.verified_at:
                    target.verified += 1
                    if p.first_case_at:
                        # (Beijing calendar days, as every other day count of the product)
                        first, verified = p.first_case_at, p.verified_at
                        target.days.append(
                            (clock.local_date(verified) - clock.local_date(first)).days
                        )
            target.overdue_actions += sum(1 for a in p.actions if a.is_open and a.due_on < today)
    return total, sorted(rows.values(), key=lambda r: r.code)


def overdue_actions(
    now: datetime | None = None, narrowed: Callable[[Any, Any], Any] | None = None
) -> list[ImprovementAction]:
    """Open actions past their due date, in the viewer's scope; ``narrowed(stmt, Problem)``
    limits them to some problems (the board's filters)."""
    today = clock.local_date(now or utcnow())
    stmt = (
        select(ImprovementAction)
        .join(Problem, Problem.id == ImprovementAction.problem_id)
        .where(
            ImprovementAction.status.in_([s.value for s in OPEN_ACTIONS]),
            ImprovementAction.due_on < today,
            Problem.branch_id.in_(scope.branch_ids_in(scope.current(db.session))),
        )
        .order_by(ImprovementAction.due_on)
    )
    return list(db.session.scalars(narrowed(stmt, Problem) if narrowed else stmt))
