"""Validating a whole submission against a definition, with skip logic applied in order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from surveys.answers import MSG_REQUIRED, clean_answer
from surveys.conditions import evaluate
from surveys.model import Question, SurveyDefinition, other_key


@dataclass(frozen=True)
class ValidationResult:
    """Per-question Chinese `errors`, the `cleaned` answers and the ids of `visible` questions."""

    errors: dict[str, str] = field(default_factory=dict)
    cleaned: dict[str, Any] = field(default_factory=dict)
    visible: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


def validate(defn: SurveyDefinition, answers: Mapping[str, Any]) -> ValidationResult:
    """Check a whole submission; never raises for odd answer values (only for a non-mapping).

    Questions are walked in order; a question is visible when its `show_if` holds for the cleaned
    answers to earlier visible questions. Hidden questions are never required and their values are
    dropped, as are unknown keys. `cleaned` holds ints for scales, a list for multiple choice (in
    option order), a dict item -> int for matrices, stripped text, and `<id>__other` texts.
    """
    if not isinstance(answers, Mapping):
        raise TypeError("answers must be a mapping of question id to answer")
    visible: list[str] = []
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for question in defn.questions:
        if question.show_if is not None and not evaluate(question.show_if, cleaned):
            continue
        visible.append(question.id)
        result = clean_answer(
            question, answers.get(question.id), answers.get(other_key(question.id))
        )
        if result.error is not None:
            errors[question.id] = result.error
        elif result.value is None:
            if question.required:
                errors[question.id] = MSG_REQUIRED
        else:
            cleaned[question.id] = result.value
            if result.other is not None:
                cleaned[other_key(question.id)] = result.other
    return ValidationResult(errors=errors, cleaned=cleaned, visible=tuple(visible))


def visible_questions(defn: SurveyDefinition, answers: Mapping[str, Any]) -> tuple[Question, ...]:
    """The questions shown for the answers given so far (invalid answers count as unanswered)."""
    shown = set(validate(defn, answers).visible)
    return tuple(q for q in defn.questions if q.id in shown)


def next_question(defn: SurveyDefinition, answers: Mapping[str, Any]) -> Question | None:
    """The first visible question not yet answered (a key present with a blank value means
    "skipped", which is accepted for optional questions), or None when the survey is complete."""
    result = validate(defn, answers)
    for qid in result.visible:
        if qid in result.errors or (qid not in answers and qid not in result.cleaned):
            return defn.question(qid)
    return None
