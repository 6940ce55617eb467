"""The new campaign form in headless Chromium: only the chosen audience's field is shown."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.e2e

AUDIENCE_FIELDS = {
    "branch": "#branch_id",
    "segment": "#segment",
    "product": "#product_id",
    "list": "#list_text",
}


def _visible(page) -> set[str]:
    shown = {a for a, sel in AUDIENCE_FIELDS.items() if page.locator(sel).is_visible()}
    return shown | ({"channel"} if page.locator("#channel").is_visible() else set())


def test_the_campaign_form_shows_only_the_chosen_audience_field(live_server, page):
    sign_in(page, live_server, "hq")
    page.goto(live_server + "/manager/campaigns/new")
    assert _visible(page) == {"branch", "channel"}
    assert page.locator("#window_start").input_value().endswith("T09:00")
    screenshot(page, "campaign-form")
    for audience in ("segment", "product", "list"):
        page.select_option("#audience", audience)
        assert _visible(page) == {audience, "channel"}
    page.select_option("#audience", "anonymous")
    assert _visible(page) == set()  # nothing is sent: no channel either
    assert page.get_by_text("匿名公开链接：创建后即生成").is_visible()


def test_without_javascript_every_campaign_field_is_usable(live_server, browser):
    context = browser.new_context(java_script_enabled=False, locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, live_server, "hq")
        page.goto(live_server + "/manager/campaigns/new")
        assert _visible(page) == {*AUDIENCE_FIELDS, "channel"}
    finally:
        context.close()
