"""Frozen dataclasses describing a questionnaire: questions, options, conditions, definitions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

OTHER_SUFFIX = "__other"


class QuestionType(StrEnum):
    RATING = "rating"
    NPS = "nps"
    CES = "ces"
    SINGLE = "single"
    MULTIPLE = "multiple"
    TEXT = "text"
    MATRIX = "matrix"


class Metric(StrEnum):
    CSAT = "csat"
    NPS = "nps"
    CES = "ces"


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    ANSWERED = "answered"


SCALE_TYPES = frozenset({QuestionType.RATING, QuestionType.NPS, QuestionType.CES})
CHOICE_TYPES = frozenset({QuestionType.SINGLE, QuestionType.MULTIPLE})
METRIC_TYPES = {
    Metric.CSAT: QuestionType.RATING,
    Metric.NPS: QuestionType.NPS,
    Metric.CES: QuestionType.CES,
}

# Point labels shown to customers; points without a label show only the number.
SCALE_LABELS: dict[QuestionType, dict[int, str]] = {
    QuestionType.RATING: {1: "非常不满意", 2: "不满意", 3: "一般", 4: "满意", 5: "非常满意"},
    QuestionType.NPS: {0: "完全不可能", 5: "不确定", 10: "非常愿意"},
    QuestionType.CES: {
        1: "非常不同意",
        2: "不同意",
        3: "比较不同意",
        4: "一般",
        5: "比较同意",
        6: "同意",
        7: "非常同意",
    },
}
SCALE_RANGES: dict[QuestionType, tuple[int, int]] = {
    QuestionType.RATING: (1, 5),
    QuestionType.NPS: (0, 10),
    QuestionType.CES: (1, 7),
}

DEFAULT_TEXT_MAX_LENGTH = 500
DEFAULT_OTHER_MAX_LENGTH = 200


def other_key(question_id: str) -> str:
    """Key under which an answer set holds the "other, please specify" text of a question."""
    return question_id + OTHER_SUFFIX


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str
    other: bool = False
    exclusive: bool = False
    # choosing it reports a problem the bank must call about (搭售, 问题未解决): the response
    # gets a follow-up task whatever its scores
    follow_up: bool = False
    # choosing it declines a call ("不同意再次电话联系"): the response gets no follow-up task,
    # whatever its scores or reported problems
    no_call: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"value": self.value, "label": self.label}
        if self.other:
            data["other"] = True
        if self.exclusive:
            data["exclusive"] = True
        if self.follow_up:
            data["follow_up"] = True
        if self.no_call:
            data["no_call"] = True
        return data


@dataclass(frozen=True, slots=True)
class MatrixItem:
    id: str
    label: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label}


@dataclass(frozen=True, slots=True)
class Condition:
    """A comparison on an earlier answer; `value` is a tuple for in/not_in, a bool for answered."""

    question: str
    op: Op
    value: Any = None
    item: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"question": self.question}
        if self.item is not None:
            data["item"] = self.item
        data["op"] = str(self.op)
        if self.op is Op.ANSWERED:
            if self.value is False:
                data["value"] = False
        elif isinstance(self.value, tuple):
            data["value"] = list(self.value)
        else:
            data["value"] = self.value
        return data


@dataclass(frozen=True, slots=True)
class ConditionGroup:
    """All (`mode="all"`) or any (`mode="any"`) of the nested conditions must hold."""

    mode: str
    conditions: tuple[Condition | ConditionGroup, ...]

    def to_dict(self) -> dict[str, Any]:
        return {self.mode: [c.to_dict() for c in self.conditions]}

    def references(self) -> tuple[Condition, ...]:
        found: list[Condition] = []
        for cond in self.conditions:
            found.extend(cond.references() if isinstance(cond, ConditionGroup) else [cond])
        return tuple(found)


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    type: QuestionType
    title: str
    required: bool = True
    help: str = ""
    show_if: Condition | ConditionGroup | None = None
    metric: Metric | None = None
    options: tuple[Option, ...] = ()
    min_select: int | None = None
    max_select: int | None = None
    max_length: int = DEFAULT_TEXT_MAX_LENGTH
    other_max_length: int = DEFAULT_OTHER_MAX_LENGTH
    items: tuple[MatrixItem, ...] = ()
    scale: QuestionType | None = None

    @property
    def scale_type(self) -> QuestionType | None:
        """The scale a rating-like question (or each matrix item) is answered on."""
        if self.type in SCALE_TYPES:
            return self.type
        return self.scale if self.type is QuestionType.MATRIX else None

    def scale_points(self) -> tuple[tuple[int, str], ...]:
        """(value, label) for every point of the scale, label "" where none is shown."""
        kind = self.scale_type
        if kind is None:
            return ()
        low, high = SCALE_RANGES[kind]
        labels = SCALE_LABELS[kind]
        return tuple((point, labels.get(point, "")) for point in range(low, high + 1))

    def option(self, value: str) -> Option | None:
        return next((opt for opt in self.options if opt.value == value), None)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": str(self.type), "title": self.title}
        if not self.required:
            data["required"] = False
        if self.help:
            data["help"] = self.help
        if self.metric is not None:
            data["metric"] = str(self.metric)
        if self.show_if is not None:
            data["show_if"] = self.show_if.to_dict()
        data.update(self._type_specific_dict())
        return data

    def _type_specific_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.type in CHOICE_TYPES:
            data["options"] = [opt.to_dict() for opt in self.options]
        if self.other_max_length != DEFAULT_OTHER_MAX_LENGTH:
            data["other_max_length"] = self.other_max_length
        if self.min_select is not None:
            data["min_select"] = self.min_select
        if self.max_select is not None:
            data["max_select"] = self.max_select
        if self.max_length != DEFAULT_TEXT_MAX_LENGTH:
            data["max_length"] = self.max_length
        if self.type is QuestionType.MATRIX:
            data["scale"] = str(self.scale_type)
            data["items"] = [item.to_dict() for item in self.items]
        return data


@dataclass(frozen=True, slots=True)
class SurveyDefinition:
    code: str
    title: str
    questions: tuple[Question, ...]
    description: str = ""
    intro: str = ""
    thank_you: str = ""
    anonymous_allowed: bool = False

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def key_question(self, metric: Metric | str) -> Question | None:
        """The question marked as feeding the given headline metric, if any."""
        wanted = Metric(metric)
        return next((q for q in self.questions if q.metric is wanted), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data; `load_definition(d.to_dict()) == d` always holds."""
        data: dict[str, Any] = {"code": self.code, "title": self.title}
        for name in ("description", "intro", "thank_you"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.anonymous_allowed:
            data["anonymous_allowed"] = True
        data["questions"] = [q.to_dict() for q in self.questions]
        return data


def definition_hash(defn: SurveyDefinition) -> str:
    """SHA-256 (hex) of the canonical JSON of a definition: equal content, equal hash."""
    canonical = json.dumps(
        defn.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
