"""The skip logic in the browser (survey.js) shows exactly the questions the server requires.

An audit found three definitions the editor accepts on which the two disagreed, so the page said
必答题已全部完成 while the server refused two questions the browser kept hidden: the customer
could never submit. Each case below sets answers in the page (the designer's preview, the same
template and script as the customer's page), reads the questions the browser shows, and compares
them with what the server computes from the very form the browser would send.
"""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from surveys import load_definition
from surveys.forms import answers_from_form
from surveys.validation import visible_questions
from tests.e2e.conftest import new_survey_draft, screenshot

pytestmark = pytest.mark.e2e

DEFINITION = """\
code: skip-parity
questions:
  - {id: q1, type: rating, metric: csat, title: 总体而言，您对本次服务是否满意？}
  - id: q2
    type: text
    required: false
    title: 如不满意，请简述原因
    show_if: {question: q1, op: lte, value: 2}
  - id: q3
    type: single
    title: 您没有留下原因，是否方便我们致电了解？
    show_if: {question: q2, op: answered, value: false}
    options: [{value: "yes", label: 方便}, {value: "no", label: 不方便}]
  - id: q4
    type: matrix
    scale: rating
    required: false
    title: 请评价以下方面（选填）
    items: [{id: speed, label: 办理速度}, {id: attitude, label: 服务态度}]
  - id: q5
    type: text
    title: 感谢您的评价，请说说评价的理由
    show_if: {question: q4, op: answered}
  - {id: why, type: text, required: false, title: 还有什么想告诉我们的？}
  - id: call
    type: single
    title: 您没有填写意见，是否愿意参加电话回访？
    show_if: {question: why, op: answered, value: false}
    options: [{value: "yes", label: 愿意}, {value: "no", label: 不愿意}]
"""

SHOWN = """Array.from(document.querySelectorAll('.sv-form .sv-q'))
  .filter(q => !q.classList.contains('sv-hidden')).map(q => q.id.slice(2))"""
FORM = "Array.from(new FormData(document.querySelector('.sv-form')).entries())"


def _tap(page, name: str, value: str) -> None:
    page.click(f"label:has(input[name='{name}'][value='{value}'])")


def _type(page, question: str, text: str) -> None:
    page.locator(f"#q-{question} textarea").fill(text)


def _draft_preview(page, base: str, code: str) -> str:
    """HQ saves the definition as a new survey's draft; returns its preview's address."""
    new_survey_draft(page, base, code)
    page.get_by_role("tab", name="YAML 源码").click()  # (the form is the default view)
    page.fill("#definition", DEFINITION.replace("skip-parity", code))
    page.get_by_role("button", name="保存草稿").first.click()
    page.wait_for_load_state("domcontentloaded")
    assert "草稿已保存" in page.inner_text(".flash")
    return page.url.rstrip("/") + "/preview"


def test_the_browser_shows_exactly_the_questions_the_server_requires(live_server, page):
    defn = load_definition(DEFINITION + "title: 跳转逻辑一致性\n")  # (the page has its own field)
    preview = _draft_preview(page, live_server, "skip-parity")

    def compare(case: str) -> list[str]:
        shown = page.evaluate(SHOWN)
        form = MultiDict([(k, v) for k, v in page.evaluate(FORM) if k.startswith("q_")])
        server = [q.id for q in visible_questions(defn, answers_from_form(defn, form))]
        assert shown == server, case
        return shown

    cases = [
        # a condition on a hidden question: the server reads it as unanswered
        ("q1 5, one matrix row", [("tap", "q_q1", "5"), ("tap", "q_q4__speed", "3")]),
        # free text of spaces only is no answer on either side
        ("q1 1, blanks", [("tap", "q_q1", "1"), ("type", "q2", "   "), ("type", "why", "  ")]),
        ("zero-width text", [("tap", "q_q1", "2"), ("type", "why", "\u200b\u200b")]),
        ("real text", [("tap", "q_q1", "1"), ("type", "q2", "排队太久"), ("type", "why", "无")]),
    ]
    for case, steps in cases:
        page.goto(preview)
        compare(case + " (before)")
        for kind, target, value in steps:
            _tap(page, target, value) if kind == "tap" else _type(page, target, value)
            compare(f"{case}: after {target}")
    assert compare("last") == ["q1", "q2", "q4", "why"]

    # the first case submitted as a customer would: every shown required question answered,
    # and the server accepts it (before, it refused q3 and q5, which the browser kept hidden)
    page.goto(preview)
    _tap(page, "q_q1", "5")
    _tap(page, "q_q4__speed", "3")
    assert compare("submit") == ["q1", "q3", "q4", "q5", "why", "call"]
    _tap(page, "q_q3", "no")
    _type(page, "q5", "办理很快")
    _tap(page, "q_call", "no")
    assert "必答题已全部完成" in page.inner_text("#sv-count")
    page.click(".sv-form button[type=submit]")
    page.wait_for_load_state("domcontentloaded")
    assert "预览提交通过校验" in page.inner_text(".flash")
    screenshot(page, "survey-skip-parity")


def test_a_question_the_server_refused_is_never_hidden_by_the_browser(live_server, page):
    """A safety net for any disagreement left: after a refused submission, a question the
    server named stays on the page, so the customer can answer it."""
    page.goto(_draft_preview(page, live_server, "skip-refused"))
    _tap(page, "q_q1", "5")
    page.evaluate("document.getElementById('q-q3').classList.add('sv-hidden')")
    page.click(".sv-form button[type=submit]")  # the server asks for q3, q5's condition aside
    page.wait_for_load_state("domcontentloaded")
    assert page.locator("#q-q3.sv-has-error").count() == 1
    page.evaluate(
        "document.getElementById('q-q3').setAttribute('data-show-if', "
        "JSON.stringify({question: 'q1', op: 'lte', value: 2}))"
    )
    _tap(page, "q_q1", "4")  # a change re-runs the rules: q3's (now false) is overruled
    assert page.locator("#q-q3").is_visible()
    # ... and says that what is typed there now is not kept (the server drops it: a customer
    # typed into such a question and lost the text without a word)
    note = page.locator("#q-q3 .sv-not-needed-msg")
    assert note.is_visible() and "不会保存" in note.inner_text()
    assert _counted(page) == page.locator(".sv-q:visible:not(.sv-not-needed)").count()
    assert page.locator("#q-q3.sv-not-needed").count() == 1  # (shown, but not counted)
    _tap(page, "q_q1", "2")  # the rule holds again: the question is needed, the note goes
    assert page.locator("#q-q3").is_visible() and note.count() == 0
    assert _counted(page) == page.locator(".sv-q:visible").count()


def _counted(page) -> int:
    """The questions the progress line beside the submit button counts ("已答 2 / 7 题")."""
    return int(page.inner_text("#sv-count").split("/ ")[1].split(" ")[0])


def test_a_choice_on_an_optional_question_can_be_taken_back(live_server, page):
    """An optional matrix row (未接触过的可以不选) tapped by mistake could not be cleared: the
    bank got a score for a service the customer never used."""
    page.goto(_draft_preview(page, live_server, "skip-clear"))
    button = page.locator("button.sv-clear[data-clear='q_q4__speed']")
    assert not button.is_visible()
    assert page.locator("button.sv-clear[data-clear='q_q1']").count() == 0  # required: none
    _tap(page, "q_q4__speed", "3")
    assert button.is_visible() and page.locator("#q-q5").is_visible()
    button.click()
    assert page.locator("input[name='q_q4__speed']:checked").count() == 0
    assert not button.is_visible() and not page.locator("#q-q5").is_visible()
    assert "已答 0 /" in page.inner_text("#sv-count")
