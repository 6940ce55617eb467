"""HQ designs questions in the form-based designer, in headless Chromium: no YAML typed, the
condition follows a renamed question, the saved draft is what the customer's page asks, and a
fault is shown on its question."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.e2e.conftest import new_survey_draft, screenshot
from tests.e2e.test_accessibility import RULES

pytestmark = pytest.mark.e2e


def card(page, n: int):
    return page.locator("#sb-builder .sb-q").nth(n - 1)


def test_hq_adds_a_question_with_options_and_a_condition_without_writing_yaml(live_server, page):
    new_survey_draft(page, live_server, "fd-e2e")
    assert page.get_by_role("tab", name="表单编辑").get_attribute("aria-selected") == "true"
    assert page.locator("#definition").is_hidden()  # the form is the default view
    count = page.locator("#sb-builder .sb-q").count()
    assert count == 7

    # a single-choice question: its example title is selected, typed over
    page.locator(".sb-add").get_by_role("button", name="单选", exact=True).click()
    page.keyboard.type("您是通过什么渠道预约的？")
    single = card(page, count + 1)
    single.get_by_label("选项 1 的文字").fill("手机银行")
    single.get_by_label("选项 2 的文字").fill("电话银行")
    single.get_by_label("选项 2 的选项值").fill("phone")
    single.get_by_role("button", name="删除选项 3").click()
    assert single.get_by_label("选项 3 的文字").count() == 0
    # choosing 电话银行 is to bring a call-back (a reported problem, whatever the scores)
    single.get_by_label("选项 2 选中即安排回访").check()

    # a text question shown only to those who booked by phone
    page.locator(".sb-add").get_by_role("button", name="文本", exact=False).click()
    page.keyboard.type("电话预约时遇到了什么问题？")
    follow = card(page, count + 2)
    follow.get_by_role("button", name="添加显示条件").click()
    target = follow.get_by_label("条件 1 引用的题目")
    target.select_option(label="第 8 题：您是通过什么渠道预约的？")
    follow.get_by_label("条件 1 的比较方式").select_option(label="选了")
    follow.get_by_label("条件 1 的取值").select_option(label="电话银行")

    # renaming the question's id renames it in the condition too
    id_box = single.get_by_label("题目编号")
    id_box.fill("booking")
    id_box.press("Tab")
    assert "同步修改" in page.locator(".sb-note").inner_text()
    # (the form redraws just after the note: wait for it rather than read at once)
    expect(follow.get_by_label("条件 1 引用的题目")).to_have_value("booking")
    expect(follow.get_by_label("条件 1 的取值")).to_have_value("phone")

    page.get_by_role("button", name="保存草稿").first.click()
    page.wait_for_load_state("domcontentloaded")
    assert "草稿已保存" in page.inner_text(".flash")
    assert page.locator("#sb-builder .sb-q").count() == count + 2  # the form again
    screenshot(page, "survey-form-designer")
    found = Axe().run(page, options=RULES).response["violations"]
    assert [v["id"] for v in found] == []

    page.get_by_role("tab", name="YAML 源码").click()
    text = page.locator("#definition")
    text.wait_for(state="visible")
    yaml = text.input_value()
    assert "  - id: booking\n    type: single\n    title: 您是通过什么渠道预约的？\n" in yaml
    assert "      - {value: phone, label: 电话银行, follow_up: true}\n" in yaml
    assert "    show_if: {question: booking, op: eq, value: phone}\n" in yaml

    # the customer's page asks the new questions, the follow-up only after "电话银行"
    page.goto(page.url.rstrip("/") + "/preview")
    booking = page.locator(".sv-q:has-text('您是通过什么渠道预约的？')")
    problem = page.locator(".sv-q:has-text('电话预约时遇到了什么问题？')")
    assert booking.is_visible() and problem.is_hidden()
    booking.get_by_text("电话银行").click()
    assert problem.is_visible()


def test_a_fault_is_shown_on_its_question_and_the_form_keeps_what_was_typed(live_server, page):
    new_survey_draft(page, live_server, "fd-e2e-fault")
    card(page, 2).get_by_label("题目", exact=True).fill("")
    card(page, 3).get_by_label("题目", exact=True).fill("今天等了多久？（改过的）")
    page.get_by_role("button", name="保存草稿").first.click()
    page.wait_for_load_state("domcontentloaded")
    problems = page.locator("#definition-error")
    assert "第 2 题（nps）：题目文字（title）未填写" in problems.inner_text()
    assert problems.get_by_role("button", name="定位到第 2 题").is_visible()
    assert problems.locator("[data-goto-line]").first.is_hidden()  # lines are the YAML view's
    assert card(page, 2).locator(".sb-q-errors").inner_text().startswith("第 2 题")
    kept = card(page, 3).get_by_label("题目", exact=True).input_value()
    assert kept == "今天等了多久？（改过的）"
    problems.get_by_role("button", name="定位到第 2 题").click()
    assert page.evaluate("document.activeElement.closest('.sb-q').id") == "sb-q-1"
    found = Axe().run(page, options=RULES).response["violations"]
    assert [v["id"] for v in found] == []


def test_after_a_refused_yaml_save_the_form_shows_the_refused_text_not_the_saved_draft(
    live_server, page
):
    new_survey_draft(page, live_server, "fd-e2e-yaml")
    page.get_by_role("tab", name="YAML 源码").click()
    box = page.locator("#definition")
    text = box.input_value()
    edited = text.replace("    title: 总体而言", "    title: 改在 YAML 里的题目，总体而言", 1)
    edited = edited.replace("  - id: nps\n", "  - id: overall\n", 1)  # a duplicate id: refused
    box.fill(edited)
    page.get_by_role("button", name="保存草稿").first.click()
    page.wait_for_load_state("domcontentloaded")
    assert "重复" in page.locator("#definition-error").inner_text()
    assert page.locator("#definition").is_visible()  # refused from the YAML view: shown there
    page.get_by_role("tab", name="表单编辑").click()
    first = card(page, 1).get_by_label("题目", exact=True)
    # (the form reads the box through the server: wait for it rather than read at once)
    expect(first).to_have_value(re.compile("^改在 YAML 里的题目"))
    expect(card(page, 2).get_by_label("题目编号")).to_have_value("overall")


def test_nothing_is_lost_by_the_form_a_type_picked_by_mistake_enter_or_an_untouched_save(
    live_server, page
):
    new_survey_draft(page, live_server, "fd-e2e-keep")
    page.get_by_role("tab", name="YAML 源码").click()
    box = page.locator("#definition")
    box.fill("# 网点问卷：由服务质量部维护\n" + box.input_value())
    page.get_by_role("button", name="保存草稿").first.click()
    page.wait_for_load_state("domcontentloaded")

    page.get_by_role("tab", name="表单编辑").click()
    wait = card(page, 3)
    first_option = wait.get_by_label("选项 1 的文字").input_value()
    wait.get_by_label("题型").select_option("text")  # by mistake ...
    assert "原来的选项已暂存" in page.locator(".sb-note").inner_text()
    wait.get_by_label("题型").select_option("single")  # ... and back: the options come back
    assert wait.get_by_label("选项 1 的文字").input_value() == first_option

    page.evaluate("window.notReloaded = true")
    wait.get_by_label("题目", exact=True).press("Enter")  # ends the edit, saves nothing
    page.wait_for_timeout(300)
    assert page.evaluate("window.notReloaded === true")

    page.fill(
        "#title", "网点服务调查（第二季度）"
    )  # only the title changes: the YAML stays as written
    page.get_by_role("button", name="保存草稿").first.click()
    page.wait_for_load_state("domcontentloaded")
    assert "草稿已保存" in page.inner_text(".flash")
    page.get_by_role("tab", name="YAML 源码").click()
    assert page.locator("#definition").input_value().startswith("# 网点问卷：由服务质量部维护\n")


def test_a_published_question_s_fixed_type_is_reached_by_tab_and_says_why(live_server, page):
    """Revising a published survey, a question's type is fixed; the control was ``disabled``,
    which keyboard and screen-reader users never reach, so they never heard why."""
    new_survey_draft(page, live_server, "fd-e2e-locked")
    # (a title of its own: other tests pick the template's survey by its title)
    page.fill("#title", "修订测试问卷")
    page.get_by_role("button", name="保存草稿").first.click()
    page.wait_for_load_state("domcontentloaded")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="发布第 1 版…").click()
    page.wait_for_load_state("domcontentloaded")
    page.get_by_role("button", name="修订（新版本）").click()
    page.wait_for_load_state("domcontentloaded")

    first = card(page, 1)
    fixed = first.get_by_label("题型")
    assert fixed.get_attribute("aria-disabled") == "true"
    assert fixed.evaluate("select => select.disabled") is False  # (so it is in the Tab order)
    assert fixed.locator("option").count() == 1  # nothing else to pick
    first.get_by_label("题目", exact=True).focus()
    for _ in range(8):
        if page.evaluate("document.activeElement.getAttribute('aria-disabled')") == "true":
            break
        page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('aria-describedby')")
    assert focused, "Tab reaches the fixed type"
    assert "不能改题型" in page.locator("#" + focused).inner_text()

    # its published option values stay too (answers are filed under them); the text may change
    options = card(page, 3)
    value = options.get_by_label("选项 1 的选项值")
    assert value.get_attribute("readonly") is not None
    assert "已有答卷按它汇总" in options.locator(".sb-table + .hint").first.inner_text()
    options.get_by_label("选项 1 的文字").fill("十分钟以内")
    options.get_by_role("button", name="添加选项").click()
    added = options.locator(".sb-table tbody tr").last.locator("input.mono")
    assert added.get_attribute("readonly") is None  # a new option's value is the designer's
    options.scroll_into_view_if_needed()
    options.screenshot(path=str(screenshot(page, "survey-form-designer-revision")))
    found = Axe().run(page, options=RULES).response["violations"]
    assert found == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in found]


def test_preview_shows_the_unsaved_changes_in_a_new_window(live_server, page):
    new_survey_draft(page, live_server, "fd-e2e-preview")
    card(page, 1).get_by_label("题目", exact=True).fill("还没保存的第一题")
    with page.expect_popup() as opened:
        page.get_by_role("link", name="预览（客户所见）").click()
    preview = opened.value
    preview.wait_for_load_state("domcontentloaded")
    assert "尚未保存的修改" in preview.locator(".sv-preview-banner").inner_text()
    assert "还没保存的第一题" in preview.locator(".sv-q").first.inner_text()
    preview.click("button.sv-submit")  # a test submission: checked against the same draft
    preview.wait_for_load_state("domcontentloaded")
    assert preview.locator("#sv-errors").is_visible()
    assert "还没保存的第一题" in preview.locator(".sv-q").first.inner_text()
    preview.close()

    # the edit page kept its edit, and still knows it is unsaved
    assert card(page, 1).get_by_label("题目", exact=True).input_value() == "还没保存的第一题"
    asked = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="发布第 1 版…").click()
    page.wait_for_timeout(300)
    assert asked and "尚未保存的修改" in asked[0]


def test_ctrl_z_undoes_a_deleted_question_and_a_changed_title_after_the_form_redraws(
    live_server, page
):
    """The UI review: every redraw replaced the fields and with them the browser's undo; a
    question deleted by mistake was gone. 撤销/重做 and Ctrl+Z/Ctrl+Y step through the draft."""
    new_survey_draft(page, live_server, "fd-undo")
    count = page.locator("#sb-builder .sb-q").count()
    undo = page.locator(".sb-add").get_by_role("button", name="撤销上一步修改（Ctrl+Z）")
    expect(undo).to_be_disabled()  # nothing to undo yet
    first_title = card(page, 1).get_by_label("题目", exact=True)
    original = first_title.input_value()

    # a changed title, committed by leaving the field (the form redraws)
    first_title.fill("改过的标题")
    first_title.press("Tab")
    expect(card(page, 1).get_by_label("题目", exact=True)).to_have_value("改过的标题")
    # a deleted question
    page.once("dialog", lambda dialog: dialog.accept())
    card(page, 2).get_by_role("button", name="删除第 2 题").click()
    expect(page.locator("#sb-builder .sb-q")).to_have_count(count - 1)

    page.locator("#sb-builder").press("Control+z")  # (focus is in the form, not in a field)
    expect(page.locator("#sb-builder .sb-q")).to_have_count(count)
    assert "已撤销" in page.locator(".sb-note").inner_text()
    undo.click()
    expect(card(page, 1).get_by_label("题目", exact=True)).to_have_value(original)
    expect(undo).to_be_disabled()
    page.locator(".sb-add").get_by_role("button", name="重做（Ctrl+Y）").click()
    expect(card(page, 1).get_by_label("题目", exact=True)).to_have_value("改过的标题")
    page.locator("#sb-builder").press("Control+y")
    expect(page.locator("#sb-builder .sb-q")).to_have_count(count - 1)

    # typing in a field: Ctrl+Z is the browser's own, undoing the typing first
    title = card(page, 1).get_by_label("题目", exact=True)
    title.click()
    title.press("End")
    title.type("吗")
    title.press("Control+z")
    expect(page.locator("#sb-builder .sb-q")).to_have_count(count - 1)  # not our undo
    assert "吗" not in title.input_value()
    # typed and undone at once with the button: 重做 brings the typing back (it was lost)
    before = title.input_value()
    title.click()
    title.press("End")
    title.type("（改）")
    undo.click()
    expect(card(page, 1).get_by_label("题目", exact=True)).to_have_value(before)
    page.locator(".sb-add").get_by_role("button", name="重做（Ctrl+Y）").click()
    expect(card(page, 1).get_by_label("题目", exact=True)).to_have_value(before + "（改）")
