"""The inactivity warning in Chromium (static/js/idle.js), on a clock Playwright moves."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.e2e


def test_an_idle_page_warns_keeps_the_session_on_request_and_keeps_typed_text(live_server, browser):
    context = browser.new_context(viewport={"width": 1366, "height": 800}, locale="zh-CN")
    try:
        page = context.new_page()
        page.clock.install()
        sign_in(page, live_server, "agent")
        page.goto(live_server + "/account/password")
        banner = page.locator(".idle-banner")
        page.clock.run_for(20 * 60 * 1000)
        expect(banner).to_have_count(0)  # twenty minutes idle: nothing yet
        page.clock.run_for(8 * 60 * 1000)  # then two minutes before the 30 are up
        expect(banner).to_contain_text("将自动退出")
        screenshot(page, "idle-warning")
        with page.expect_response("**/account/keepalive") as kept:
            banner.get_by_role("button", name="继续使用").click()
        assert kept.value.status == 204
        expect(banner).to_have_count(0)
        # typing in a field keeps it alive too; then idle past the limit: the text stays
        page.fill("#current_password", "草稿文字")
        page.clock.run_for(31 * 60 * 1000)
        expect(banner).to_contain_text("已因长时间未操作自动退出")
        assert page.input_value("#current_password") == "草稿文字"
        assert "/login?next=" in banner.get_by_role("link", name="重新登录").get_attribute("href")
    finally:
        context.close()
