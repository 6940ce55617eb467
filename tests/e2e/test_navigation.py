"""Each role signs in through the browser and sees exactly its own navigation."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import on_phone, screenshot, sign_in

pytestmark = pytest.mark.e2e

EXPECTED = {
    "agent": ["工作台", "投诉", "回访", "答卷", "客户"],
    "manager": ["工作台", "看板", "投诉", "回访", "答卷", "整改", "客户"],
    "hq": ["工作台", "看板", "投诉", "回访", "答卷", "问卷", "调查活动", "整改", "客户"],
    "admin": ["员工账号", "机构管理", "产品管理", "接口令牌", "审计日志", "运行状态"],
}


@pytest.mark.parametrize("username", sorted(EXPECTED))
def test_navigation_per_role(live_server, page, username):
    sign_in(page, live_server, username)
    labels = [t.strip() for t in page.locator("nav.mainnav a").all_inner_texts()]
    assert labels == EXPECTED[username]
    assert page.locator(".who .badge").inner_text()
    screenshot(page, f"nav-{username}")


def test_wrong_password_shows_a_chinese_message(live_server, page):
    sign_in(page, live_server, "agent", "not-the-password")
    assert "用户名或密码错误" in page.content()
    assert page.locator("nav.mainnav").count() == 0


def test_branch_manager_sees_masked_customers_of_their_branch(live_server, page):
    sign_in(page, live_server, "manager")
    page.click("nav.mainnav >> text=客户")
    rows = page.locator("table.table tbody tr")
    assert rows.count() > 0
    branches = set(page.locator("table.table tbody tr td:nth-child(5)").all_inner_texts())
    assert branches <= {"西湖支行", "滨江支行", "钱塘支行", "萧山支行"}
    phones = page.locator("table.table tbody tr td:nth-child(3)").all_inner_texts()
    assert all("****" in p for p in phones)
    screenshot(page, "customers-manager")


# Pages a role's menu does not offer are refused in the browser too (typed-in URLs).
FORBIDDEN = {
    "agent": ["/manager/dashboards/", "/manager/surveys", "/manager/improvements", "/admin/users"],
    "manager": ["/manager/surveys", "/manager/campaigns", "/admin/audit", "/admin/tokens"],
    "hq": ["/admin/users", "/admin/tokens", "/admin/branches", "/admin/products"],
    "admin": ["/staff/complaints", "/staff/customers", "/manager/dashboards/"],
}


@pytest.mark.parametrize("username", sorted(FORBIDDEN))
def test_pages_outside_the_menu_are_refused(live_server, page, username):
    sign_in(page, live_server, username)
    offered = page.locator("nav.mainnav a").evaluate_all("links => links.map(a => a.pathname)")
    for path in FORBIDDEN[username]:
        assert path not in offered
        response = page.goto(live_server + path)
        assert response.status == 403, (username, path, response.status)
        assert "没有权限" in page.content()
    screenshot(page, f"forbidden-{username}")


def test_anonymous_visitor_is_sent_to_sign_in(live_server, page):
    page.goto(live_server + "/staff/complaints")
    assert "/login" in page.url and page.locator("input[name=password]").count() == 1


@pytest.mark.parametrize("username", ["agent", "hq", "admin"])
def test_every_menu_page_keeps_a_phone_s_width(live_server, browser, username):
    """On a 390 px phone no page of the menu scrolls sideways as a whole: a wide table scrolls
    in its own box (the follow-ups, answers, outbox, campaigns and trigger-rule pages were up
    to 1,117 px wide, the menu and headings sliding with them)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server, username)
    hrefs = page.locator("nav.mainnav a").evaluate_all("links => links.map(a => a.href)")
    heights = page.locator("nav.mainnav a").evaluate_all(
        "links => links.map(a => a.getBoundingClientRect().height)"
    )
    assert max(heights) < 50, heights  # one line each: "员工账号", not "员工" over "账号"
    if username == "hq":  # the survey section's tabs, whose tables are the widest
        hrefs += [live_server + p for p in ("/manager/triggers", "/manager/outbox")]
    wide = {}
    for href in hrefs:
        page.goto(href)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            wide[href] = width
    assert not wide
    context.close()


def test_on_a_phone_a_queue_card_opens_where_it_is_tapped_and_controls_are_44_px(
    live_server, browser
):
    """A queue's card opened only on its link (the customer's name, 21 x 20 px; a case's
    number, 16 px high), the menu was 37 px high and 退出 21: the card opens wherever it is
    tapped and every control is at least 44 px high."""
    with on_phone(browser, 360, 740) as page:
        sign_in(page, live_server, "agent")
        for path in ("/staff/followups", "/staff/complaints"):
            page.goto(live_server + path)
            card = page.locator("tr.cp-row, table.cards-on-phone tbody tr").first
            card.scroll_into_view_if_needed()
            box = card.bounding_box()
            page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.6)
            page.wait_for_url(re.compile(re.escape(f"{live_server}{path}/") + r"\d+$"))
        heights = page.evaluate(
            """() => Array.from(document.querySelectorAll('.mainnav a, .who .link'))
                 .map(e => e.getBoundingClientRect().height)"""
        )
        assert heights and min(heights) >= 44, heights
        # the 工作台's figures two a row (one a row took six figures a screen and a half)
        page.goto(live_server + "/staff/")
        tops = page.evaluate(
            "() => Array.from(document.querySelectorAll('.kpi'))"
            ".map(e => e.getBoundingClientRect().top)"
        )
        assert len(tops) >= 4 and tops[0] == tops[1] and tops[2] == tops[3] and tops[2] > tops[0]
