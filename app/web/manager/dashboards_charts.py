"""Turn the dashboard services' chart data into Plotly figures (JSON for dashboards.js).

Figures are plain Plotly figure dicts serialised with plotly's own JSON encoder; building
``go.Figure`` objects validates every property and cost ~10 ms a chart, a third of the budget.
"""

from __future__ import annotations

from typing import Any

from plotly.io.json import to_json_plotly

from app.services.dashboard_pages import Chart

COLORS = ["#1d5fa8", "#d9822b", "#2e9e6b", "#b23a48", "#7256a8", "#5b6b7c"]
GREY = "#c4c9cf"
FONT = "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif"


def _layout(chart: Chart) -> dict[str, Any]:
    return {
        "title": {"text": chart.title, "font": {"size": 15}},
        "font": {"family": FONT, "size": 12, "color": "#2a3440"},
        "colorway": COLORS,
        "paper_bgcolor": "#fff",
        "plot_bgcolor": "#fff",
        "margin": {"l": 60, "r": 60, "t": 50, "b": 60},
        "legend": {"orientation": "h", "y": -0.2},
        "height": 360,
        "hovermode": "x unified" if chart.kind == "xy" else "closest",
    }


def _axis(**extra: Any) -> dict[str, Any]:
    return {"gridcolor": "#eef0f3", "zerolinecolor": "#dfe3e8", "automargin": True, **extra}


def _xy(chart: Chart) -> dict[str, Any]:
    data = []
    for s in chart.series:
        trace: dict[str, Any] = {"x": chart.x, "y": s.values, "name": s.name}
        if s.color:
            trace["marker"] = {"color": s.color}
        if s.axis == "y2":
            trace["yaxis"] = "y2"
        if s.kind == "bar":
            trace.update(type="bar", opacity=0.45 if s.axis == "y2" else 0.9)
        else:
            trace.update(type="scatter", mode="lines+markers", connectgaps=False)
        data.append(trace)
    yaxis = _axis(title={"text": chart.y_title or chart.unit.split("；")[0][:20]})
    if chart.y_range:
        yaxis["range"] = list(chart.y_range)
    layout = _layout(chart) | {
        "xaxis": _axis(type="category"),
        "yaxis": yaxis,
        "barmode": "stack" if chart.stacked else "group",
    }
    if any(s.axis == "y2" for s in chart.series):
        layout["yaxis2"] = {
            "overlaying": "y",
            "side": "right",
            "title": {"text": chart.y2_title},
            "showgrid": False,
            "rangemode": "tozero",
            "tickformat": ",d",
        }
    return {"data": data, "layout": layout}


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
            trace["text"] = s.text
        if chart.z and i == 0:  # z marks the rows that may be ranked; the others are grey
            trace["marker"] = {"color": [COLORS[0] if row[0] else GREY for row in chart.z]}
        data.append(trace)
    layout = _layout(chart) | {
        "yaxis": _axis(autorange="reversed"),
        "xaxis": _axis(title={"text": chart.unit.split("；")[0][:20]}),
        "height": max(300, 60 + 28 * len(chart.y)),
    }
    return {"data": data, "layout": layout}


def _heatmap(chart: Chart) -> dict[str, Any]:
    trace: dict[str, Any] = {
        "type": "heatmap",
        "x": chart.x,
        "y": chart.y,
        "z": chart.z,
        "colorscale": "RdYlGn",
        "hoverongaps": False,
        "texttemplate": "%{z}",
        "colorbar": {"title": {"text": chart.unit.split("；")[0]}},
    }
    if chart.unit.startswith("%"):
        trace.update(zmin=0, zmax=100)
    layout = _layout(chart) | {
        "xaxis": _axis(type="category"),
        "yaxis": _axis(autorange="reversed"),
        "height": max(300, 80 + 34 * len(chart.y)),
    }
    return {"data": [trace], "layout": layout}


def figure_json(chart: Chart) -> str:
    """The Plotly figure of one chart, as JSON (embedded in a application/json script block)."""
    build = {"xy": _xy, "hbar": _hbar, "heatmap": _heatmap}[chart.kind]
    return to_json_plotly(build(chart))
