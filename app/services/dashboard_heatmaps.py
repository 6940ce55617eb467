"""The branch page's heat maps: satisfaction index, on-time rate and complaints per 10,000
customers, per row of the branch page (its own unit, each child subtree) and period.

Colours use fixed domains, so a colour means the same figure on every page and filter (a
scale stretched from the lowest to the highest cell on screen paints a page of good branches
red). Satisfaction cells show their sample size; a cell under the minimum sample is drawn grey
and never coloured, and when most cells of a month (or week) are under it the map is drawn by
quarter (or month) instead, where the figures can be compared.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from app.services import dashboard_complaints as dc
from app.services import metrics
from app.services.dashboard_filters import Filters
from app.services.dashboard_pages import PER, Chart, PageData, Table, plotly_text, r

# Fixed colour domains (low, high); BAD_TO_GOOD runs red, orange, yellow, light green, green.
# Index (100/75/50/25/0 per answer): 50 is the average answer "一般" (red), 70 yellow, 90 and
# more dark green (most customers "非常满意").
INDEX_COLORS = (50.0, 90.0)
# On-time rate (%): the regulation expects every case decided inside its deadline; 100 % is
# green, 90 % yellow, 80 % and less red.
ON_TIME_COLORS = (80.0, 100.0)
# Complaints per 10,000 customers a month: 0 green, 2.5 yellow, 5 and more red (a week: the
# same rate, scaled to seven days).
RATE_COLORS_A_MONTH = 5.0
COARSER = {"week": "month", "month": "quarter"}
# A cell of the on-time heat map counting fewer cases is grey: with four cases one late decision
# moves the share by 25 points, which would paint a branch red or green on one complaint.
MIN_DEADLINE_CASES = 5
GRAIN_WORDS = {"week": "周", "month": "月", "quarter": "季度"}
COMPACT_AFTER = 8  # more periods than this: narrow cells, a grey one says "n=3" alone (see note)


# The tables' last column: the periods of the row whose cell is under the minimum sample. The
# cells keep their bare figures, so that an exported sheet computes with them (a cell reading
# "62.5（样本不足，n=3）" was text to a spreadsheet).
THIN_COLUMN = "样本不足的期间（仅供参考）"


def _too_small(n: int, compact: bool) -> str:
    """A cell whose sample is too small: its text on the grey layer."""
    return f"n={n}" if compact else f"样本不足<br>n={n}"


def _thin(periods: list[str]) -> str:
    """The table's last cell of a row: its periods under the minimum sample, with their n."""
    return "；".join(periods)


def heatmaps(page: PageData, f: Filters, groups: list[metrics.Group], customers: dict) -> None:
    """Add the three heat maps and their tables; ``groups`` are the page's rows."""
    keys = [g.key for g in groups]
    names = [g.label for g in groups]
    page.charts.append(_satisfaction(page, f, keys, names))
    comp = dc.child_month(f)
    periods = metrics.periods(f)
    labels = [metrics.period_label(p, f.grain, f) for p in periods]
    compact = len(periods) > COMPACT_AFTER
    on_time, on_time_text, on_time_small, on_time_rows = [], [], [], []
    rate, rate_text, rate_rows = [], [], []
    for key, name in zip(keys, names, strict=True):
        line, text, small, row, thin, rline, rtext, rrow = [], [], [], [], [], [], [], []
        n_customers = customers.get(key, 0)
        for p, label in zip(periods, labels, strict=True):
            c = comp.get((key, p), dc.Counts())
            share = r(c.in_time_share, 1, 100) if c.due else None
            few = 0 < c.due < MIN_DEADLINE_CASES
            line.append(None if few else share)
            small.append(_too_small(c.due, compact) if few else None)
            row.append(share)
            if few:
                thin.append(f"{label}（n={c.due}）")
            text.append(
                f"{plotly_text(name)} · {label}<br>时限内处理 {share}%"
                + ("（样本不足，仅供参考）" if few else "")
                + f"<br>时限内决定并告知 {c.decided_in_time} 件，"
                f"计入 {c.due} 件（含超期未决 {c.overdue_open} 件）"
            )
            value = r(c.received * PER / n_customers, 1) if n_customers else None
            rrow.append(value)
            days, whole = _days_in_range(p, f)
            # A period the range cuts (the month still running) is coloured by its figure
            # scaled to the whole period, so that a short period is not painted as a quiet one.
            scaled = value if value is None or days == whole else r(value * whole / days, 1)
            rline.append(scaled)
            rtext.append(
                f"{plotly_text(name)} · {label}<br>每万客户投诉 {value} 件<br>"
                f"收到投诉 {c.received} 件，登记客户 {n_customers:,} 户"
                + (
                    f"<br>本期仅含 {days} 天（全期 {whole} 天），"
                    f"按全期折算约 {scaled} 件（着色依据）"
                    if scaled != value
                    else ""
                )
            )
        on_time.append(line)
        on_time_text.append(text)
        on_time_small.append(small)
        on_time_rows.append([*row, _thin(thin)])
        rate.append(rline)
        rate_rows.append(rrow)
        rate_text.append(rtext)
    low, high = ON_TIME_COLORS
    # (a week: the monthly rate scaled to seven days, to the quarter: 1.25)
    top = RATE_COLORS_A_MONTH if f.grain != "week" else round(RATE_COLORS_A_MONTH / 4.35 * 4) / 4
    per = "每月" if f.grain != "week" else "每周"
    _complaint_heatmap(
        page,
        Table(
            "branch_deadline_heat", "机构×期间法定时限内处理占比", ["机构", *labels, THIN_COLUMN]
        ),
        Chart(
            "chart-deadline-heat",
            "机构×期间法定时限内处理占比",
            "%；分母为当期作出决定及已超期未决的投诉；空白为当期无此类投诉",
            "branch_deadline_heat",
            good="high",
            z_range=ON_TIME_COLORS,
            note=f"灰色格计入的投诉少于 {MIN_DEADLINE_CASES} 件，样本不足，不着色"
            f"（一件投诉即可使占比变动 20 个百分点以上）。"
            f"颜色固定：{high:.0f}% 为绿色（全部在法定时限内作出决定），"
            f"{(low + high) / 2:.0f}% 为黄色，{low:.0f}% 及以下为红色",
        ),
        names,
        on_time,
        on_time_text,
        small=on_time_small,
        rows=on_time_rows,
    )
    _complaint_heatmap(
        page,
        Table("branch_complaint_rate_heat", "机构×期间每万客户投诉", ["机构", *labels]),
        Chart(
            "chart-complaint-rate-heat",
            "机构×期间每万客户投诉量",
            "件/万客户（按各机构登记的客户数）；空白为未登记客户数",
            "branch_complaint_rate_heat",
            good="low",
            z_range=(0.0, top),
            note=f"颜色固定：0 件为绿色，{per} {top:g} 件及以上为红色，其间由黄渐红；"
            "所选范围只含部分天数的期间（如本月至今）按全期折算后着色，表格为实际数",
        ),
        names,
        rate,
        rate_text,
        rows=rate_rows,
        # cells show the actual figures; only the colour of a cut period is scaled
        text=[[_figure(v) for v in line] for line in rate_rows] if rate != rate_rows else None,
    )


def _days_in_range(start: date, f: Filters) -> tuple[int, int]:
    """How many days of the period beginning on ``start`` the range covers, and its length."""
    last = metrics.period_last_day(start, f.grain)
    covered = (min(last, f.end) - max(start, f.start)).days + 1
    return covered, (last - start).days + 1


def _complaint_heatmap(
    page: PageData,
    table: Table,
    chart: Chart,
    names: list[str],
    z: list,
    hover: list,
    *,
    small: list | None = None,
    rows: list | None = None,
    text: list | None = None,
) -> None:
    """A complaint heat map (its columns those of ``table``) and its table, on the page;
    ``small``: the grey cells' texts (sample too small), ``rows``: the table's cells when they
    differ from ``z`` (grey cells keep their value in the table; a last column may name them)."""
    for name, line in zip(names, rows or z, strict=True):
        table.add([name, *line])
    page.table(table)
    chart.kind, chart.drill = "heatmap", "complaints"
    chart.x = [c for c in table.columns[1:] if c != THIN_COLUMN]
    chart.y, chart.z, chart.hover = names, z, hover
    chart.small = small or []
    chart.text = text or []
    page.charts.append(chart)


def _figure(value: float | None) -> str:
    """A cell's figure with one decimal, as every heat map writes it ("1.0" beside "1.8")."""
    return "" if value is None else f"{value:.1f}"


def satisfaction_grain(f: Filters) -> tuple[Filters, list, dict]:
    """The filters at the grain the satisfaction heat map uses, its periods and cells: the
    filter's grain, or a coarser one while most cells with answers are under the minimum
    sample (a month of a sub-branch often has a dozen answers; a quarter, several dozen)."""
    minimum = metrics.min_sample_size()
    at = f
    while True:
        periods, cells = metrics.child_period_cells(at)
        answered = [s for s in cells.values() if s.index_n]
        enough = sum(1 for s in answered if s.index_n >= minimum)
        if at.grain not in COARSER or 2 * enough >= len(answered):
            return at, periods, cells
        at = replace(at, grain=COARSER[at.grain])


def _satisfaction(page: PageData, f: Filters, keys: list[str], names: list[str]) -> Chart:
    minimum = metrics.min_sample_size()
    at, periods, cells = satisfaction_grain(f)
    labels = [metrics.period_label(p, at.grain, at) for p in periods]
    word = GRAIN_WORDS[at.grain]
    t = page.table(Table("branch_heat", f"机构×{word}满意度指数", ["机构", *labels, THIN_COLUMN]))
    compact = len(periods) > COMPACT_AFTER
    z, small, text, hover = [], [], [], []
    for key, name in zip(keys, names, strict=True):
        zl, sl, tl, hl, row, thin = [], [], [], [], [], []
        for p, label in zip(periods, labels, strict=True):
            sums = cells.get((key, p))
            index = sums.report(minimum).index if sums is not None else None
            n = index.n if index is not None else 0
            value = r(index.value, 1) if n else None
            where = f"{plotly_text(name)} · {label}<br>"
            if not n:
                zl.append(None)
                sl.append(None)
                tl.append("")
                hl.append(where + "无答卷")
                row.append(None)
            elif index.too_small:
                zl.append(None)
                sl.append(_too_small(n, compact))
                tl.append("")
                hl.append(where + f"满意度指数 {value}（样本不足，仅供参考）<br>答卷 {n} 份")
                row.append(value)
                thin.append(f"{label}（n={n}）")
            else:
                zl.append(value)
                sl.append(None)
                tl.append(f"{value:.1f}<br>n={n}")
                hl.append(where + f"满意度指数 {value}<br>答卷 {n} 份")
                row.append(value)
        z.append(zl)
        small.append(sl)
        text.append(tl)
        hover.append(hl)
        t.add([name, *row, _thin(thin)])
    low, high = INDEX_COLORS
    note = (
        f"每格为指数与答卷数 n；灰色格少于 {minimum} 份，样本不足，不着色、不参与比较。"
        f"颜色固定：{low:.0f} 分及以下为红色，{(low + high) / 2:.0f} 分为黄色，"
        f"{high:.0f} 分及以上为深绿色"
    )
    if at.grain != f.grain:
        note = (
            f"按{GRAIN_WORDS[f.grain]}多数格样本不足，已按{word}汇总"
            f"（首尾{word}只含所选日期内的答卷）。" + note
        )
    return Chart(
        "chart-heat",
        f"机构×{word}满意度指数热力图",
        "百分制；空白为无答卷",
        t.name,
        kind="heatmap",
        x=labels,
        y=names,
        z=z,
        small=small,
        text=text,
        hover=hover,
        good="high",
        z_range=INDEX_COLORS,
        note=note,
    )
