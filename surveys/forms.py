"""Parsing an HTML form submission (no JavaScript needed) into raw answers.

Field naming scheme the app's templates follow (question and item ids never contain "__", so the
names cannot collide):

* `q_<id>`              rating / nps / ces / single (radio), text (textarea); multiple: one
                        checkbox per option, all named `q_<id>`, value = option value
* `q_<id>__other`       the "other, please specify" text of a single or multiple choice question
* `q_<id>__<item_id>`   one radio group per matrix item
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from surveys.model import OTHER_SUFFIX, Question, QuestionType, SurveyDefinition, other_key

FIELD_PREFIX = "q_"


class MultiValueForm(Protocol):
    def getlist(self, key: str) -> list[Any]: ...


def field_name(question_id: str, part: str | None = None) -> str:
    """Form field name for a question, or for its matrix item / "other" text (`part`)."""
    return (
        f"{FIELD_PREFIX}{question_id}" if part is None else f"{FIELD_PREFIX}{question_id}__{part}"
    )


def other_field_name(question_id: str) -> str:
    return FIELD_PREFIX + question_id + OTHER_SUFFIX


def answers_from_form(
    defn: SurveyDefinition, form: MultiValueForm | Mapping[str, Any]
) -> dict[str, Any]:
    """Raw answers from a werkzeug-style MultiDict (anything with `.getlist`) or a plain dict
    whose values are strings or lists of strings. Feed the result to `validate`."""
    answers: dict[str, Any] = {}
    for question in defn.questions:
        value = _question_value(question, form)
        if value is not None:
            answers[question.id] = value
        if any(opt.other for opt in question.options):
            other = _first(form, other_field_name(question.id))
            if other is not None:
                answers[other_key(question.id)] = other
    return answers


def _question_value(question: Question, form: MultiValueForm | Mapping[str, Any]) -> Any:
    if question.type is QuestionType.MULTIPLE:
        chosen = [v for v in _getlist(form, field_name(question.id)) if v != ""]
        return chosen or None
    if question.type is QuestionType.MATRIX:
        cells = {item.id: _first(form, field_name(question.id, item.id)) for item in question.items}
        present = {key: value for key, value in cells.items() if value not in (None, "")}
        return present or None
    return _first(form, field_name(question.id))


def _getlist(form: MultiValueForm | Mapping[str, Any], key: str) -> list[Any]:
    getlist = getattr(form, "getlist", None)
    if callable(getlist):
        return list(getlist(key))
    value = form.get(key) if isinstance(form, Mapping) else None
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _first(form: MultiValueForm | Mapping[str, Any], key: str) -> Any:
    values = _getlist(form, key)
    return values[0] if values else None
