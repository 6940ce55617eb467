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
    page.select_option("#survey_id", label="网点服务满意度调查")
    page.select_option("#audience", "anonymous")
    now = datetime.now()
    page.fill("#window_start", (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#window_end", (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))
    page.click("button[type=submit].primary")
    page.wait_for_load_state("domcontentloaded")
    link = page.locator("p.mono").inner_text().strip()
    return base + urlparse(link).path


NPS_BOXES = """Array.from(document.querySelectorAll('#q-nps .sv-point-num')).map(e => {
  const r = e.getBoundingClientRect(); return {top: r.top, width: r.width}; })"""
NPS_WORDS_ON_ONE_LINE = """Array.from(document.querySelectorAll('#q-nps .sv-scale-ends span'))
  .every(e => e.getClientRects().length === 1 && e.getBoundingClientRect().height < 20)"""


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
        # The 0-10 scale: eleven buttons of one size in one row, its words on one line each.
        boxes = tab.evaluate(NPS_BOXES)
        assert len(boxes) == 11 and len({round(b["top"]) for b in boxes}) == 1
        assert max(b["width"] for b in boxes) - min(b["width"] for b in boxes) < 1
        assert tab.evaluate(NPS_WORDS_ON_ONE_LINE)
        tab.click("button.sv-submit")  # empty submission: Chinese errors, nothing stored
        summary = tab.locator("#sv-errors")
        assert summary.is_visible() and tab.evaluate("document.activeElement.id") == "sv-errors"
        summary.locator("a[href='#q-effort']").click()  # the link goes to that question
        assert tab.evaluate("document.activeElement.name") == "q_effort"
        assert tab.locator("#q-effort").is_visible()
        tap(tab, "q_overall", "2")  # a low score shows the improvement question, numbered 6
        assert tab.locator("#q-improve").is_visible()
        specify = tab.locator("#q-improve .sv-other")
        assert specify.is_disabled()  # 请注明 only once 其他 is ticked
        for value in ("wait", "attitude", "skill", "process"):  # at most 3: the 4th is undone
            tab.click(f"#q-improve label:has(input[value='{value}'])")
        assert tab.locator("#q-improve input:checked").count() == 3
        assert "最多只能选 3 项" in tab.locator("#q-improve .sv-limit-msg").inner_text()
        tab.click("#q-improve label:has(input[value='wait'])")
        tab.click("#q-improve label:has(input[value='other'])")
        assert (
            specify.is_enabled()
            and tab.evaluate("document.activeElement.name") == "q_improve__other"
        )
        screenshot(tab, "survey-phone-other")
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
