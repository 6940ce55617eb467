"""The shipped template library: every template loads and accepts a plausible answer set."""

from pathlib import Path
from typing import Any

import pytest

from surveys import Question, QuestionType, load_definition, score_response, validate
from surveys.templates import list_templates, load_template, template_codes

EXPECTED = {
    "branch-service",
    "loan-followup",
    "credit-card",
    "mobile-banking",
    "complaint-resolution",
}


def plausible(question: Question, unhappy: bool) -> Any:
    """An answer a customer could give: a low score when unhappy, a high one otherwise."""
    if question.type is QuestionType.MATRIX:
        return {item.id: (2 if unhappy else 4) for item in question.items}
    if question.scale_type is not None:
        points = [value for value, _ in question.scale_points()]
        return points[1] if unhappy else points[-1]
    if question.type is QuestionType.SINGLE:
        return question.options[-1].value if unhappy else question.options[0].value
    if question.type is QuestionType.MULTIPLE:
        return [question.options[0].value, question.options[-1].value][: question.max_select]
    return "办理时间太长，希望改进" if unhappy else "服务很好"


def answer_all(code: str, unhappy: bool) -> dict[str, Any]:
    defn = load_template(code)
    answers: dict[str, Any] = {}
    for question in defn.questions:
        answers[question.id] = plausible(question, unhappy)
        if any(opt.other for opt in question.options):
            answers[question.id + "__other"] = "其他原因"
    return answers


def test_library_has_the_five_templates():
    assert set(template_codes()) == EXPECTED
    assert {t.code for t in list_templates()} == EXPECTED


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_template_shape(code):
    defn = load_template(code)
    assert defn.code == code
    assert 5 <= len(defn.questions) <= 10
    assert defn.key_question("csat") or defn.key_question("nps")
    assert any(q.type is QuestionType.TEXT for q in defn.questions)
    assert any(q.show_if is not None for q in defn.questions)
    assert defn.title and defn.intro and defn.thank_you
    assert load_definition(defn.to_dict()) == defn


@pytest.mark.parametrize("code", sorted(EXPECTED))
@pytest.mark.parametrize("unhappy", [False, True])
def test_template_accepts_a_plausible_full_answer_set(code, unhappy):
    defn = load_template(code)
    result = validate(defn, answer_all(code, unhappy))
    assert result.ok, result.errors
    scores = score_response(defn, result.cleaned)
    assert scores.csat is not None or scores.nps is not None


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_low_scores_reveal_follow_up_questions(code):
    defn = load_template(code)
    happy = set(validate(defn, answer_all(code, False)).visible)
    unhappy = set(validate(defn, answer_all(code, True)).visible)
    assert unhappy > happy


def test_unknown_template():
    with pytest.raises(KeyError):
        load_template("../schema")


def test_template_files_are_named_after_their_code():
    folder = Path(__file__).resolve().parents[3] / "surveys" / "templates"
    for path in folder.glob("*.yaml"):
        assert load_definition(path.read_text(encoding="utf-8")).code == path.stem
