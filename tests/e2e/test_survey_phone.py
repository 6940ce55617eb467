"""A customer fills a survey on a 375 px phone screen in headless Chromium and is thanked."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import on_phone, screenshot, sign_in

pytestmark = pytest.mark.e2e


def anonymous_link(page, base: str, survey: str = "网点服务满意度调查") -> str:
    """HQ creates an anonymous campaign in the UI; the page shows its public link."""
    sign_in(page, base, "hq")
    page.goto(base + "/manager/campaigns/new")
    page.fill("#name", "手机端测试活动")
    page.select_option("#survey_id", label=survey)
    page.select_option("#audience", "anonymous")
    now = datetime.now()
    page.fill("#window_start", (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#window_end", (now + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))
    page.click("button[type=submit].primary")
    page.wait_for_load_state("domcontentloaded")
    link = page.input_value("#public-link").strip()
    return base + urlparse(link).path


NPS_BOXES = """Array.from(document.querySelectorAll('#q-nps .sv-point-num')).map(e => {
  const r = e.getBoundingClientRect(); return {top: r.top, width: r.width}; })"""
NPS_WORDS_ON_ONE_LINE = """Array.from(document.querySelectorAll('#q-nps .sv-scale-ends > span'))
  .filter(e => e.offsetParent !== null)
  .every(e => e.getClientRects().length === 1 && e.getBoundingClientRect().height < 20)"""
# Every answer a thumb has to hit: the scale buttons and the option rows, 44 x 44 px at least.
SMALL_TARGETS = """Array.from(document.querySelectorAll('.sv-point-num, .sv-option'))
  .filter(e => e.offsetParent !== null)
  .map(e => e.getBoundingClientRect())
  .filter(r => r.width < 44 || r.height < 44).map(r => [r.width, r.height])"""
PROGRESS = "document.getElementById('sv-count').textContent"


def tabbed_under_bar(tab, presses: int = 45) -> list:
    """Tab through the page; what each focused control had under the submit bar, if anything."""
    hidden = []
    for _ in range(presses):
        tab.keyboard.press("Tab")
        if (under := tab.evaluate(FOCUS_UNDER_BAR)) is not None:
            hidden.append(under)
    return hidden


def tap(tab, name: str, value: str) -> None:
    """Tap a scale point the way a customer does: on its visible number."""
    tab.click(f".sv-point:has(input[name='{name}'][value='{value}']) .sv-point-num")
    assert tab.locator(f"input[name='{name}'][value='{value}']").is_checked()


def test_customer_fills_survey_on_a_phone(live_server, browser, page):
    path = anonymous_link(page, live_server)
    with on_phone(browser, 375, 740) as tab:
        tab.goto(path)
        assert "网点服务满意度调查" in tab.locator("h1").inner_text()
        # Nothing wider than the phone: no sideways scrolling.
        assert tab.evaluate("document.documentElement.scrollWidth") <= 375
        # The 0-10 scale: eleven buttons of one size in two rows (0-5, 6-10), wide enough to
        # hit with a thumb; its words on one line each. Nothing smaller than 44 px to tap.
        boxes = tab.evaluate(NPS_BOXES)
        tops = sorted({round(b["top"]) for b in boxes})
        assert len(boxes) == 11 and len(tops) == 2
        assert [round(b["top"]) for b in boxes] == [tops[0]] * 6 + [tops[1]] * 5
        assert max(b["width"] for b in boxes) - min(b["width"] for b in boxes) < 1
        assert tab.evaluate(NPS_WORDS_ON_ONE_LINE)
        assert tab.evaluate(SMALL_TARGETS) == []
        assert tab.evaluate(PROGRESS) == "已答 0 / 6 题，还有 5 道必答题未答"
        tab.click("button.sv-submit")  # empty submission: Chinese errors, nothing stored
        summary = tab.locator("#sv-errors")
        # (the new page's deferred script gives the summary the focus: wait for it, not the click)
        expect(summary).to_be_focused()
        assert summary.is_visible()
        summary.locator("a[href='#q-effort']").click()  # the link goes to that question
        assert tab.evaluate("document.activeElement.name") == "q_effort"
        assert tab.locator("#q-effort").is_visible()
        assert tab.locator("#q-effort.sv-has-error").count() == 1
        tap(tab, "q_effort", "4")  # answered now: no longer marked as missing
        assert tab.locator("#q-effort.sv-has-error").count() == 0
        assert not tab.locator("#q-effort .sv-error").is_visible()
        tap(tab, "q_overall", "2")  # a low score shows the improvement question, numbered 6
        assert tab.locator("#q-improve").is_visible()
        assert tab.evaluate("document.documentElement.scrollWidth") <= 375
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
        # 其他 ticked, 请注明 blank: the server would refuse it, so the progress does not say done
        assert "1 道题选了“其他”但未注明" in tab.evaluate(PROGRESS)
        specify.fill("周末不开门")
        assert "未注明" not in tab.evaluate(PROGRESS)
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
        assert tab.evaluate(PROGRESS) == "已答 5 / 6 题，必答题已全部完成"
        tab.fill("textarea[name='q_comment']", "大堂经理很热情，办理很快。")
        assert tab.evaluate(PROGRESS) == "已答 6 / 6 题，必答题已全部完成"
        screenshot(tab, "survey-phone-filled")
        tab.click("button.sv-submit")
        tab.wait_for_load_state("domcontentloaded")
        assert "提交成功" in tab.locator("h1").inner_text()
        screenshot(tab, "survey-phone-thanks")


def test_a_question_shown_by_skip_logic_fits_the_phone(live_server, browser, page):
    """手机银行: the problems question appears after a low score; its options stay inside the
    screen (they were squeezed beside the floated title and ran off to the right)."""
    path = anonymous_link(page, live_server, "手机银行使用体验调查")
    with on_phone(browser, 390, 844) as tab:
        tab.goto(path)
        tap(tab, "q_nps", "3")
        question = tab.locator("#q-problems")
        assert question.is_visible()
        assert tab.evaluate("document.documentElement.scrollWidth") <= 390
        card = question.bounding_box()
        for option in question.locator(".sv-option").all():
            box = option.bounding_box()
            assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"]
            assert box["width"] > card["width"] / 2
        screenshot(tab, "survey-phone-skip-logic")


def test_an_exclusive_option_unticks_the_others(live_server, browser, page):
    """手机银行's problems question: "没有遇到明显问题" rules out every other answer. Ticking it
    unticks them (and disables 其他's box), ticking another unticks it, so the customer never
    sends a choice the server refuses (it still does, for a browser without JavaScript)."""
    path = anonymous_link(page, live_server, "手机银行使用体验调查")
    with on_phone(browser, 390, 844) as tab:
        tab.goto(path)
        tap(tab, "q_nps", "3")
        question = tab.locator("#q-problems")

        def ticked() -> list[str]:
            return [box.get_attribute("value") for box in question.locator("input:checked").all()]

        def tick(value: str) -> None:
            tab.click(f"#q-problems label:has(input[value='{value}'])")

        for value in ("slow", "crash", "other"):
            tick(value)
        assert question.locator(".sv-other").is_enabled()
        tick("none")
        assert ticked() == ["none"]
        assert question.locator(".sv-other").is_disabled()
        tick("login")
        assert ticked() == ["login"]
        tick("none")
        tick("none")  # (unticking it again leaves nothing ticked, and ticks nothing back)
        assert ticked() == []


# The focused control (or the label that draws it) against the sticky submit bar's top edge.
FOCUS_UNDER_BAR = """(() => {
  const bar = document.querySelector('.sv-submitbar').getBoundingClientRect();
  const el = document.activeElement;
  if (!el || el === document.body || el.closest('.sv-submitbar')) return null;
  const box = (el.closest('label') || el).getBoundingClientRect();
  return box.bottom > bar.top + 1 ? [el.name || el.id, box.bottom, bar.top] : null;
})()"""


@pytest.mark.parametrize("size", [(390, 844), (1366, 768)])
def test_a_control_reached_by_tab_is_never_under_the_submit_bar(live_server, browser, page, size):
    """The sticky 提交问卷 bar covered 6–9 of 40 Tab stops, question 4 entirely at 1366 × 768."""
    path = anonymous_link(page, live_server)
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="zh-CN")
    try:
        tab = context.new_page()
        tab.goto(path)
        assert tabbed_under_bar(tab) == []
    finally:
        context.close()


# Whether a control is drawn on top where it sits: nothing (the submit bar) covers its middle.
COVERED = """(el) => {
  const box = (el.closest('label') || el).getBoundingClientRect();
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  if (y < 0 || y > innerHeight) return 'off-screen';
  const top = document.elementFromPoint(x, y);
  const label = el.closest('label');
  const own = top && (top === el || el.contains(top) || (label && top.closest('label') === label));
  return own ? null : (top ? top.className : 'nothing');
}"""


@pytest.mark.parametrize(
    "size",
    [(640, 360), (360, 330), (180, 320)],
    ids=["landscape", "keyboard-open", "zoom-200"],
)
def test_on_a_short_window_the_submit_bar_stays_at_the_end_and_covers_nothing(
    live_server, browser, page, size
):
    """A phone turned sideways, its keyboard open, or 200 % zoom: the sticky bar took a third to
    half of the screen (its short-window rule came before the sticky one and lost)."""
    path = anonymous_link(page, live_server)
    with on_phone(browser, *size) as tab:
        tab.goto(path)
        bar = tab.locator(".sv-submitbar")
        assert bar.evaluate("el => getComputedStyle(el).position") == "static"
        assert tabbed_under_bar(tab) == []
        comment = tab.locator("textarea[name='q_comment']")
        comment.scroll_into_view_if_needed()
        comment.focus()
        assert comment.evaluate(COVERED) is None  # (the field typed in, the keyboard up)
        screenshot(tab, f"survey-short-window-{size[0]}x{size[1]}")
    # A tall phone keeps the bar at hand.
    with on_phone(browser, 390, 844) as tab:
        tab.goto(path)
        assert tab.locator(".sv-submitbar").evaluate("el => getComputedStyle(el).position") == (
            "sticky"
        )


# At 200 % zoom a 5-point row keeps its five buttons (27 px, 54 on the zoomed screen); the 0–10
# and 1–7 scales wrap into rows of buttons 44 px wide at least.
WRAPPED_TARGETS = SMALL_TARGETS.replace(
    "'.sv-point-num, ", "'#q-nps .sv-point-num, #q-effort .sv-point-num, "
)


def test_scales_fit_a_360_px_phone_and_200_percent_zoom(live_server, browser, page):
    """At 360 px the seven CES buttons were 42 px wide; at 180 px (200 % zoom) 非常不满意 stood
    one character a line and "10" ran out of its button."""
    path = anonymous_link(page, live_server)
    words = """Array.from(document.querySelectorAll('.sv-point-label, .sv-scale-ends > span'))
      .filter(e => e.offsetParent !== null && e.getBoundingClientRect().width > 1)
      .filter(e => e.getClientRects().length !== 1 || e.getBoundingClientRect().height > 20)
      .map(e => e.textContent)"""
    overflowing = """Array.from(document.querySelectorAll('.sv-point-num'))
      .filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent)"""
    for width, height in ((360, 640), (180, 320)):
        with on_phone(browser, width, height) as tab:
            tab.goto(path)
            assert tab.evaluate("document.documentElement.scrollWidth") <= width
            assert tab.evaluate(SMALL_TARGETS if width == 360 else WRAPPED_TARGETS) == []
            assert tab.evaluate(words) == []  # every word whole, on one line
            assert tab.evaluate(overflowing) == []
            ces = tab.evaluate(
                """Array.from(document.querySelectorAll('#q-effort .sv-point-num'))
                .map(e => Math.round(e.getBoundingClientRect().top))"""
            )
            assert len(set(ces)) == (2 if width == 360 else 3)  # 1–4, 5–7 / 1–3, 4–6, 7
            screenshot(tab, f"survey-scales-{width}x{height}")


DRAFTS = """Object.keys(localStorage).filter(k => k.startsWith('kesheng-survey-draft:'))"""


def test_answers_are_kept_on_the_phone_until_the_survey_is_sent(live_server, browser, page):
    """WeChat discards a page left in the background: the customer who came back to it found
    every answer gone. A draft on the phone puts them back (skip logic and all), and goes once
    the answers are sent or the link has nothing more to take."""
    path = anonymous_link(page, live_server)
    token = path.rsplit("/", 1)[1]
    phone = browser.new_context(
        viewport={"width": 375, "height": 740}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    try:
        tab = phone.new_page()
        tab.goto(path)
        assert tab.locator(".sv-restored").count() == 0  # (nothing to put back yet)
        tap(tab, "q_overall", "2")  # a low score shows the improvement question
        tab.click("#q-improve label:has(input[value='other'])")
        tab.locator("#q-improve .sv-other").fill("周末不开门")
        tap(tab, "q_aspects__attitude", "3")
        tab.fill("textarea[name='q_comment']", "排队太久")
        tab.close()  # (the page thrown away; the phone keeps its storage)

        tab = phone.new_page()
        tab.goto(path)
        assert tab.locator(".sv-restored").inner_text() == "已恢复您上次填写的内容，可继续作答。"
        assert tab.locator("input[name='q_overall'][value='2']").is_checked()
        assert tab.locator("input[name='q_aspects__attitude'][value='3']").is_checked()
        assert tab.locator("#q-improve").is_visible()  # the rule that shows it applied again
        assert tab.locator("#q-comment .sv-num").inner_text() == "7."
        other = tab.locator("#q-improve .sv-other")
        assert other.is_enabled() and other.input_value() == "周末不开门"
        assert tab.evaluate("document.activeElement === document.body")  # (no jump to it)
        assert tab.input_value("textarea[name='q_comment']") == "排队太久"
        assert tab.evaluate(PROGRESS) == "已答 3 / 7 题，还有 4 道必答题未答"  # (a grid: all rows)
        drafts = tab.evaluate(DRAFTS)
        assert len(drafts) == 1 and token not in drafts[0]  # (the link's token is not stored)
        assert token not in tab.evaluate(f"localStorage.getItem('{drafts[0]}')")

        # A happier score hides the question; the draft follows, and comes back so.
        tap(tab, "q_overall", "5")
        tab.reload()
        assert not tab.locator("#q-improve").is_visible()
        assert tab.locator("#q-comment .sv-num").inner_text() == "6."

        tap(tab, "q_nps", "9")
        tab.check("#q-wait_time input[value='lt10']")
        for item in ("skill", "efficiency", "disclosure", "environment"):
            tap(tab, f"q_aspects__{item}", "4")
        tap(tab, "q_effort", "6")
        tab.click("button.sv-submit")
        tab.wait_for_load_state("domcontentloaded")
        assert "提交成功" in tab.locator("h1").inner_text()
        expect(tab.locator("[data-sv-draft-done]")).to_have_count(1)
        tab.wait_for_function(f"!{DRAFTS}.length")

        # A draft left behind on a link answered (here: once per device) goes when it is opened.
        tab.evaluate(f"localStorage.setItem('{drafts[0]}', '{{\"at\": 1, \"answers\": {{}}}}')")
        tab.goto(path)
        assert "已提交" in tab.locator("h1").inner_text()
        tab.wait_for_function(f"!{DRAFTS}.length")
    finally:
        phone.close()


def test_a_phone_that_refuses_storage_still_takes_the_answers(live_server, browser, page):
    """Private browsing, a full or a disabled storage: no draft, and nothing else changes."""
    path = anonymous_link(page, live_server)
    with on_phone(browser, 375, 740) as tab:
        tab.add_init_script(
            """for (const name of ['getItem', 'setItem', 'removeItem', 'key']) {
              Storage.prototype[name] = () => {
                throw new DOMException('full', 'QuotaExceededError');
              };
            }"""
        )
        errors = []
        tab.on("pageerror", lambda error: errors.append(error))
        tab.goto(path)
        tap(tab, "q_overall", "2")
        assert tab.locator("#q-improve").is_visible()
        tab.fill("textarea[name='q_comment']", "排队太久")
        tab.reload()
        assert tab.locator(".sv-restored").count() == 0
        assert "已答 0 / 6 题" in tab.evaluate(PROGRESS)  # the script ran on
        assert errors == []
