"""Schema check: turns YAML/JSON definition data into a SurveyDefinition or a DefinitionError."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any

import yaml

from surveys import _read
from surveys.conditions import parse_condition, referenced_ids
from surveys.errors import DefinitionError, raise_all
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
ANY_TYPE_KEYS = tuple(sorted({key for keys in TYPE_KEYS.values() for key in keys}))
MAX_QUESTIONS = 200
METRIC_NAMES = {"csat": "满意度（CSAT）", "nps": "净推荐值（NPS）", "ces": "省力度（CES）"}
MAX_OPTIONS = 100


def load_definition(data: Mapping[str, Any] | str) -> SurveyDefinition:
    """Parse and check a definition given as a mapping or as YAML/JSON text.

    Raises DefinitionError naming the faulty field, e.g. `questions[2].options[1].value: 必填`;
    when several fields are faulty it is a DefinitionErrors whose `errors` lists them all (the
    first is its own `path` and `message`). Unreadable YAML stops at its syntax error.
    """
    if isinstance(data, str):
        data = _parse_text(data)
    data = _read.mapping(data, "")
    errors: list[DefinitionError] = []
    _read.attempt(errors, _read.check_keys, data, DEFINITION_KEYS, "")
    fields = {
        "code": _read.attempt(
            errors, _read.identifier, data.get("code"), "code", _read.VALUE_PATTERN
        ),
        "title": _read.attempt(errors, _read.text, data, "title", ""),
        "questions": _read.attempt(errors, _questions, data.get("questions")),
        "anonymous_allowed": _read.attempt(
            errors, _read.flag, data, "anonymous_allowed", "", default=False
        ),
    }
    for key in ("description", "intro", "thank_you"):
        fields[key] = _read.attempt(errors, _read.optional_text, data, key, "")
    raise_all(errors)
    return SurveyDefinition(**fields)


class YamlRefused(yaml.YAMLError):
    """YAML that parses but is refused: an alias (``*name``), or nesting too deep to read.

    ``reason`` says why in Chinese; ``line`` is 1-based, or None."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.line = reason, line


class _Loader(yaml.SafeLoader):
    """Safe YAML without aliases: a definition never needs them, and a few nested aliases
    expand to millions of conditions (a "billion laughs" that ties up a worker for minutes)."""

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201  (PyYAML's signature)
        if self.check_event(yaml.AliasEvent):
            line = self.peek_event().start_mark.line + 1
            raise YamlRefused(f"第 {line} 行：不支持 YAML 别名（*），请把内容写完整", line)
        return super().compose_node(parent, index)


# A definition is JSON-shaped text. PyYAML's safe loader still reads a plain value shaped like a
# date as a date ("intro: 2026-02-28" was refused as not text, "2026-02-30" crashed the page),
# .inf as a float JSON cannot carry, and tags such as !!binary or !!set as types no definition
# holds: dates stay text, an infinite or NaN number stays the text it was, the rest is refused.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _as_text(loader: _Loader, node: yaml.Node) -> str:
    return loader.construct_scalar(node)


def _finite(loader: _Loader, node: yaml.Node) -> Any:
    value = loader.construct_yaml_float(node)
    return value if math.isfinite(value) else loader.construct_scalar(node)


def _refused(loader: _Loader, node: yaml.Node) -> Any:
    line = node.start_mark.line + 1
    kind = node.tag.rsplit(":", 1)[-1]
    raise YamlRefused(f"第 {line} 行：不支持 YAML 的 {kind} 类型，请写成文字、数字或列表", line)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _as_text)
_Loader.add_constructor("tag:yaml.org,2002:float", _finite)
for _tag in ("binary", "set", "omap", "pairs"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refused)


def read_yaml(text: str) -> Any:
    """Parse YAML (or JSON) text as a definition is read: safe, without aliases, and with
    nesting too deep to read refused rather than crashing (RecursionError)."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506  (a SafeLoader subclass)
    except RecursionError:
        raise YamlRefused("嵌套层级过深，无法读取：请检查括号和缩进") from None
    except (ValueError, TypeError, OverflowError) as exc:  # (a constructor's own refusal)
        raise YamlRefused(f"YAML 内容无法读取：{exc}"[:200]) from None


def _parse_text(text: str) -> Any:
    try:
        return read_yaml(text)
    except YamlRefused as exc:
        raise DefinitionError("", exc.reason) from exc
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
    all_ids = frozenset(_raw_id(item) for item in items) - {None}
    errors: list[DefinitionError] = []
    earlier: dict[str, Question] = {}
    unjudged: set[str] = set()  # ids of faulty questions: conditions on them wait for a fix
    metrics: dict[Metric, str] = {}
    for index, item in enumerate(items):
        path = _read.join("questions", index)
        found: list[DefinitionError] = []
        question = _read.attempt(found, _question, item, path, earlier, all_ids, unjudged)
        qid = _raw_id(item)
        if qid is not None and (qid in earlier or qid in unjudged):
            if not any(err.path == _read.join(path, "id") for err in found):
                found.append(DefinitionError(_read.join(path, "id"), f"题目编号“{qid}”重复"))
            question = None
        # (a faulty question's key metric counts too: a second one is named at once, not only
        # once the question's other faults are mended)
        metric = question.metric if question is not None else _raw_metric(item, found, path)
        if metric is not None:
            if metric in metrics:
                found.append(
                    DefinitionError(
                        _read.join(path, "metric"),
                        f"{METRIC_NAMES[metric]}关键指标已由“{metrics[metric]}”"
                        "设定，每种指标每份问卷只能有一道，请取消本题的关键指标（metric）",
                    )
                )
            else:
                metrics[metric] = qid or f"第 {index + 1} 题"
        errors.extend(found)
        if question is None or found:
            if qid is not None:
                unjudged.add(qid)
        else:
            earlier[question.id] = question
    raise_all(errors)
    return tuple(earlier.values())


def _raw_metric(item: Any, found: list[DefinitionError], path: str) -> Metric | None:
    """The key metric a question that could not be built asks for, unless that is faulty."""
    raw = item.get("metric") if isinstance(item, Mapping) else None
    if raw is None or any(err.path == _read.join(path, "metric") for err in found):
        return None
    try:
        return Metric(raw)
    except (ValueError, TypeError):
        return None


def _raw_id(item: Any) -> str | None:
    qid = item.get("id") if isinstance(item, Mapping) else None
    return qid if isinstance(qid, str) else None


def _question(
    raw: Any,
    path: str,
    earlier: Mapping[str, Question],
    all_ids: frozenset[str],
    unjudged: set[str],
) -> Question | None:
    """The question, or None when it cannot be built: its faults are raised, except those of
    a condition on a faulty earlier question (judged once that one is mended)."""
    data = _read.mapping(raw, path)
    errors: list[DefinitionError] = []
    attempt = _read.attempt
    qid = attempt(errors, _read.identifier, data.get("id"), _read.join(path, "id"))
    qtype = attempt(errors, _question_type, data, path)
    allowed = COMMON_KEYS + (TYPE_KEYS[qtype] if qtype is not None else ANY_TYPE_KEYS)
    fields: dict[str, Any] = {
        "id": qid,
        "type": qtype,
        "title": attempt(errors, _read.text, data, "title", path),
        "required": attempt(errors, _read.flag, data, "required", path, default=True),
        "help": attempt(errors, _read.optional_text, data, "help", path),
        "metric": attempt(errors, _metric, data, path, qtype),
    }
    attempt(errors, _read.check_keys, data, allowed, path)
    judged = True
    if data.get("show_if") is not None:
        found: list[DefinitionError] = []
        fields["show_if"] = attempt(
            found, parse_condition, data["show_if"], _read.join(path, "show_if"), earlier, all_ids
        )
        judged = not (found and referenced_ids(data["show_if"]) & unjudged)
        if judged:
            errors.extend(found)
    if qtype is not None:
        fields.update(attempt(errors, _type_fields, data, path, qtype) or {})
    raise_all(errors)
    return Question(**fields) if judged else None


def _question_type(data: Mapping[str, Any], path: str) -> QuestionType:
    raw = data.get("type")
    if raw is None:
        raise DefinitionError(_read.join(path, "type"), _read.REQUIRED)
    try:
        return QuestionType(raw)
    except ValueError:
        allowed = "、".join(t.value for t in QuestionType)
        close = difflib.get_close_matches(str(raw), [t.value for t in QuestionType], n=1)
        hint = f"（是否应为 {close[0]}？）" if close else ""
        raise DefinitionError(_read.join(path, "type"), f"只能是 {allowed} 之一{hint}") from None


def _metric(data: Mapping[str, Any], path: str, qtype: QuestionType | None) -> Metric | None:
    """The key-question metric; its match with the type is checked once the type is known."""
    raw = data.get("metric")
    if raw is None:
        return None
    mpath = _read.join(path, "metric")
    try:
        metric = Metric(raw)
    except ValueError:
        raise DefinitionError(mpath, "只能是 csat、nps、ces 之一") from None
    if qtype is not None and METRIC_TYPES[metric] is not qtype:
        raise DefinitionError(mpath, f"{metric} 关键题必须是 {METRIC_TYPES[metric]} 题型")
    return metric


def _type_fields(data: Mapping[str, Any], path: str, qtype: QuestionType) -> dict[str, Any]:
    errors: list[DefinitionError] = []
    attempt = _read.attempt
    fields: dict[str, Any] = {}
    if qtype in CHOICE_TYPES:
        options = attempt(errors, _options, data.get("options"), _read.join(path, "options"), qtype)
        fields["options"] = options
        fields["other_max_length"] = attempt(
            errors,
            _read.integer,
            data,
            "other_max_length",
            path,
            low=1,
            high=2000,
            default=DEFAULT_OTHER_MAX_LENGTH,
        )
        # (judged against the options written, also while one of them has a fault to mend)
        written = data.get("options")
        count = len(options) if options is not None else None
        if count is None and isinstance(written, list) and len(written) <= MAX_OPTIONS:
            count = len(written)
        if qtype is QuestionType.MULTIPLE and count:
            fields.update(attempt(errors, _selection_bounds, data, path, count) or {})
    elif qtype is QuestionType.TEXT:
        fields["max_length"] = attempt(
            errors,
            _read.integer,
            data,
            "max_length",
            path,
            low=1,
            high=20000,
            default=DEFAULT_TEXT_MAX_LENGTH,
        )
    elif qtype is QuestionType.MATRIX:
        fields["items"] = attempt(errors, _items, data.get("items"), path)
        fields["scale"] = attempt(errors, _matrix_scale, data, path)
    raise_all(errors)
    return fields


def _options(raw: Any, path: str, qtype: QuestionType) -> tuple[Option, ...]:
    if raw is None:
        raise DefinitionError(path, _read.REQUIRED)
    items = _read.sequence(raw, path, min_items=2)
    if len(items) > MAX_OPTIONS:
        raise DefinitionError(path, f"最多 {MAX_OPTIONS} 个选项")
    errors: list[DefinitionError] = []
    options: list[Option] = []
    for index, item in enumerate(items):
        option = _read.attempt(errors, _option, item, _read.join(path, index), qtype, options)
        if option is not None:
            options.append(option)
    raise_all(errors)
    return tuple(options)


def _option(raw: Any, path: str, qtype: QuestionType, earlier: list[Option]) -> Option:
    data = _read.mapping(raw, path)
    errors: list[DefinitionError] = []
    attempt = _read.attempt
    keys = ("value", "label", "other", "follow_up", "no_call", "exclusive")
    attempt(
        errors, _read.check_keys, data, keys if qtype is QuestionType.MULTIPLE else keys[:5], path
    )
    vpath = _read.join(path, "value")
    value = attempt(errors, _read.identifier, data.get("value"), vpath, _read.VALUE_PATTERN)
    if value is not None and any(opt.value == value for opt in earlier):
        errors.append(DefinitionError(vpath, f"选项值“{value}”重复"))
    other = attempt(errors, _read.flag, data, "other", path, default=False)
    if other and any(opt.other for opt in earlier):
        errors.append(DefinitionError(_read.join(path, "other"), "每题最多一个“其他”选项"))
    label = attempt(errors, _read.text, data, "label", path)
    exclusive = attempt(errors, _read.flag, data, "exclusive", path, default=False)
    follow_up = attempt(errors, _read.flag, data, "follow_up", path, default=False)
    no_call = attempt(errors, _read.flag, data, "no_call", path, default=False)
    if follow_up and no_call:
        both = "同一选项不能既安排回访（follow_up）又表示拒绝回访（no_call）"
        errors.append(DefinitionError(_read.join(path, "no_call"), both))
    raise_all(errors)
    return Option(
        value=value,
        label=label,
        other=bool(other),
        exclusive=bool(exclusive),
        follow_up=bool(follow_up),
        no_call=bool(no_call),
    )


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
    entries = _read.sequence(raw, ipath)
    if len(entries) > MAX_OPTIONS:
        raise DefinitionError(ipath, f"最多 {MAX_OPTIONS} 项")
    errors: list[DefinitionError] = []
    items: list[MatrixItem] = []
    for index, entry in enumerate(entries):
        item = _read.attempt(errors, _item, entry, _read.join(ipath, index), items)
        if item is not None:
            items.append(item)
    raise_all(errors)
    return tuple(items)


def _item(raw: Any, path: str, earlier: list[MatrixItem]) -> MatrixItem:
    data = _read.mapping(raw, path)
    errors: list[DefinitionError] = []
    _read.attempt(errors, _read.check_keys, data, ("id", "label"), path)
    id_path = _read.join(path, "id")
    item_id = _read.attempt(errors, _read.identifier, data.get("id"), id_path)
    if item_id is not None and any(existing.id == item_id for existing in earlier):
        errors.append(DefinitionError(id_path, f"编号“{item_id}”重复"))
    label = _read.attempt(errors, _read.text, data, "label", path)
    raise_all(errors)
    return MatrixItem(id=item_id, label=label)


def _matrix_scale(data: Mapping[str, Any], path: str) -> QuestionType:
    raw = data.get("scale", QuestionType.RATING.value)
    if raw not in (QuestionType.RATING, QuestionType.NPS, QuestionType.CES):
        raise DefinitionError(_read.join(path, "scale"), "只能是 rating、nps、ces 之一")
    return QuestionType(raw)
