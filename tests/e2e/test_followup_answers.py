"""In headless Chromium: an agent saves a follow-up call's answers with questions missing, and
the list of the questions at fault heads the answer form, takes the focus and is scrolled into
view (it sat below the first screen, focus on the page), what the agent entered kept; an
anonymous campaign's page copies its link and shows its QR code; a dissatisfied customer is
told where to complain."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_accessibility import violations
from tests.e2e.test_survey_phone import anonymous_link, on_phone, tap

pytestmark = pytest.mark.e2e

# The summary's place in the window: its top inside the first screen, its box all there.
IN_VIEW = """() => { const r = document.getElementById('sv-errors').getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, height: innerHeight, y: scrollY}; }"""


def open_task(page, base: str) -> str:
    """The first open call-back of the agent's queue; its path."""
    page.goto(base + "/staff/followups")
    hrefs = page.eval_on_selector_all(
        "table a[href*='/staff/followups/']", "els => els.map(e => e.getAttribute('href'))"
    )
    tasks = [h for h in hrefs if re.fullmatch(r"/staff/followups/\d+", h)]
    assert tasks, "the demo bank has open call-backs"
    page.goto(base + tasks[0])
    return tasks[0]


@pytest.mark.parametrize("size", [(1366, 768), (390, 844)], ids=["desktop", "phone"])
def test_refused_answers_focus_the_list_of_questions_to_fix(live_server, browser, size):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, live_server, "agent")
        task = open_task(page, live_server)
        answers = page.locator("form.fu-answers")
        comment = answers.locator(".sv-q:not(.sv-hidden) textarea").last
        comment.fill("客户说等了很久")
        answers.locator("button[type=submit]").click()
        summary = page.locator("#sv-errors")
        # (the new page's deferred script gives the list the focus: wait for it)
        expect(summary).to_be_focused()
        # (the address is the task's own, js/page_url.js: a reload reads it, resends nothing)
        assert page.url.endswith(task)
        box = page.evaluate(IN_VIEW)
        assert box["y"] > 0, "the page was scrolled down to the list"
        assert 0 <= box["top"] < 40 and box["bottom"] <= box["height"], box
        # one link per question at fault, in the script's order; each marked below
        links = summary.locator("a[data-question]")
        ids = links.evaluate_all("els => els.map(e => e.dataset.question)")
        assert ids and summary.inner_text().startswith(f"有 {len(ids)} 道题未填写或填写有误")
        for question in ids:
            assert page.locator(f"#q-{question}.sv-has-error").count() == 1
        assert comment.input_value() == "客户说等了很久"  # what was typed is kept
        if size[0] > 1000:
            screenshot(page, "followup-refused-answers")
            assert violations(page) == []
        # a link moves to its question's first answer
        links.last.click()
        first = page.evaluate("document.activeElement.name")
        assert first and first.startswith(f"q_{ids[-1]}")
        assert page.locator(f"#q-{ids[-1]}").is_visible()
    finally:
        context.close()


def test_the_public_link_page_and_a_dissatisfied_customers_thanks(live_server, browser, page):
    """HQ's anonymous campaign page: the link with a working copy button and its QR code; a
    customer answering it with low scores is thanked and told where to complain. Both pages
    pass the accessibility checks."""
    path = anonymous_link(page, live_server)
    copy = page.locator("button[data-copy='public-link']")
    expect(copy).to_be_visible()  # (copy_text.js shows it)
    copy.click()
    expect(page.locator("[data-copy-status]")).to_have_text(re.compile("复制"))
    qr = page.locator(".cg-qr img")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    assert "公开链接（不发送消息）" in page.locator("dl.facts").inner_text()
    assert violations(page) == []
    with on_phone(browser, 390, 844) as tab:
        tab.goto(path)
        for name, value in (("q_overall", "2"), ("q_nps", "3"), ("q_effort", "2")):
            tap(tab, name, value)
        tab.click("label:has(input[name='q_wait_time'][value='gt30'])")
        for item in ("attitude", "skill", "efficiency", "disclosure", "environment"):
            tap(tab, f"q_aspects__{item}", "2")
        tab.click("#q-improve label:has(input[value='wait'])")
        tab.click("button.sv-submit")
        expect(tab.locator("h1")).to_have_text("提交成功，感谢您的参与")
        offer = tab.locator(".sv-message-help a[href='/complaint']")
        expect(offer).to_be_visible()
        screenshot(tab, "survey-thanks-dissatisfied")
        assert violations(tab) == []
