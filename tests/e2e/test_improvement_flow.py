"""Browser: link three complaints to a new problem, complete an action, see the chart."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.e2e.conftest import screenshot, sign_in

pytestmark = pytest.mark.e2e


def test_link_three_complaints_complete_an_action_and_see_the_chart(live_server, page):
    sign_in(page, live_server, "hq")
    page.click("nav.mainnav >> text=整改")
    page.wait_for_selector(".im-board")
    screenshot(page, "improvements-board")

    page.click("text=新建问题")
    page.fill("#title", "杭州分行信用卡年费告知不清")
    page.fill("#description", "多名客户反映办卡时未被告知年费规则。")
    page.select_option("#root_cause", "process")
    page.select_option("#branch_code", "HZ")
    page.select_option("#owner_id", label="周总（总行客户体验部）（总分行管理）")
    page.click("button:has-text('立项')")
    page.wait_for_selector("text=已立项，请关联投诉")

    page.click("text=批量关联 / 系统推荐")
    boxes = page.locator("input[name=ids][aria-label^='选择 TS']")
    assert boxes.count() >= 3
    for i in range(3):
        boxes.nth(i).check()
    screenshot(page, "improvements-link-cases")
    page.click("button:has-text('关联所选投诉')")
    page.wait_for_selector("text=已关联 3 条案例")
    assert page.locator(".im-timeline .im-tl-complaint").count() == 3

    page.fill("#action-title", "修订信用卡年费告知话术并全员培训")
    page.fill("#action-due_on", (date.today() + timedelta(days=14)).isoformat())
    page.click("button:has-text('添加措施')")
    page.wait_for_selector("text=已添加整改措施")

    page.fill("#action-title", "年费规则写入办卡须知")
    page.fill("#action-due_on", (date.today() + timedelta(days=30)).isoformat())
    page.click("button:has-text('添加措施')")
    page.wait_for_selector("text=已添加整改措施")

    # each action's evidence field: our Chinese button, opening that action's own input
    action, other = (
        page.locator("article.im-action").first,
        page.locator("article.im-action").nth(1),
    )
    # (办理: the other details of an open action is 修改 / 撤销)
    other.locator("details.im-handle summary").click()
    action.locator("details.im-handle summary").click()
    pick = action.locator(".pc-pick")
    assert pick.is_visible() and pick.inner_text().split() == ["选择文件", "未选择文件"]
    native = action.locator("input[type=file]")  # the browser's own, in its own language
    assert native.evaluate("e => getComputedStyle(e).opacity") == "0"
    with page.expect_file_chooser() as chooser:
        pick.locator(".pc-pick-button").click()
    chooser.value.set_files(
        {"name": "培训签到表.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4\n" * 64}
    )
    assert "已选择：培训签到表.pdf" in pick.inner_text()
    assert "未选择文件" in other.locator(".pc-pick").inner_text()
    action.locator("details.im-handle textarea").fill("已完成全员培训，话术已在客服系统上线。")
    action.locator("button:has-text('完成')").click()
    page.wait_for_selector("text=已完成")
    assert page.locator("article.im-action a:has-text('培训签到表.pdf')").count() == 1
    other = page.locator("article.im-action").nth(1)
    other.locator("details.im-handle summary").click()
    other.locator("details.im-handle textarea").fill("办卡须知已加入年费规则。")
    other.locator("button:has-text('完成')").click()
    page.wait_for_selector("text=已完成")
    assert "已完成" in page.locator("article.im-action .im-status").first.inner_text()

    page.wait_for_selector("#im-chart[data-rendered='1'] .main-svg", timeout=15000)
    bars = page.locator("#im-chart .bars .point")
    assert bars.count() == 6  # before/after for complaints, CSAT and NPS
    assert "观察期尚未结束" in page.locator("#verification").inner_text()
    page.locator("#verification").scroll_into_view_if_needed()
    screenshot(page, "improvements-problem-chart")
