"""A branch manager opens the dashboard overview, changes a filter and sees the charts redraw."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import on_phone, screenshot, sign_in

pytestmark = pytest.mark.e2e

TREND = "chart-satisfaction"


def _drawn(page) -> list:
    page.wait_for_function("document.querySelectorAll('[data-drawn]').length >= 3", timeout=15000)
    return page.evaluate(f"document.getElementById('{TREND}').data[0].y")


def test_overview_redraws_after_a_filter_change(live_server, page):
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "response",
        lambda r: (
            errors.append(r.url) if r.status >= 400 and not r.url.endswith("favicon.ico") else None
        ),
    )
    sign_in(page, live_server, "manager")
    page.click("nav.mainnav >> text=看板")
    page.wait_for_load_state("load")
    before = _drawn(page)
    assert sum(v or 0 for v in before) > 0  # the demo answers of 杭州分行
    assert page.locator(".dash-card").count() >= 6
    branch_options = page.locator("select[name=branch] option").all_inner_texts()
    assert not any("南京" in o for o in branch_options)  # only the manager's subtree

    with page.expect_navigation():
        page.select_option("select[name=branch]", "HZ01")  # filters submit on change
    assert "branch=HZ01" in page.url
    after = _drawn(page)
    assert sum(v or 0 for v in after) < sum(v or 0 for v in before)
    assert "西湖支行" in page.locator(".dash-scope").inner_text()
    assert not errors, errors
    screenshot(page, "dashboard-overview-filtered")


def test_filter_bar_and_complaint_list_fit_a_1280_px_screen(live_server, browser):
    """The UI review: 重置 wrapped onto a line of its own, and the complaint drill-down list
    scrolled sideways at 1280 px. Both fit at 1280 and 1440 px, for head office and a branch."""
    for width in (1280, 1440):
        for user in ("hq", "manager"):
            context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
            page = context.new_page()
            sign_in(page, live_server, user)
            for path in ("/manager/dashboards/branches", "/manager/dashboards/drill/complaints"):
                page.goto(live_server + path)
                first = page.locator("#dash-filters label").first.bounding_box()
                for name in ("应用筛选", "重置"):
                    button = page.locator("#dash-filters .button", has_text=name).bounding_box()
                    # on the fields' line: its top above the bottom of the first field
                    assert button["y"] < first["y"] + first["height"], (width, user, path, name)
            wrap = page.locator(".table-wrap").first
            assert page.locator(".drill-table tbody tr").count() > 10
            overflow = wrap.evaluate("w => w.scrollWidth - w.clientWidth")
            assert overflow <= 0, (width, user, overflow)
            if width == 1280:
                screenshot(page, f"dashboard-drill-complaints-{user}-1280")
            context.close()


def test_complaint_queue_and_menu_fit_a_1024_px_laptop(live_server, browser):
    """The UI review: at 1024 px the head office's menu took two lines, references broke over
    two lines (reading like two cases) and the tabs wrapped. Now: one menu line, whole
    references and channel names, no sideways scroll."""
    context = browser.new_context(viewport={"width": 1024, "height": 900}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server, "hq")
    page.goto(live_server + "/staff/complaints")
    menu = [box["y"] for box in (a.bounding_box() for a in page.locator(".mainnav a").all())]
    assert len(menu) >= 9 and max(menu) - min(menu) < 4, menu  # one line
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    rows = page.locator(".cp-table tbody tr")
    assert rows.count() > 5
    line = page.locator(".cp-table tbody td.mono a").first.evaluate(
        "a => parseFloat(getComputedStyle(a).lineHeight)"
    )
    text_height = """c => { const r = document.createRange(); r.selectNodeContents(c);
                              return r.getBoundingClientRect().height; }"""
    for i in range(min(rows.count(), 10)):
        row = rows.nth(i)
        for cell in (row.locator("td.mono a"), row.locator("td").nth(3)):  # reference, channel
            assert cell.evaluate(text_height) < 1.5 * line, (i, cell.inner_text())
    screenshot(page, "complaint-queue-hq-1024")
    context.close()


def test_chart_mode_bar_is_chinese_and_cannot_share_to_the_cloud(live_server, page):
    """The UI review: plotly's mode bar offered "Share chart", which posts the chart's data to
    cloud.plotly.com (a leak from a bank intranet), and its tooltips were English. Now: a few
    local buttons with Chinese tooltips, shown on hover beside (not over) the title."""
    sign_in(page, live_server, "hq")
    page.goto(live_server + "/manager/dashboards/")
    _drawn(page)
    chart = page.locator(f"#{TREND}")
    chart.hover()
    buttons = chart.locator(".modebar-btn")
    buttons.first.wait_for(state="visible")
    titles = [b.get_attribute("data-title") or "" for b in buttons.all()]
    assert titles, "no mode bar"
    for title in titles:
        assert not re.search(r"cloud|share|chart studio|分享|云", title, re.I), titles
        assert re.search(r"[\u4e00-\u9fff]", title), titles  # Chinese, not plotly's English
    assert "下载为 PNG 图片" in titles  # the download button
    bar = chart.locator(".modebar").bounding_box()
    title = chart.locator(".gtitle").bounding_box()
    assert title["x"] + title["width"] < bar["x"], (title, bar)  # side by side, no overlap
    screenshot(page, "dashboard-mode-bar")


def test_heat_maps_keep_readable_cells_on_a_phone(live_server, browser):
    """On a phone twelve months of cells were squeezed into 300 px and the toolbar covered the
    titles: a heat map is drawn 600 px wide and scrolls inside its card, with no toolbar."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        sign_in(page, live_server, "hq")
        page.goto(live_server + "/manager/dashboards/branches")
        heat = page.locator("#chart-deadline-heat")
        heat.locator(".main-svg").first.wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the page stays put
        assert heat.bounding_box()["width"] >= 600
        assert page.locator(".modebar-btn").count() == 0
        screenshot(page, "dashboards-heat-phone")
    finally:
        context.close()


def test_chart_titles_and_legends_fit_a_phone(live_server, browser):
    """At 360 px a question's title was cut off mid-sentence and a legend wrapped into more
    rows than the top margin had room for, over the title: titles wrap to the chart's width and
    the legend's rows are counted again there, so neither is cut nor overlaps."""
    with on_phone(browser, 360, 640) as page:
        sign_in(page, live_server, "manager")
        for path in ("/manager/dashboards/voice", "/manager/dashboards/followups"):
            page.goto(live_server + path)
            drawn = page.locator("[data-drawn]")
            drawn.first.wait_for(state="attached")
            page.wait_for_timeout(300)  # (every chart of the page is drawn in one go)
            assert drawn.count() == page.locator("[data-figure]").count()
            found = page.evaluate(
                """() => Array.from(document.querySelectorAll('[data-drawn]')).map(chart => {
                  const box = el => el && el.getBoundingClientRect();
                  const title = box(chart.querySelector('.gtitle'));
                  const legend = box(chart.querySelector('.legend'));
                  const frame = chart.getBoundingClientRect();
                  return {id: chart.id, title: title && [title.top, title.bottom, title.right],
                          legend: legend && [legend.top], frame: [frame.top, frame.right]};
                })"""
            )
            assert found
            for chart in found:
                if chart["title"]:
                    top, bottom, right = chart["title"]
                    assert top >= chart["frame"][0] - 1, chart  # (not off the top)
                    assert right <= chart["frame"][1] + 1, chart  # (not cut at the edge)
                    if chart["legend"]:
                        assert chart["legend"][0] >= bottom - 1, chart  # (not over the title)
        screenshot(page, "dashboards-titles-phone")
