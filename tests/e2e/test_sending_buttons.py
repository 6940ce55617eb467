"""A customer's form once sent: its button turns grey and says 正在提交… while the answers are on
their way (in WeChat an unchanged button looked frozen), and is itself again when the back button
brings the page back from the browser's cache."""

from __future__ import annotations

import pytest

from tests.e2e.test_survey_phone import anonymous_link, on_phone

pytestmark = pytest.mark.e2e

# Press the button and look at it a moment later, while the request is held; then as the back
# button brings a page back from the cache (pageshow, persisted). All in one call: Playwright
# waits for a navigation to finish before it reads the page again.
PRESS_AND_COME_BACK = """(selector) => new Promise(done => {
  const button = document.querySelector(selector);
  const look = () => ({label: button.textContent, disabled: button.disabled,
                       colour: getComputedStyle(button).backgroundColor});
  const before = look();
  button.click();
  setTimeout(() => {
    const sent = look();
    window.dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}));
    done([before, sent, look()]);
  }, 100);
})"""


def _press_and_come_back(tab, url_glob: str, selector: str) -> tuple[dict, dict, dict]:
    held = []
    tab.route(
        url_glob,
        lambda route: held.append(route) if route.request.method == "POST" else route.continue_(),
    )
    before, sent, back = tab.evaluate(PRESS_AND_COME_BACK, selector)
    tab.wait_for_timeout(100)
    assert len(held) == 1  # (sent once)
    held[0].abort()
    return before, sent, back


def test_the_survey_button_says_it_is_sending(live_server, browser, page):
    path = anonymous_link(page, live_server)
    with on_phone(browser, 375, 740) as tab:
        tab.goto(path)
        before, sent, back = _press_and_come_back(tab, "**/s/*", "button.sv-submit")
        assert (sent["label"], sent["disabled"]) == ("正在提交…", True)
        assert sent["colour"] != before["colour"]  # grey, not the brand red
        assert back == before


def test_the_complaint_button_says_it_is_sending(live_server, browser):
    with on_phone(browser, 375, 740) as tab:
        tab.goto(live_server + "/complaint")
        before, sent, back = _press_and_come_back(
            tab, "**/complaint*", "form.pc-card button[type=submit]"
        )
        assert before["label"] == "提交投诉"
        assert (sent["label"], sent["disabled"]) == ("正在提交…", True)
        assert sent["colour"] != before["colour"]
        assert back == before
