"""The managers' dashboards as a head-office and a branch manager read them (UI review):
no way up out of one's scope, empty charts that say so, hover texts in words, products not
joined by a line, exports with Chinese sheet names and numbers as numbers."""

from __future__ import annotations

import io
import json
import re

import openpyxl

from app.services import dashboard_filters, dashboard_pages
from app.services.dashboard_pages import Chart, Series
from app.web.manager.dashboards_charts import figure_json
from tests.web.test_dashboards import _figure

EMPTY = "from=2001-01-01&to=2001-12-31"  # before any demo or test data


def _crumb(html: str) -> str:
    found = re.search(r'<p class="crumbs">(.*?)</p>', html, re.S)
    return found.group(1) if found else ""


def test_a_branch_manager_is_not_offered_a_way_up_out_of_their_scope(client, auth):
    """杭州分行's manager saw 「返回 总行」, which only led to 无权查看该机构的数据 (422)."""
    auth.login("manager")
    own = client.get("/manager/dashboards/branches")
    assert own.status_code == 200
    assert "返回" not in _crumb(own.get_data(as_text=True))
    below = client.get("/manager/dashboards/branches?branch=HZ01").get_data(as_text=True)
    assert "返回 杭州分行" in _crumb(below) and "branch=HZ&amp;" in _crumb(below)
    auth.logout()
    auth.login("hq")
    html = client.get("/manager/dashboards/branches?branch=HZ").get_data(as_text=True)
    assert "返回 总行" in _crumb(html)  # the head office may go up to the whole bank


def test_charts_without_data_say_so_instead_of_empty_axes(client, auth):
    """No data in the range: plotly drew axes from -1 to 4 (and a count axis of -1 to 1)
    around nothing, with a legend of series that were not there."""
    auth.login("hq")
    for page, ids in (
        ("", ("chart-satisfaction", "chart-complaints", "chart-sentiment")),
        ("products", ("chart-product", "chart-channel")),
        ("complaints", ("chart-trend", "chart-days")),
        ("voice", ("chart-topic", "chart-keyword", "chart-topic-trend")),
    ):
        html = client.get(f"/manager/dashboards/{page}?{EMPTY}").get_data(as_text=True)
        for chart_id in ids:
            figure = _figure(html, chart_id)
            layout = figure["layout"]
            assert all(t["visible"] is False for t in figure["data"]), chart_id
            assert layout["annotations"][0]["text"] == "所选范围内暂无数据", chart_id
            assert layout["yaxis"] == {"visible": False}, chart_id
            # a trace on y2 with no yaxis2 in the layout gets plotly's default axis, drawn
            on_y2 = any(t.get("yaxis") == "y2" for t in figure["data"])
            assert not on_y2 or layout["yaxis2"]["visible"] is False, chart_id
            assert layout["showlegend"] is False, chart_id
    drawn = Chart("chart-x", "趋势", "件", "t", x=["2026-01"], series=[Series("受理", [3], "bar")])
    assert "annotations" not in json.loads(figure_json(drawn))["layout"]


def test_bar_hover_says_the_series_and_unit_not_a_tuple():
    """Hovering a bar of 投诉原因 showed "(229, C01 服务态度及服务质量)"."""
    chart = Chart(
        "chart-x", "投诉原因", "件", "t", kind="hbar", y=["C01 服务态度及服务质量"], counts=True
    )
    chart.series = [Series("受理", [229], "bar")]
    trace = json.loads(figure_json(chart))["data"][0]
    assert trace["hovertemplate"] == "%{y}<br>受理：%{x} 件<extra></extra>"
    chart.unit = "提及次数"
    trace = json.loads(figure_json(chart))["data"][0]
    assert trace["hovertemplate"] == "%{y}<br>受理：%{x} 次<extra></extra>"


def test_products_are_dots_on_a_scale_from_zero_not_a_line(client, auth):
    """The index by product was a line from one product to the next (as if a trend) on an axis
    zoomed to 64–74, so a 4-point gap looked like a collapse."""
    auth.login("hq")
    html = client.get("/manager/dashboards/products").get_data(as_text=True)
    for chart_id in ("chart-product", "chart-channel"):
        figure = _figure(html, chart_id)
        index = next(t for t in figure["data"] if t["name"] == "满意度指数")
        assert index["type"] == "scatter" and index["mode"] == "markers", chart_id
        # the dots are on the overlaying axis (plotly draws it above the bars), kept on the left
        bars = next(t for t in figure["data"] if t["name"] == "收到投诉（件）")
        assert (index["yaxis"], bars["yaxis"]) == ("y2", "y"), chart_id
        scale, counts = figure["layout"]["yaxis2"], figure["layout"]["yaxis"]
        assert scale["range"] == [0, 100] and scale["side"] == "left", chart_id
        assert scale["overlaying"] == "y" and counts["side"] == "right", chart_id
        assert counts["title"]["text"] == "投诉件数", chart_id


def test_drill_down_workbooks_have_chinese_sheet_names(client, auth):
    auth.login("hq")
    for kind, sheet in (("responses", "答卷明细"), ("complaints", "投诉明细")):
        resp = client.get(f"/manager/dashboards/drill/{kind}?format=xlsx")
        assert resp.status_code == 200
        assert openpyxl.load_workbook(io.BytesIO(resp.data)).sheetnames == [sheet]


def test_the_index_card_is_greyed_like_the_others_when_the_sample_is_too_small(app):
    f = dashboard_filters.parse({"from": "2001-01-01", "to": "2001-01-31"})
    cards = {c.label: c for c in dashboard_pages.overview(f).cards}
    assert cards["CSAT 满意占比"].muted and cards["满意度指数"].muted


def test_the_voice_page_tells_managers_no_commands(client, auth):
    """尚未发现话题：运行 flask dashboards topics … was shown to managers."""
    auth.login("hq")
    html = client.get(f"/manager/dashboards/voice?{EMPTY}").get_data(as_text=True)
    assert "flask" not in html


def test_a_year_of_weeks_leaves_the_heat_map_its_rows(client, auth):
    """By week, the upright period labels took the room: five rows in about 50 px and the
    colour bar's ticks (100, 95, 90 …) printed over each other."""
    auth.login("hq")
    html = client.get(
        "/manager/dashboards/branches?from=2026-01-01&to=2026-12-05&grain=week&branch=HZ"
    ).get_data(as_text=True)
    for chart_id in ("chart-deadline-heat", "chart-complaint-rate-heat"):
        figure = _figure(html, chart_id)
        rows, columns = len(figure["data"][0]["y"]), len(figure["data"][0]["x"])
        assert columns > 40 and rows >= 4, chart_id
        assert figure["layout"]["height"] >= 80 + 34 * rows + 150, chart_id


def test_sentiment_shares_say_how_many_texts_on_hover(app):
    """December (five days) showed 66.7% negative with no hint it was 8 texts of 12."""
    chart = Chart(
        "chart-sentiment", "客户文本情感占比", "%", "t", x=["2026-11", "2026-12"], stacked=True
    )
    chart.series = [
        Series("负面", [40.0, 66.7], "bar", hover=["%（40 / 100 条）", "%（8 / 12 条）"])
    ]
    trace = json.loads(figure_json(chart))["data"][0]
    assert trace["customdata"] == ["%（40 / 100 条）", "%（8 / 12 条）"]
    assert trace["hovertemplate"] == "%{y}%{customdata}"
    assert "text" not in trace  # not printed on the bars
    f = dashboard_filters.parse({"from": "2026-01-01", "to": "2026-12-05"})
    sentiment = next(c for c in dashboard_pages.overview(f).charts if c.id == "chart-sentiment")
    for s in sentiment.series:
        assert len(s.hover) == len(sentiment.x)
        assert all(h == "" or re.fullmatch(r"%（\d+ / \d+ 条）", h) for h in s.hover)


def test_a_missing_figure_lines_up_with_the_numbers_of_its_column(app):
    """接通率 "—" (no call made) sat at the left of a column of right-aligned rates."""
    from app.services.dashboard_pages import Table

    t = Table("followup_reasons", "按回访原因", ["原因", "任务", "接通率（%）", "备注"])
    t.add(["低分客户", 432, 74.9, "说明"])
    t.add(["业务事件", 16, None, None])
    t.add(["登记客户", 168000, 5.0, ""])
    with app.test_request_context("/manager/dashboards/followups"):
        html = app.jinja_env.get_template("manager/dashboards/_table.html").render(
            t=t, name="followups", filters=dashboard_filters.parse({})
        )
    cells = re.findall(r'<td class="([^"]*)">([^<]*)</td>', html)
    assert cells[-8:-4] == [("", "业务事件"), ("num", "16"), ("num", "—"), ("", "—")]
    assert cells[-3] == ("num", "168,000")  # grouped, as 168000 is hard to read
    headers = re.findall(r'<th scope="col"( class="num")?>([^<]*)</th>', html)
    assert headers == [
        ("", "原因"),
        (' class="num"', "任务"),
        (' class="num"', "接通率（%）"),
        ("", "备注"),
    ]  # fmt: skip  (headings over numbers align with them)


def test_the_improvement_card_leads_to_the_improvement_board(client, auth):
    """The 问题整改 card was the only card without a way to the cases behind its figure."""
    auth.login("hq")
    html = client.get("/manager/dashboards", follow_redirects=True).get_data(as_text=True)
    card = html[html.index('dash-card-label">问题整改') :].split("</section>")[0]
    assert 'href="/manager/improvements"' in card and "查看整改看板" in card
