"""HQ designs a questionnaire in headless Chromium: snippets, Tab, confirmations."""

from __future__ import annotations

import pytest

from surveys.snippets import SNIPPETS
from tests.e2e.conftest import new_survey_draft, screenshot

pytestmark = pytest.mark.e2e


def test_staff_insert_every_question_type_and_publish_after_confirming(live_server, page):
    new_survey_draft(page, live_server, "cc-designer", "credit-card")
    page.get_by_role("tab", name="YAML 源码").click()  # (the form is the default view)
    box = page.locator("#definition")
    assert "monospace" in box.evaluate("el => getComputedStyle(el).fontFamily")

    for snippet in [*SNIPPETS, SNIPPETS[0]]:
        page.get_by_role("button", name=snippet.label, exact=True).click()
    page.keyboard.type("您最常用哪个渠道？")  # the new title is selected, typed over
    text = box.input_value()
    assert "- id: choice\n" in text and "- id: choice_2\n" in text  # fresh ids
    assert "- id: aspects_2\n" in text  # the template has its own "aspects"
    assert "    title: 您最常用哪个渠道？\n" in text
    assert "__ID__" not in text
    box.press("Control+End")
    box.press("Enter")
    box.press("Tab")
    assert box.input_value().endswith("\n  ")
    box.press("Shift+Tab")
    assert box.input_value().endswith("\n")

    messages: list[str] = []

    def answer(dialog, accept):
        messages.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.get_by_role("button", name="发布第 1 版…").click()
    assert messages[-1].startswith("您有尚未保存的修改")  # publishing uses the saved draft

    page.get_by_role("button", name="保存草稿").first.click()
    page.wait_for_load_state("domcontentloaded")
    assert "草稿已保存" in page.inner_text(".flash")
    screenshot(page, "survey-designer")

    page.once("dialog", lambda d: answer(d, False))
    page.get_by_role("button", name="发布第 1 版…").click()
    assert messages[-1].startswith("确定发布第 1 版吗？")
    assert page.locator(".tag").first.inner_text() == "草稿"  # declined: nothing happened

    page.once("dialog", lambda d: answer(d, True))
    page.get_by_role("button", name="发布第 1 版…").click()
    page.wait_for_load_state("domcontentloaded")
    assert "已发布第 1 版" in page.inner_text(".flash")
    assert page.locator("text=第 1 版").count() >= 1
