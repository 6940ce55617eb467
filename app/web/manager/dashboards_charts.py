"""Turn the dashboard services' chart data into Plotly figures (JSON for dashboards.js).

Figures are plain Plotly figure dicts serialised with plotly's own JSON encoder; building
``go.Figure`` objects validates every property and cost ~10 ms a chart, a third of the budget.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

from plotly.io.json import to_json_plotly

from app.services.dashboard_pages import Chart, plotly_text

COLORS = ["#1d5fa8", "#d9822b", "#2e9e6b", "#b23a48", "#7256a8", "#5b6b7c"]
GREY = "#c4c9cf"
GREY_CELL = "#e3e6ea"  # a heat map cell whose sample is too small to colour
GREY_MARKER = "#8a939d"  # a trend point whose sample is too small (drawn hollow)
# Heat maps: red is bad, green is good (ColorBrewer RdYlGn). Spelled out: plotly.js has no
# "RdYlGn" (Python plotly has) and silently draws an unknown name with its default scale, on
# which high values are red.
BAD_TO_GOOD = [
    [0.0, "#d73027"],
    [0.25, "#fc8d59"],
    [0.5, "#fee08b"],
    [0.75, "#91cf60"],
    [1.0, "#1a9850"],
]
FONT = "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif"
# How every dashboard chart is drawn (embedded once per page, read by dashboards.js). The mode
# bar lists its buttons explicitly: plotly.js 4 adds a "Share chart" button by default that
# posts the figure's data to cloud.plotly.com (a leak from a bank intranet), so nothing that
# talks to a server may appear, whatever plotly's defaults become. The bar shows on hover only,
# at the top right, where the left-aligned title is not; its tooltips come from the zh-CN
# locale that dashboards.js registers.
MODE_BAR_BUTTONS = ["toImage", "zoom2d", "resetScale2d"]
PLOTLY_CONFIG: dict[str, Any] = {
    "responsive": True,
    "locale": "zh-CN",
    "displaylogo": False,
    "displayModeBar": "hover",
    "modeBarButtons": [MODE_BAR_BUTTONS],
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "showLink": False,
    "plotlyServerURL": "",
    "toImageButtonOptions": {"format": "png", "scale": 2},
}


def _layout(chart: Chart) -> dict[str, Any]:
    return {
        # the title at the top of the figure, the legend between it and the plot
        "title": {
            "text": chart.title,
            "font": {"size": 15},
            # left, away from the mode bar (top right, on hover)
            "xref": "container",
            "x": 0.01,
            "xanchor": "left",
            "yref": "container",
            "y": 0.98,
            "yanchor": "top",
        },
        "font": {"family": FONT, "size": 12, "color": "#2a3440"},
        "colorway": COLORS,
        "paper_bgcolor": "#fff",
        "plot_bgcolor": "#fff",
        "margin": {"l": 60, "r": 60, "t": 50 + 22 * legend_rows(chart), "b": 40},
        # above the plot: long category labels below it get the room (automargin)
        "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
        "height": 360 + 22 * max(0, legend_rows(chart) - 1),
        "hovermode": "x unified" if chart.kind == "xy" else "closest",
    }


LEGEND_WIDTH = 480  # px a legend row may use (a chart is at least 560 px wide)


def legend_rows(chart: Chart) -> int:
    """How many rows the horizontal legend takes (none for a single series or a heat map)."""
    names = [s.name for s in chart.series] + ([chart.thin_legend] if _has_thin(chart) else [])
    names += [PARTIAL_LEGEND] if _cuts_last(chart) else []
    if chart.kind == "heatmap" or len(names) < 2:
        return 0
    rows, used = 1, 0
    for name in names:
        width = 50 + 13 * len(name)  # symbol and gap, then ~13 px a CJK character
        if used and used + width > LEGEND_WIDTH:
            rows, used = rows + 1, 0
        used += width
    return rows


def _axis(**extra: Any) -> dict[str, Any]:
    return {"gridcolor": "#eef0f3", "zerolinecolor": "#dfe3e8", "automargin": True, **extra}


def nice_step(top: float, ticks: int = 5, fine: bool = False) -> float:
    """A round tick spacing (1, 2 or 5 times a power of ten, at least 1) for 0..``top``;
    ``fine`` allows 2.5 times a power of ten from 25 up as well (a step that must fit a set
    number of ticks: 0–131 in five steps is 25 a step, not 50)."""
    if top <= 0:
        return 1
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    factors = (1, 2, 2.5, 5, 10) if fine and power >= 10 else (1, 2, 5, 10)
    for m in factors:
        if m * power >= raw:
            return max(1, m * power)
    return max(1, 10 * power)


PERCENT_STEP = 20


def percent_axis(bounds: tuple[float, float], **extra: Any) -> dict[str, Any]:
    """A fixed axis (0–100 %, 百分制) ticked every 20."""
    low, high = bounds
    return _axis(range=[low, high], tickmode="linear", tick0=0, dtick=PERCENT_STEP, **extra)


def _steps(bounds: tuple[float, float]) -> float:
    """How many tick steps a fixed percentage axis spans (0–105: 5.25)."""
    return (bounds[1] - bounds[0]) / PERCENT_STEP


def count_axis(values: list[Any], steps: float | None = None, **extra: Any) -> dict[str, Any]:
    """An axis of counts from 0: round integer ticks (0, 20, 40 … rather than 29, 77 …).
    ``steps``: beside a fixed axis of that many tick steps, the count axis spans as many of its
    own round steps, so that its ticks fall on the other axis's gridlines."""
    numbers = [v for v in values if isinstance(v, (int, float))]
    top = max(numbers, default=0)
    if steps:
        whole = max(1, math.floor(steps))  # (the ticks inside the range)
        step = nice_step(top * 1.08, whole, fine=True)
        end = step * steps
    else:
        step = nice_step(top)
        end = step * max(1, math.ceil(top * 1.08 / step))
    return _axis(tickmode="linear", tick0=0, dtick=step, range=[0, end], tickformat=",d", **extra)


def _stacked_top(chart: Chart, axis: str) -> list[float]:
    series = [s for s in chart.series if s.axis == axis]
    if chart.stacked and series:
        return [
            sum(v or 0 for v in values) for values in zip(*(s.values for s in series), strict=True)
        ]
    return [v for s in series for v in s.values if v is not None]


def _has_thin(chart: Chart) -> bool:
    return chart.kind == "xy" and any(chart.thin)


def _thin_points(chart: Chart, color: str) -> dict[str, Any]:
    """A line's markers with the thin-sample periods hollow and grey, and its hover text
    saying so (``"%{y}"`` alone elsewhere)."""
    return {
        "marker": {
            "color": [GREY_MARKER if note else color for note in chart.thin],
            "symbol": ["circle-open" if note else "circle" for note in chart.thin],
            "size": [9 if note else 6 for note in chart.thin],
            "line": {"width": 2},
        },
        "text": [f"（{note}）" if note else "" for note in chart.thin],
        "hovertemplate": "%{y}%{text}",
    }


def _thin_legend(chart: Chart) -> dict[str, Any]:
    """A legend entry (no data) explaining the hollow grey points."""
    return {
        "type": "scatter",
        "mode": "markers",
        "x": [None],
        "y": [None],
        "name": chart.thin_legend,
        "marker": {"color": GREY_MARKER, "symbol": "circle-open", "size": 9, "line": {"width": 2}},
        "hoverinfo": "skip",
    }


PARTIAL_LEGEND = "虚线空心点：当期未满"


def _cuts_last(chart: Chart) -> bool:
    return bool(chart.partial_last) and chart.kind == "xy" and len(chart.x) >= 2


def _partial_last(chart: Chart, trace: dict[str, Any], color: str) -> list[dict[str, Any]]:
    """A line whose last period the range cuts (the month still running): solid up to the
    period before, then a dashed stretch to a hollow point saying why on hover. The figures
    are unchanged; only the drawing says that six days are not a month."""
    values = trace["y"]
    whole = dict(trace, y=[*values[:-1], None], legendgroup=trace["name"])
    whole.setdefault("line", {"color": color})
    whole.setdefault("marker", {"color": color})

    def part(points: int, **drawing: Any) -> dict[str, Any]:
        """The last ``points`` of the line, drawn apart and kept out of the legend."""
        return {
            "type": "scatter",
            "x": chart.x[-points:],
            "y": values[-points:],
            "name": trace["name"],
            "legendgroup": trace["name"],
            "showlegend": False,
            **({"yaxis": trace["yaxis"]} if "yaxis" in trace else {}),
            **drawing,
        }

    dashed = part(2, mode="lines", line={"color": color, "dash": "dash"}, hoverinfo="skip")
    last = part(
        1,
        mode="markers",
        # (white inside a coloured ring: an "-open" symbol takes the fill colour)
        marker={
            "color": "#fff",
            "symbol": "circle",
            "size": 9,
            "line": {"color": color, "width": 2},
        },
        hovertemplate=f"%{{y}}（{chart.partial_last}）",
    )
    return [whole, dashed, last]


def _partial_legend() -> dict[str, Any]:
    """A legend entry (no data) explaining the dashed stretch and the hollow last point."""
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "x": [None],
        "y": [None],
        "name": PARTIAL_LEGEND,
        "line": {"color": GREY_MARKER, "dash": "dash"},
        "marker": {
            "color": "#fff",
            "symbol": "circle",
            "size": 9,
            "line": {"color": GREY_MARKER, "width": 2},
        },
        "hoverinfo": "skip",
    }


def _xy(chart: Chart) -> dict[str, Any]:
    data = []
    lines = 0
    for index, s in enumerate(chart.series):
        trace: dict[str, Any] = {"x": chart.x, "y": s.values, "name": s.name}
        if s.hover:  # a note after each value on hover (not drawn on the bars)
            trace.update(customdata=s.hover, hovertemplate="%{y}%{customdata}")
        if s.color:
            trace["marker"] = {"color": s.color}
        if s.axis == "y2":
            trace["yaxis"] = "y2"
        if s.kind == "bar":
            trace.update(type="bar", opacity=0.45 if s.axis == "y2" else 0.9)
        elif s.kind == "dot":  # categories, not periods: no line joins one to the next
            trace.update(
                type="scatter", mode="markers", marker={"size": 10, **trace.get("marker", {})}
            )
        else:
            trace.update(type="scatter", mode="lines+markers", connectgaps=False)
            # (plotly's colorway gives a trace the colour of its index: one trace a series,
            # before a cut last period splits a line in three)
            color = s.color or COLORS[index % len(COLORS)]
            if _has_thin(chart):
                trace.update(_thin_points(chart, color), line={"color": color})
            lines += 1
            if _cuts_last(chart):
                data.extend(_partial_last(chart, trace, color))
                continue
        data.append(trace)
    if _has_thin(chart) and lines:
        data.append(_thin_legend(chart))
    if _cuts_last(chart) and lines:
        data.append(_partial_legend())
    title = {"text": chart.y_title or chart.unit.split("；")[0][:20]}
    on_y = [s for s in chart.series if s.axis == "y"]
    has_y2 = any(s.axis == "y2" for s in chart.series)
    if chart.y_range:
        yaxis = percent_axis(chart.y_range, title=title)
    elif has_y2 and chart.y2_range:  # counts on the left, beside a percentage axis: same grid
        yaxis = count_axis(_stacked_top(chart, "y"), title=title, steps=_steps(chart.y2_range))
    elif on_y and all(s.kind == "bar" for s in on_y) and (chart.counts or chart.unit[:1] == "件"):
        yaxis = count_axis(_stacked_top(chart, "y"), title=title)
    else:
        yaxis = _axis(title=title, tickmode="auto", nticks=7)
    layout = _layout(chart) | {
        "xaxis": _axis(
            type="category",
            tickangle="auto",
            **({"title": {"text": chart.x_title}} if chart.x_title else {}),
        ),
        "yaxis": yaxis,
        "barmode": "stack" if chart.stacked else "group",
    }
    if has_y2:
        right = {"overlaying": "y", "side": "right", "title": {"text": chart.y2_title}}
        if chart.y2_range:  # a percentage: 0–100, not a count axis running to 120
            layout["yaxis2"] = percent_axis(chart.y2_range, showgrid=False, **right)
        else:
            # round ticks that fall on the left axis's gridlines where that axis is fixed
            # (0–100 on the left with 0–120 on the right: two grids, neither readable)
            steps = _steps(chart.y_range) if chart.y_range else None
            layout["yaxis2"] = count_axis(
                _stacked_top(chart, "y2"), steps=steps, showgrid=False, **right
            )
        if _points_under_bars(chart):
            _swap_axes(data, layout)
    if _empty(chart):
        _say_no_data(layout, data)
    return {"data": data, "layout": layout}


def _points_under_bars(chart: Chart) -> bool:
    """Bars on the right-hand axis with points or lines on the left: plotly draws an
    overlaying axis's traces above the other's, so the bars would cover the points."""
    return any(s.axis == "y2" and s.kind == "bar" for s in chart.series) and any(
        s.axis == "y" and s.kind != "bar" for s in chart.series
    )


def _swap_axes(data: list[dict[str, Any]], layout: dict[str, Any]) -> None:
    """Draw the points on top: the bars take plotly's base axis, kept on the right, and the
    points the overlaying one, kept on the left (each axis keeps its side, title and ticks)."""
    for trace in data:
        trace["yaxis"] = "y" if trace.get("yaxis") == "y2" else "y2"
    left, right = layout["yaxis"], layout["yaxis2"]
    layout["yaxis"] = {k: v for k, v in right.items() if k != "overlaying"}
    layout["yaxis2"] = left | {"overlaying": "y", "side": "left"}


def _hbar(chart: Chart) -> dict[str, Any]:
    data = []
    for i, s in enumerate(chart.series):
        trace: dict[str, Any] = {
            "type": "bar",
            "orientation": "h",
            "x": s.values,
            "y": chart.y,
            "name": s.name,
        }
        if s.text:
            # (a label beside a bar near the axis's end ran into the right margin, cut off)
            trace.update(text=s.text, cliponaxis=False)
        # what a manager reads on hover: the label, the series and the value with its unit
        # (plotly's default is a bare tuple such as "(229, 材料、放款、审批)")
        trace["hovertemplate"] = f"%{{y}}<br>{s.name}：%{{x}}{_hover_unit(chart)}<extra></extra>"
        if chart.z and i == 0:  # z marks the rows that may be ranked; the others are grey
            trace["marker"] = {"color": [COLORS[0] if row[0] else GREY for row in chart.z]}
        data.append(trace)
    title = {"text": chart.unit.split("；")[0][:20]}
    if chart.counts:
        xaxis = count_axis(_stacked_top(chart, "y"), title=title)
    elif chart.unit.startswith("百分制"):
        xaxis = _axis(title=title, range=[0, 100], tickmode="linear", tick0=0, dtick=20)
    elif chart.y_range:  # (a scale's range: the value axis of a horizontal bar chart)
        xaxis = _axis(title=title, range=list(chart.y_range))
    else:
        xaxis = _axis(title=title)
    layout = _layout(chart) | {
        "yaxis": _axis(autorange="reversed"),
        "xaxis": xaxis,
        "height": max(300, 80 + 28 * len(chart.y)),
    }
    if _empty(chart):
        _say_no_data(layout, data)
    return {"data": data, "layout": layout}


HOVER_UNITS = {"件": " 件", "提及次数": " 次"}


def _hover_unit(chart: Chart) -> str:
    return HOVER_UNITS.get(chart.unit.split("；")[0], "")


def heat_scale(chart: Chart) -> list[list[Any]]:
    """The colour scale of a heat map: green at the good end, whichever end that is."""
    if chart.good == "high":  # satisfaction, on-time rate
        return BAD_TO_GOOD
    if chart.good == "low":  # complaints, overdue cases
        return [[round(1 - at, 2), color] for at, color in reversed(BAD_TO_GOOD)]
    raise ValueError(f"heat map {chart.id}: say whether high or low values are good")


def _heatmap(chart: Chart) -> dict[str, Any]:
    trace: dict[str, Any] = {
        "type": "heatmap",
        "x": chart.x,
        "y": chart.y,
        "z": chart.z,
        "colorscale": heat_scale(chart),
        "hoverongaps": False,
        # one decimal in every cell: plotly's "%{z}" wrote 100 beside 88.9 and 96 beside 96.4
        "texttemplate": _cell_text(chart, "%{text}" if chart.text else "%{z:.1f}"),
        # the unit without its explanation in brackets: a long title squeezes the plot
        "colorbar": {"title": {"text": chart.unit.split("；")[0].split("（")[0]}},
    }
    if chart.text:
        trace["text"] = chart.text
    if chart.hover:
        trace.update(hovertext=chart.hover, hoverinfo="text")
    if chart.z_range:
        trace.update(zmin=chart.z_range[0], zmax=chart.z_range[1])
        trace["colorbar"].update(color_ticks(*chart.z_range))
    data = [trace]
    if any(cell for row in chart.small for cell in row):
        data.append(_small_cells(chart))
    layout = _layout(chart) | {
        "xaxis": _axis(type="category", **_short_ticks(chart.x)),
        "yaxis": _axis(autorange="reversed"),
        "height": heatmap_height(chart),
    }
    if not any(v is not None for row in chart.z for v in row) and len(data) == 1:
        # Nothing to draw: plotly would shrink the plot to a few pixels (a stray tick mark);
        # say so instead.
        trace["showscale"] = False
        _say_no_data(layout, [])
    return {"data": data, "layout": layout}


def _say_no_data(layout: dict[str, Any], traces: list[dict[str, Any]]) -> None:
    """An empty chart says so, without axes (plotly would draw -1…4 and 0…1 around nothing),
    a legend of series that are not there, or ``traces`` (a line of zeros across the words)."""
    for trace in traces:
        trace["visible"] = False
    layout.update(showlegend=False, xaxis={"visible": False}, yaxis={"visible": False})
    if "yaxis2" in layout:  # kept, hidden: a trace on y2 without it gets a default axis
        layout["yaxis2"] = {"visible": False, "overlaying": "y"}
    layout["annotations"] = [
        {"text": "所选范围内暂无数据", "showarrow": False, "xref": "paper", "yref": "paper",
         "x": 0.5, "y": 0.5, "font": {"size": 14, "color": "#6b7785"}}
    ]  # fmt: skip


def _empty(chart: Chart) -> bool:
    """No series has a value other than none or zero (no answers, no cases, no texts)."""
    return not any(v for s in chart.series for v in s.values)


DENSE_LABELS = 150  # px the upright period labels of a dense heat map take below it


def heatmap_height(chart: Chart) -> int:
    """Rows of 34 px (46 px where cells carry two lines, a figure and its n), plus the labels
    below: a year of weeks has upright labels such as "2025-12-29周（自1月1日）" that took the
    plot's room (five rows in 50 px, the colour bar's ticks on top of each other)."""
    labels = DENSE_LABELS if len(chart.x) > DENSE_COLUMNS else 0
    return max(300, 80 + _row_height(chart) * len(chart.y) + labels)


def _row_height(chart: Chart) -> int:
    if len(chart.x) > DENSE_COLUMNS:  # (no text in the cells)
        return 34
    cells = [c for row in (*chart.text, *chart.small) for c in row if c]
    return 46 if any("<br>" in c for c in cells) else 34


SHORT_QUARTER = re.compile(r"(\d{4})年第(\d)季度")
SHORT_DAY = re.compile(r"（([至自])(\d+)月(\d+)日）")


def short_period(label: str) -> str:
    """A period's label as an axis tick: "2026年第4季度（至12月6日）" -> "2026Q4（至12/6）"
    (the full label stays in the hover text and the table)."""
    return SHORT_DAY.sub(r"（\1\2/\3）", SHORT_QUARTER.sub(r"\1Q\2", label))


def _short_ticks(labels: list[str]) -> dict[str, Any]:
    short = [short_period(x) for x in labels]
    if short == labels:
        return {}
    return {"tickmode": "array", "tickvals": labels, "ticktext": short}


DENSE_COLUMNS = 24  # more columns (a year of weeks): cells too narrow for text (hover shows it)


def _cell_text(chart: Chart, template: str) -> str:
    return "" if len(chart.x) > DENSE_COLUMNS else template


def _small_cells(chart: Chart) -> dict[str, Any]:
    """The cells whose sample is too small: grey, with their text, off the colour scale."""
    return {
        "type": "heatmap",
        "x": chart.x,
        "y": chart.y,
        "z": [[None if cell is None else 0 for cell in row] for row in chart.small],
        "text": [[cell or "" for cell in row] for row in chart.small],
        "texttemplate": _cell_text(chart, "%{text}"),
        "textfont": {"color": "#4b5563"},
        "colorscale": [[0, GREY_CELL], [1, GREY_CELL]],
        "showscale": False,
        "hoverongaps": False,
        **({"hovertext": chart.hover, "hoverinfo": "text"} if chart.hover else {}),
        "name": "样本不足",
    }


def color_ticks(low: float, high: float) -> dict[str, Any]:
    """Colour bar ticks for a fixed domain at round steps (50, 60 … 90; 0, 1 … 5), the ends
    marked where values beyond them take the end's colour (≤ 50, ≥ 90; a percentage ends at
    100, a count starts at 0)."""
    raw = (high - low) / 4
    power = 10 ** math.floor(math.log10(raw))
    step = max(m * power for m in (1, 2, 2.5, 5) if m * power <= raw)
    count = round((high - low) / step)
    steps = [round(low + i * step, 6) for i in range(count + 1)]
    text = [f"{v:g}" for v in steps]
    if low > 0:
        text[0] = "≤" + text[0]
    if high != 100:
        text[-1] = "≥" + text[-1]
    return {"tickmode": "array", "tickvals": steps, "ticktext": text}


def config_json() -> str:
    """The Plotly config of the dashboard charts, as JSON (one data block per page)."""
    return to_json_plotly(PLOTLY_CONFIG)


def _as_typed(chart: Chart) -> Chart:
    """The chart with its names (title, categories, rows, series) as Plotly should draw them
    (``plotly_text``): a topic named <b>…</b> was drawn bold, a <br> broke the axis."""

    def plain(values: list[str]) -> list[str]:
        return [plotly_text(v) if isinstance(v, str) else v for v in values]

    series = [replace(s, name=plotly_text(s.name)) for s in chart.series]
    return replace(
        chart, title=plotly_text(chart.title), x=plain(chart.x), y=plain(chart.y), series=series
    )


def figure_json(chart: Chart) -> str:
    """The Plotly figure of one chart, as JSON (embedded in a application/json script block)."""
    build = {"xy": _xy, "hbar": _hbar, "heatmap": _heatmap}[chart.kind]
    return to_json_plotly(build(_as_typed(chart)))
