"""One export column per question of a survey (per item of a matrix), across all its versions.

Answers point at the version they answered; columns are keyed by question id (and matrix item
id), so an answer to an earlier version lands in the same column as one to the latest. Headers
name the question as the latest version numbers and titles it; a question the latest version no
longer has keeps a column, headed by the last version that had it (e.g. ``第1版 Q5 ...``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import SurveyVersion
from app.services.surveys import definition_of
from nlp import redact
from surveys import Question, QuestionType, SurveyDefinition, other_key

Key = tuple[str, str | None]  # (question id, matrix item id or None)
CHOICE_SEPARATOR = "；"


@dataclass(frozen=True)
class QuestionColumns:
    """The per-question columns of one survey and the definitions of its versions."""

    keys: tuple[Key, ...]
    headers: tuple[str, ...]
    definitions: Mapping[int, SurveyDefinition]  # by version id

    def cells(self, version_id: int, answers: Mapping[str, Any]) -> list[Any]:
        """One value per column for a response to ``version_id``; None where not answered."""
        defn = self.definitions.get(version_id)
        values = _answer_cells(defn, answers) if defn is not None else {}
        return [values.get(key) for key in self.keys]


def question_columns(survey_id: int) -> QuestionColumns:
    """The columns of every question any published version of the survey asked, in the
    latest version's order, then the questions only earlier versions asked (newest first)."""
    versions = list(
        db.session.scalars(
            select(SurveyVersion)
            .where(SurveyVersion.survey_id == survey_id)
            .order_by(SurveyVersion.number.desc())
        )
    )
    definitions = {v.id: definition_of(v) for v in versions}
    groups: dict[str, tuple[str, str, dict[Key, str]]] = {}  # id -> (prefix, title, columns)
    for i, version in enumerate(versions):
        for position, q in enumerate(definitions[version.id].questions, start=1):
            prefix = f"Q{position}" if i == 0 else f"第{version.number}版 Q{position}"
            prefix, title, columns = groups.setdefault(q.id, (prefix, q.title, {}))
            for key, part in _parts(q):
                columns.setdefault(key, f"{prefix} {title}" + (f" - {part}" if part else ""))
    pairs = [pair for _, _, columns in groups.values() for pair in columns.items()]
    return QuestionColumns(
        keys=tuple(key for key, _ in pairs),
        headers=tuple(header for _, header in pairs),
        definitions=definitions,
    )


def _parts(q: Question) -> list[tuple[Key, str]]:
    if q.type is QuestionType.MATRIX:
        return [((q.id, item.id), item.label) for item in q.items]
    return [((q.id, None), "")]


def _answer_cells(defn: SurveyDefinition, answers: Mapping[str, Any]) -> dict[Key, Any]:
    out: dict[Key, Any] = {}
    for q in defn.questions:
        value = answers.get(q.id)
        if value is None or value == "" or value == []:
            continue  # skipped (skip logic) or left blank
        if q.type is QuestionType.MATRIX and isinstance(value, Mapping):
            out.update({(q.id, item): _number(v) for item, v in value.items()})
        elif q.type in (QuestionType.SINGLE, QuestionType.MULTIPLE):
            out[(q.id, None)] = choice_text(q, value, answers.get(other_key(q.id)))
        elif q.type is QuestionType.TEXT:
            out[(q.id, None)] = redact(str(value)).text
        else:
            out[(q.id, None)] = _number(value)
    return out


def choice_text(q: Question, value: Any, other: Any, sep: str = CHOICE_SEPARATOR) -> str:
    """The chosen options' labels joined by ``sep``; the "other" option followed by the
    customer's words in brackets, personal data masked."""
    labels = []
    for chosen in value if isinstance(value, list) else [value]:
        option = q.option(str(chosen))
        label = option.label if option else str(chosen)
        if option and option.other and other:
            label += f"（{redact(str(other)).text}）"
        labels.append(label)
    return sep.join(labels)


def _number(value: Any) -> Any:
    """Scale points as numbers (an answer stored as text, from an older import, too)."""
    if isinstance(value, str) and value.isascii() and value.strip().lstrip("-").isdigit():
        return int(value)
    return value
