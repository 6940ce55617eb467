"""A customer fills a survey on a 375 px phone screen in headless Chromium and is thanked."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlparse

import pytest

from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.e2e


def anonymous_link(page, base: str) -> str:
    """HQ creates an anonymous campaign in the UI; the page shows its public link."""
    sign_in(page, base, "hq")
    page.goto(base + "/manager/campaigns/new")
    page.fill("#name", "手机端测试活动")
    page.select_option("#survey_id", label="网点服务满意度调查（branch-service）")
    page.select_option("#audience", "anonymous")
    now = datetime.now()
    page.fill("#window_start", (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#window_end", (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))
    page.click("button[type=submit].primary")
    page.wait_for_load_state("domcontentloaded")
    link = page.locator("p.mono").inner_text().strip()
    return base + urlparse(link).path


def tap(tab, name: str, value: str) -> None:
    """Tap a scale point the way a customer does: on its visible number."""
    tab.click(f".sv-point:has(input[name='{name}'][value='{value}']) .sv-point-num")
    assert tab.locator(f"input[name='{name}'][value='{value}']").is_checked()


def test_customer_fills_survey_on_a_phone(live_server, browser, page):
    path = anonymous_link(page, live_server)
    phone = browser.new_context(
        viewport={"width": 375, "height": 740}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    tab = phone.new_page()
    try:
        tab.goto(path)
        assert "网点服务满意度调查" in tab.locator("h1").inner_text()
        # Nothing wider than the phone: no sideways scrolling.
        assert tab.evaluate("document.documentElement.scrollWidth") <= 375
        tab.click("button.sv-submit")  # empty submission: Chinese errors, nothing stored
        assert tab.locator(".sv-alert").is_visible()
        tap(tab, "q_overall", "2")  # a low score shows the improvement question, numbered 6
        assert tab.locator("#q-improve").is_visible()
        for value in ("wait", "attitude", "skill", "process"):  # at most 3: the 4th is undone
            tab.click(f"#q-improve label:has(input[value='{value}'])")
        assert tab.locator("#q-improve input:checked").count() == 3
        assert tab.locator("#q-comment .sv-num").inner_text() == "7."
        tap(tab, "q_overall", "5")
        tap(tab, "q_nps", "10")
        tab.check("#q-wait_time input[value='lt10']")
        for item in ("attitude", "skill", "efficiency", "disclosure", "environment"):
            tap(tab, f"q_aspects__{item}", "4")
        tap(tab, "q_effort", "6")
        assert not tab.locator("#q-improve").is_visible()  # skip logic hides it for happy answers
        assert tab.locator("#q-comment .sv-num").inner_text() == "6."  # no gap in the numbers
        tab.fill("textarea[name='q_comment']", "大堂经理很热情，办理很快。")
        screenshot(tab, "survey-phone-filled")
        tab.click("button.sv-submit")
        tab.wait_for_load_state("domcontentloaded")
        assert "提交成功" in tab.locator("h1").inner_text()
        screenshot(tab, "survey-phone-thanks")
    finally:
        phone.close()
