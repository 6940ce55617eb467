"""What each dashboard page shows: cards, charts (as data) and the tables behind them.

Charts are plain data here (``Chart``); ``app/web/manager/dashboards_charts.py`` turns them into
Plotly figures. Every chart names the table behind it, so its numbers are also a CSV/XLSX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models.improvement import Problem
from app.services import dashboard_complaints as dc
from app.services import metrics
from app.services.dashboard_filters import CHANNELS, Filters
from surveys.scoring import half_up

PER = 10_000
SENTIMENT_COLORS = {"positive": "#2e9e6b", "neutral": "#b8bec6", "negative": "#c0392b"}


@dataclass
class Table:
    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    muted: list[bool] = field(default_factory=list)  # rows below the minimum sample
    empty: str = ""  # what an empty table says (else 所选范围内暂无数据)
    # (row, column) -> the complaint drill-down's extra arguments listing the cases behind
    # that cell (e.g. {"decider": "7"}); the page's filters are added to them
    drills: dict[tuple[int, int], dict[str, str]] = field(default_factory=dict)
    # column -> decimals shown on screen ("3.90" beside "3.91", not "3.9"); exports keep the
    # numbers as they are
    digits: dict[int, int] = field(default_factory=dict)
    # row -> the survey response the row quotes: its number (column 0) opens staff 答卷详情
    # for a viewer who may open it (access.may_open_responses); the row stays otherwise
    response_ids: dict[int, int] = field(default_factory=dict)

    def add(self, row: list[Any], *, too_small: bool = False) -> None:
        self.rows.append(row)
        self.muted.append(too_small)

    def numeric_columns(self) -> set[int]:
        """The columns holding numbers: their "—" (no figure) is aligned with the numbers."""
        return {
            i
            for row in self.rows
            for i, v in enumerate(row)
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }


@dataclass
class Series:
    name: str
    values: list[float | None]
    kind: str = "line"  # line (over periods) | bar | dot (one marker a category, unjoined)
    axis: str = "y"  # y | y2 (right axis: counts)
    text: list[str] | None = None
    color: str | None = None
    hover: list[str] | None = None  # xy: what follows each value on hover, e.g. its count


@dataclass
class Chart:
    id: str
    title: str
    unit: str
    table: str
    x: list[str] = field(default_factory=list)
    series: list[Series] = field(default_factory=list)
    kind: str = "xy"  # xy | heatmap | hbar
    y: list[str] = field(default_factory=list)  # heatmap rows / hbar labels
    z: list[list[float | None]] = field(default_factory=list)
    note: str = ""  # sample sizes
    drill: str = "responses"  # responses | complaints | both (answers and complaints) | "" none
    y2_title: str = ""
    stacked: bool = False
    y_title: str = ""
    x_title: str = ""
    y_range: tuple[float, float] | None = None
    y2_range: tuple[float, float] | None = None  # a right-hand axis of percentages
    table_below: bool = False  # a wide table: shown full width below the charts, not inside
    counts: bool = False  # hbar values are counts (integer ticks)
    good: str = ""  # heatmap: "high" or "low", the end that is good (drawn green; the bad end red)
    z_range: tuple[float, float] | None = None  # heatmap: the fixed colour domain
    text: list[list[str]] = field(default_factory=list)  # heatmap: each cell's text (else z)
    hover: list[list[str]] = field(default_factory=list)  # heatmap: each cell's hover text
    # heatmap: the text of the cells drawn grey (sample too small), None elsewhere
    small: list[list[str | None]] = field(default_factory=list)
    # xy: per period, the hover note of a point whose sample is too small ("" where it is
    # enough): those points are drawn hollow and grey, and the legend says what that means
    thin: list[str] = field(default_factory=list)
    thin_legend: str = ""
    # xy lines of counts: the hover note of the last period when the range cuts it (the month
    # still running): its stretch of line is drawn dashed to a hollow point, so that a month of
    # six days is not read as a collapse; "" when the last period is whole
    partial_last: str = ""


@dataclass
class Card:
    label: str
    value: str
    sub: str = ""
    muted: bool = False
    link: str = ""


@dataclass
class PageData:
    cards: list[Card] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: dict[str, Table] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def table(self, t: Table) -> Table:
        self.tables[t.name] = t
        return t


def plotly_text(text: str) -> str:
    """A name typed by staff (a unit, topic, questionnaire, option), as Plotly should draw it:
    Plotly reads chart text as its own markup (<b>, <br>, <a href>, <span style>) and draws
    entities as characters, so the angle brackets go as entities and the name shows as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{half_up(100 * value, digits):.{digits}f}%"


def num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{half_up(value, digits):.{digits}f}"


def r(value: float | None, digits: int = 1, scale: float = 1.0) -> float | None:
    return None if value is None else half_up(value * scale, digits)


def sat_columns() -> list[str]:
    return ["答卷数", "CSAT（满意占比，%）", "NPS", "满意度指数（百分制）", "样本充足"]


def sat_cells(report: Any) -> list[Any]:
    return [
        report.responses,
        r(report.csat.value, 1, 100),
        r(report.nps.value, 1),
        r(report.index.value, 1),
        "否（样本不足）" if report.index.too_small else "是",
    ]


COMPLAINTS_NOT_BY_SURVEY = "投诉数字不按问卷筛选（投诉不属于任何问卷）：所选问卷未用于投诉统计。"


def overview(f: Filters) -> PageData:
    page = PageData()
    if f.survey is not None:
        page.notes.append(COMPLAINTS_NOT_BY_SURVEY)
    minimum = metrics.min_sample_size()
    trend = metrics.satisfaction_trend(f)  # the periods cover the range: their sum is the total
    total = sum((g.sums for g in trend), metrics.MetricSums()).report(minimum)
    complaint_trend = dc.trend(f)
    comp = dc.sum_counts(c for _, c in complaint_trend)
    page.cards = [
        Card(
            "CSAT 满意占比",
            pct(total.csat.value),
            # (the mean DESIGN.md lists beside the share, on 1-5)
            f"均分 {num(total.csat_mean.value, 2)}（1–5 分），样本 {total.csat.n}",
            total.csat.too_small,
        ),
        Card("NPS 净推荐值", num(total.nps.value), f"样本 {total.nps.n}", total.nps.too_small),
        Card(
            "满意度指数",
            num(total.index.value),
            f"百分制，样本 {total.index.n}",
            total.index.too_small,
        ),
        Card(
            "CES 平均省力度",
            num(total.ces.value, 2),
            f"1–7 分，越高越省力，样本 {total.ces.n}",
            total.ces.too_small,
        ),
        Card("收到投诉", str(comp.received), f"办结 {comp.closed} 件", link="complaints"),
        Card(
            "法定时限内处理",
            pct(comp.in_time_share),
            # (时限在所选期间内届满的: not the live 当前超期未决 beside it)
            f"已决定 {comp.decided} 件，期内超期未决 {comp.overdue_open} 件计为超时",
        ),
        _overdue_card(f),
    ]
    periods = [g.label for g in trend]
    t = page.table(Table("satisfaction_trend", "满意度趋势", ["期间", *sat_columns()]))
    for g in trend:
        rep = g.report(minimum)
        t.add([g.label, *sat_cells(rep)], too_small=rep.responses < minimum)
    reports = [g.report(minimum) for g in trend]
    thin = [
        f"样本不足（{rep.responses} 份，少于 {minimum} 份），仅供参考"
        if rep.responses < minimum
        else ""
        for rep in reports
    ]
    page.charts.append(
        Chart(
            "chart-satisfaction",
            "满意度趋势：CSAT、NPS 与满意度指数",
            "CSAT 与指数为 %/分，NPS 为 -100～100；柱为答卷数",
            t.name,
            x=periods,
            series=[
                Series("答卷数", [rep.responses for rep in reports], "bar", "y2"),
                Series("CSAT（%）", [r(rep.csat.value, 1, 100) for rep in reports]),
                Series("NPS", [r(rep.nps.value, 1) for rep in reports]),
                Series("满意度指数", [r(rep.index.value, 1) for rep in reports]),
            ],
            note=f"共 {total.responses} 份答卷；少于 {minimum} 份的期间样本不足，仅供参考",
            y2_title="答卷数（份）",
            y_title="CSAT（%）/ 指数（分）/ NPS",
            thin=thin,
            thin_legend=f"空心灰点：样本不足 {minimum} 份",
        )
    )
    _complaint_trend(page, f, complaint_trend)
    _sentiment_trend(page, f)
    _problems(page, f)
    return page


def _complaint_trend(page: PageData, f: Filters, trend: list) -> None:
    t = page.table(
        Table(
            "complaint_trend",
            "投诉收到与办结",
            [
                "期间",
                "收到（件）",
                "办结（件）",
                "作出决定（件）",
                "时限内决定并告知（件）",
                "超期未决（件）",
                "已决定待告知（未到期）（件）",  # (not due yet: outside the share)
                "时限内占比（%）",
            ],
        )
    )
    labels = []
    for p, c in trend:
        label = metrics.period_label(p, f.grain, f)
        labels.append(label)
        t.add(
            [
                label,
                c.received,
                c.closed,
                c.decided,
                c.decided_in_time,
                c.overdue_open,
                c.notice_pending,
                r(c.in_time_share, 1, 100),
            ]
        )
    page.charts.append(
        Chart(
            "chart-complaints",
            "投诉收到、办结与法定时限内处理占比",
            "件；折线为时限内决定并告知客户的占比（%，已超期未决的计为超时）",
            t.name,
            x=labels,
            series=[
                Series("收到", [c.received for _, c in trend], "bar", "y2"),
                Series("办结", [c.closed for _, c in trend], "bar", "y2"),
                Series("时限内占比（%）", [r(c.in_time_share, 1, 100) for _, c in trend]),
            ],
            note=f"收到 {sum(c.received for _, c in trend)} 件，作出决定 "
            f"{sum(c.decided for _, c in trend)} 件",
            drill="complaints",
            y2_title="件数",
            y_title="时限内占比（%）",
            y_range=(0, 105),
        )
    )


def _sentiment_trend(page: PageData, f: Filters) -> None:
    from app.services import dashboard_voice as dv

    trend = dv.sentiment_trend(f)
    t = page.table(
        Table("sentiment_trend", "文本情感分布", ["期间", "正面", "中性", "负面", "负面占比（%）"])
    )
    labels, shares = [], {k: [] for k in dv.SENTIMENTS}
    notes: dict[str, list[str]] = {k: [] for k in dv.SENTIMENTS}
    for p, counts in trend:
        label = metrics.period_label(p, f.grain, f)
        labels.append(label)
        n = sum(counts.values())
        for k in dv.SENTIMENTS:
            shares[k].append(r(counts[k] / n, 1, 100) if n else None)
            # the counts behind a share: 66.7% of a 5-day month may be 8 texts of 12
            notes[k].append(f"%（{counts[k]} / {n} 条）" if n else "")
        neg = r(counts["negative"] / n, 1, 100) if n else None
        t.add([label, counts["positive"], counts["neutral"], counts["negative"], neg])
    page.charts.append(
        Chart(
            "chart-sentiment",
            "客户文本情感占比",
            "%（投诉与答卷文字经脱敏后分析）",
            t.name,
            x=labels,
            series=[
                Series(lbl, shares[k], "bar", color=SENTIMENT_COLORS[k], hover=notes[k])
                for k, lbl in dv.SENTIMENTS.items()
            ],
            y_title="占比（%）",
            y_range=(0, 100),
            note="；".join(
                filter(
                    None,
                    [f"共 {sum(sum(c.values()) for _, c in trend)} 条文本", dv.unfiltered_note(f)],
                )
            ),
            drill="both",
            stacked=True,
        )
    )


def overdue_parts_text(parts: dc.OverdueNow) -> str:
    """What the live overdue figure is made of, so that it reconciles with 处理人员's
    "其中已超期" (a handler's undecided cases only)."""
    words = [
        (parts.assigned, "已分派未决定"),
        (parts.unassigned, "未分派"),
        (parts.decided, "已决定待告知或核查中"),
    ]
    return "，".join(f"{label} {n} 件" for n, label in words if n)


def _overdue_card(f: Filters) -> Card:
    parts = dc.overdue_now_parts(f)
    breakdown = overdue_parts_text(parts)
    sub = "实时统计，不受日期范围影响" + (f"：{breakdown}" if breakdown else "")
    return Card("当前超期未决", str(sum(parts.values())), sub, link="complaints")


def _problems(page: PageData, f: Filters) -> None:
    """Problems closed vs all, as they stand today, in the branch scope and for the product and
    questionnaire chosen (a problem names at most one of each); problems have no channel."""

    def count(*conditions: Any) -> int:
        stmt = f.on_rows(select(func.count(Problem.id)).where(*conditions), Problem)
        return db.session.scalar(stmt) or 0

    # the figures of 闭环概览: a problem closed on a manager's written override (人工认定) is
    # closed but not 验证通过, and one whose verdict passed stays open until it is closed
    closed = count(Problem.status == "closed")
    verified = count(
        Problem.status == "closed",
        Problem.verified_at.is_not(None),
        Problem.override_reason.is_(None),
    )
    open_n = count(Problem.status != "closed")
    chosen = [name for name, on in (("产品", f.product), ("问卷", f.survey)) if on is not None]
    scope = f"（限所选{'、'.join(chosen)}）" if chosen else ""
    # "closed / all", read as "3 of 15" (the card said "3 / 12", closed over open, which
    # every reader took for 3 of 12)
    page.cards.append(
        Card(
            "问题整改",
            f"{closed} / {closed + open_n}",
            f"已闭环 / 问题总数{scope}；在办 {open_n}，已闭环中验证通过 {verified}；"
            "为当前状态，不按日期、渠道筛选",
            link="problems",
        )
    )


def channel_label(code: str) -> str:
    return CHANNELS.get(code, code)
