"""Turn the dashboard services' chart data into Plotly figures (JSON for dashboards.js)."""

from __future__ import annotations

import plotly.graph_objects as go

from app.services.dashboard_pages import Chart

COLORS = ["#1d5fa8", "#d9822b", "#2e9e6b", "#b23a48", "#7256a8", "#5b6b7c"]
FONT = "PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif"


def _layout(chart: Chart, fig: go.Figure) -> None:
    fig.update_layout(
        template="plotly_white",
        title={"text": chart.title, "font": {"size": 15}},
        font={"family": FONT, "size": 12},
        colorway=COLORS,
        margin={"l": 60, "r": 60, "t": 50, "b": 60},
        legend={"orientation": "h", "y": -0.2},
        height=360,
        hovermode="x unified" if chart.kind == "xy" else "closest",
    )


def _xy(chart: Chart) -> go.Figure:
    fig = go.Figure()
    for s in chart.series:
        kwargs = {"x": chart.x, "y": s.values, "name": s.name}
        if s.color:
            kwargs["marker"] = {"color": s.color}
        if s.axis == "y2":
            kwargs["yaxis"] = "y2"
        if s.kind == "bar":
            fig.add_bar(**kwargs, opacity=0.45 if s.axis == "y2" else 0.9)
        else:
            fig.add_scatter(**kwargs, mode="lines+markers", connectgaps=False)
    if any(s.axis == "y2" for s in chart.series):
        fig.update_layout(
            yaxis2={"overlaying": "y", "side": "right", "title": chart.y2_title, "showgrid": False}
        )
    yaxis = {"title": chart.y_title or chart.unit.split("；")[0][:20]}
    if chart.y_range:
        yaxis["range"] = list(chart.y_range)
    fig.update_layout(
        yaxis=yaxis, xaxis={"type": "category"}, barmode="stack" if chart.stacked else "group"
    )
    return fig


def _hbar(chart: Chart) -> go.Figure:
    fig = go.Figure()
    for i, s in enumerate(chart.series):
        colors = None
        if chart.z and i == 0:
            colors = [COLORS[0] if row[0] else "#c4c9cf" for row in chart.z]
        fig.add_bar(
            x=s.values,
            y=chart.y,
            name=s.name,
            orientation="h",
            text=s.text,
            marker={"color": colors} if colors else None,
        )
    fig.update_layout(
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis={"title": chart.unit[:30]},
        height=max(300, 40 + 28 * len(chart.y)),
    )
    return fig


def _heatmap(chart: Chart) -> go.Figure:
    fig = go.Figure(
        go.Heatmap(
            x=chart.x,
            y=chart.y,
            z=chart.z,
            colorscale="RdYlGn",
            hoverongaps=False,
            colorbar={"title": {"text": chart.unit.split("；")[0]}},
            texttemplate="%{z}",
            **({"zmin": 0, "zmax": 100} if chart.unit.startswith("%") else {}),
        )
    )
    fig.update_layout(
        yaxis={"autorange": "reversed", "automargin": True}, xaxis={"type": "category"}
    )
    return fig


def figure_json(chart: Chart) -> str:
    """The Plotly figure of one chart, as JSON (embedded in a application/json script block)."""
    build = {"xy": _xy, "hbar": _hbar, "heatmap": _heatmap}[chart.kind]
    fig = build(chart)
    _layout(chart, fig)
    if chart.kind != "xy":
        fig.update_layout(hovermode="closest")
    if chart.kind == "hbar":
        fig.update_layout(height=max(300, 60 + 28 * len(chart.y)))
    if chart.kind == "heatmap":
        fig.update_layout(height=max(300, 80 + 34 * len(chart.y)))
    return fig.to_json()
