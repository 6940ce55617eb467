"""Schema check: turns YAML/JSON definition data into a SurveyDefinition or a DefinitionError."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from surveys import _read
from surveys.conditions import parse_condition
from surveys.errors import DefinitionError
from surveys.model import (
    CHOICE_TYPES,
    DEFAULT_OTHER_MAX_LENGTH,
    DEFAULT_TEXT_MAX_LENGTH,
    METRIC_TYPES,
    MatrixItem,
    Metric,
    Option,
    Question,
    QuestionType,
    SurveyDefinition,
)

DEFINITION_KEYS = (
    "code",
    "title",
    "description",
    "intro",
    "thank_you",
    "anonymous_allowed",
    "questions",
)
COMMON_KEYS = ("id", "type", "title", "required", "help", "show_if", "metric")
TYPE_KEYS: dict[QuestionType, tuple[str, ...]] = {
    QuestionType.RATING: (),
    QuestionType.NPS: (),
    QuestionType.CES: (),
    QuestionType.SINGLE: ("options", "other_max_length"),
    QuestionType.MULTIPLE: ("options", "other_max_length", "min_select", "max_select"),
    QuestionType.TEXT: ("max_length",),
    QuestionType.MATRIX: ("items", "scale"),
}
MAX_QUESTIONS = 200
MAX_OPTIONS = 100


def load_definition(data: Mapping[str, Any] | str) -> SurveyDefinition:
    """Parse and check a definition given as a mapping or as YAML/JSON text.

    Raises DefinitionError naming the first faulty field,
    e.g. `questions[2].options[1].value: 必填`.
    """
    if isinstance(data, str):
        data = _parse_text(data)
    data = _read.mapping(data, "")
    _read.check_keys(data, DEFINITION_KEYS, "")
    code = _read.identifier(data.get("code"), "code", _read.VALUE_PATTERN)
    questions = _questions(data.get("questions"))
    return SurveyDefinition(
        code=code,
        title=_read.text(data, "title", ""),
        questions=questions,
        description=_read.optional_text(data, "description", ""),
        intro=_read.optional_text(data, "intro", ""),
        thank_you=_read.optional_text(data, "thank_you", ""),
        anonymous_allowed=_read.flag(data, "anonymous_allowed", "", default=False),
    )


def _parse_text(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark is not None else ""
        raise DefinitionError("", f"YAML/JSON 格式错误{where}") from exc


def _questions(raw: Any) -> tuple[Question, ...]:
    if raw is None:
        raise DefinitionError("questions", _read.REQUIRED)
    items = _read.sequence(raw, "questions")
    if len(items) > MAX_QUESTIONS:
        raise DefinitionError("questions", f"最多 {MAX_QUESTIONS} 道题")
    all_ids = frozenset(
        item.get("id")
        for item in items
        if isinstance(item, Mapping) and isinstance(item.get("id"), str)
    )
    earlier: dict[str, Question] = {}
    metrics: dict[Metric, str] = {}
    for index, item in enumerate(items):
        path = _read.join("questions", index)
        question = _question(item, path, earlier, all_ids)
        if question.id in earlier:
            raise DefinitionError(_read.join(path, "id"), f"题目编号“{question.id}”重复")
        if question.metric is not None:
            if question.metric in metrics:
                raise DefinitionError(
                    _read.join(path, "metric"),
                    f"{question.metric} 关键题已由“{metrics[question.metric]}”指定",
                )
            metrics[question.metric] = question.id
        earlier[question.id] = question
    return tuple(earlier.values())


def _question(
    raw: Any, path: str, earlier: Mapping[str, Question], all_ids: frozenset[str]
) -> Question:
    data = _read.mapping(raw, path)
    qid = _read.identifier(data.get("id"), _read.join(path, "id"))
    qtype = _question_type(data, path)
    _read.check_keys(data, COMMON_KEYS + TYPE_KEYS[qtype], path)
    show_if = None
    if data.get("show_if") is not None:
        show_if = parse_condition(data["show_if"], _read.join(path, "show_if"), earlier, all_ids)
    fields: dict[str, Any] = {
        "id": qid,
        "type": qtype,
        "title": _read.text(data, "title", path),
        "required": _read.flag(data, "required", path, default=True),
        "help": _read.optional_text(data, "help", path),
        "show_if": show_if,
        "metric": _metric(data, path, qtype),
    }
    fields.update(_type_fields(data, path, qtype))
    return Question(**fields)


def _question_type(data: Mapping[str, Any], path: str) -> QuestionType:
    raw = data.get("type")
    if raw is None:
        raise DefinitionError(_read.join(path, "type"), _read.REQUIRED)
    try:
        return QuestionType(raw)
    except ValueError:
        allowed = "、".join(t.value for t in QuestionType)
        raise DefinitionError(_read.join(path, "type"), f"只能是 {allowed} 之一") from None


def _metric(data: Mapping[str, Any], path: str, qtype: QuestionType) -> Metric | None:
    raw = data.get("metric")
    if raw is None:
        return None
    mpath = _read.join(path, "metric")
    try:
        metric = Metric(raw)
    except ValueError:
        raise DefinitionError(mpath, "只能是 csat、nps、ces 之一") from None
    if METRIC_TYPES[metric] is not qtype:
        raise DefinitionError(mpath, f"{metric} 关键题必须是 {METRIC_TYPES[metric]} 题型")
    return metric


def _type_fields(data: Mapping[str, Any], path: str, qtype: QuestionType) -> dict[str, Any]:
    if qtype in CHOICE_TYPES:
        options = _options(data.get("options"), _read.join(path, "options"), qtype)
        fields: dict[str, Any] = {
            "options": options,
            "other_max_length": _read.integer(
                data, "other_max_length", path, low=1, high=2000, default=DEFAULT_OTHER_MAX_LENGTH
            ),
        }
        if qtype is QuestionType.MULTIPLE:
            fields.update(_selection_bounds(data, path, len(options)))
        return fields
    if qtype is QuestionType.TEXT:
        limit = _read.integer(
            data, "max_length", path, low=1, high=20000, default=DEFAULT_TEXT_MAX_LENGTH
        )
        return {"max_length": limit}
    if qtype is QuestionType.MATRIX:
        return {"items": _items(data.get("items"), path), "scale": _matrix_scale(data, path)}
    return {}


def _options(raw: Any, path: str, qtype: QuestionType) -> tuple[Option, ...]:
    if raw is None:
        raise DefinitionError(path, _read.REQUIRED)
    items = _read.sequence(raw, path, min_items=2)
    if len(items) > MAX_OPTIONS:
        raise DefinitionError(path, f"最多 {MAX_OPTIONS} 个选项")
    options: list[Option] = []
    for index, item in enumerate(items):
        opath = _read.join(path, index)
        data = _read.mapping(item, opath)
        keys = ("value", "label", "other", "exclusive")
        _read.check_keys(data, keys if qtype is QuestionType.MULTIPLE else keys[:3], opath)
        value = _read.identifier(data.get("value"), _read.join(opath, "value"), _read.VALUE_PATTERN)
        if any(opt.value == value for opt in options):
            raise DefinitionError(_read.join(opath, "value"), f"选项值“{value}”重复")
        other = _read.flag(data, "other", opath, default=False)
        if other and any(opt.other for opt in options):
            raise DefinitionError(_read.join(opath, "other"), "每题最多一个“其他”选项")
        label = _read.text(data, "label", opath)
        exclusive = _read.flag(data, "exclusive", opath, default=False)
        options.append(Option(value=value, label=label, other=other, exclusive=exclusive))
    return tuple(options)


def _selection_bounds(data: Mapping[str, Any], path: str, count: int) -> dict[str, int | None]:
    low = _read.integer(data, "min_select", path, low=1, high=count, default=None)
    high = _read.integer(data, "max_select", path, low=1, high=count, default=None)
    if low is not None and high is not None and low > high:
        raise DefinitionError(_read.join(path, "max_select"), "不能小于 min_select")
    return {"min_select": low, "max_select": high}


def _items(raw: Any, path: str) -> tuple[MatrixItem, ...]:
    ipath = _read.join(path, "items")
    if raw is None:
        raise DefinitionError(ipath, _read.REQUIRED)
    items: list[MatrixItem] = []
    for index, item in enumerate(_read.sequence(raw, ipath)):
        itpath = _read.join(ipath, index)
        data = _read.mapping(item, itpath)
        _read.check_keys(data, ("id", "label"), itpath)
        item_id = _read.identifier(data.get("id"), _read.join(itpath, "id"))
        if any(existing.id == item_id for existing in items):
            raise DefinitionError(_read.join(itpath, "id"), f"编号“{item_id}”重复")
        items.append(MatrixItem(id=item_id, label=_read.text(data, "label", itpath)))
    if len(items) > MAX_OPTIONS:
        raise DefinitionError(ipath, f"最多 {MAX_OPTIONS} 项")
    return tuple(items)


def _matrix_scale(data: Mapping[str, Any], path: str) -> QuestionType:
    raw = data.get("scale", QuestionType.RATING.value)
    if raw not in (QuestionType.RATING, QuestionType.NPS, QuestionType.CES):
        raise DefinitionError(_read.join(path, "scale"), "只能是 rating、nps、ces 之一")
    return QuestionType(raw)
