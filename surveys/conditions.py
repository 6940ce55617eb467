"""Skip logic: parsing `show_if` conditions and evaluating them against earlier answers."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from surveys import _read
from surveys.errors import DefinitionError, raise_all
from surveys.model import (
    CHOICE_TYPES,
    SCALE_RANGES,
    Condition,
    ConditionGroup,
    Op,
    Question,
    QuestionType,
)

ORDER_OPS: dict[Op, Callable[[Any, Any], bool]] = {
    Op.LT: operator.lt,
    Op.LTE: operator.le,
    Op.GT: operator.gt,
    Op.GTE: operator.ge,
}

MAX_GROUP_DEPTH = 5
MAX_GROUP_ITEMS = 50


def parse_condition(
    data: Any,
    path: str,
    earlier: Mapping[str, Question],
    all_ids: frozenset[str],
    depth: int = 0,
) -> Condition | ConditionGroup:
    """Parse one `show_if` node; it may only refer to questions in `earlier`. Groups nest at
    most ``MAX_GROUP_DEPTH`` deep and hold at most ``MAX_GROUP_ITEMS`` conditions each (a real
    questionnaire needs two or three; a machine-made one could otherwise exhaust the stack)."""
    data = _read.mapping(data, path)
    if "all" in data or "any" in data:
        if len(data) != 1:
            raise DefinitionError(path, "all 或 any 只能单独使用一个")
        if depth >= MAX_GROUP_DEPTH:
            raise DefinitionError(path, f"all/any 最多嵌套 {MAX_GROUP_DEPTH} 层")
        mode = next(iter(data))
        items = _read.sequence(data[mode], _read.join(path, mode))
        if len(items) > MAX_GROUP_ITEMS:
            raise DefinitionError(_read.join(path, mode), f"最多 {MAX_GROUP_ITEMS} 个条件")
        errors: list[DefinitionError] = []
        conditions = [
            _read.attempt(
                errors,
                parse_condition,
                item,
                _read.join(_read.join(path, mode), i),
                earlier,
                all_ids,
                depth + 1,
            )
            for i, item in enumerate(items)
        ]
        raise_all(errors)
        return ConditionGroup(mode=mode, conditions=tuple(c for c in conditions if c is not None))
    _read.check_keys(data, ("question", "item", "op", "value"), path)
    target = _target(data, path, earlier, all_ids)
    op = _op(data, path)
    item = _item(data, path, target, op)
    value = _value(data, path, target, op, item)
    return Condition(question=target.id, op=op, value=value, item=item)


def referenced_ids(data: Any) -> set[str]:
    """The question ids a raw `show_if` node names, at any depth (unchecked data)."""
    if not isinstance(data, Mapping):
        return set()
    found = {data["question"]} if isinstance(data.get("question"), str) else set()
    for mode in ("all", "any"):
        children = data.get(mode)
        if isinstance(children, list | tuple):
            for child in children:
                found |= referenced_ids(child)
    return found


def _target(
    data: Mapping[str, Any], path: str, earlier: Mapping[str, Question], all_ids: frozenset[str]
) -> Question:
    qpath = _read.join(path, "question")
    qid = data.get("question")
    if qid is None or qid == "":
        raise DefinitionError(qpath, _read.REQUIRED)
    if not isinstance(qid, str):
        raise DefinitionError(qpath, "必须是字符串")
    if qid in earlier:
        return earlier[qid]
    if qid in all_ids:
        raise DefinitionError(qpath, f"条件只能引用前面的题目（“{qid}”在本题之后或就是本题）")
    raise DefinitionError(qpath, f"题目“{qid}”不存在")


def _op(data: Mapping[str, Any], path: str) -> Op:
    raw = data.get("op")
    if raw is None:
        raise DefinitionError(_read.join(path, "op"), _read.REQUIRED)
    try:
        return Op(raw)
    except ValueError:
        allowed = "、".join(op.value for op in Op)
        raise DefinitionError(_read.join(path, "op"), f"只能是 {allowed} 之一") from None


def _item(data: Mapping[str, Any], path: str, target: Question, op: Op) -> str | None:
    raw = data.get("item")
    ipath = _read.join(path, "item")
    if target.type is not QuestionType.MATRIX:
        if raw is not None:
            raise DefinitionError(ipath, "只有矩阵题可以指定 item")
        return None
    if raw is None:
        if op is Op.ANSWERED:
            return None
        raise DefinitionError(ipath, "引用矩阵题时必须指定 item")
    if not any(item.id == raw for item in target.items):
        raise DefinitionError(ipath, f"矩阵题“{target.id}”没有这一项")
    return str(raw)


def _value(data: Mapping[str, Any], path: str, target: Question, op: Op, item: str | None) -> Any:
    vpath = _read.join(path, "value")
    raw = data.get("value")
    if op is Op.ANSWERED:
        if raw is None:
            return True
        if not isinstance(raw, bool):
            raise DefinitionError(vpath, "必须是 true 或 false")
        return raw
    if target.type is QuestionType.TEXT:
        raise DefinitionError(_read.join(path, "op"), "文本题只能使用 answered 条件")
    if op in ORDER_OPS and target.scale_type is None:
        raise DefinitionError(_read.join(path, "op"), "只有评分类题目可以比较大小")
    if op in (Op.IN, Op.NOT_IN):
        values = _read.sequence(raw, vpath)
        return tuple(_scalar(v, _read.join(vpath, i), target) for i, v in enumerate(values))
    if raw is None:
        raise DefinitionError(vpath, _read.REQUIRED)
    return _scalar(raw, vpath, target)


def _scalar(raw: Any, path: str, target: Question) -> int | str:
    if target.type in CHOICE_TYPES:
        value = _read.identifier(raw, path, _read.VALUE_PATTERN)
        if target.option(value) is None:
            raise DefinitionError(path, f"“{value}”不是题目“{target.id}”的选项")
        return value
    low, high = SCALE_RANGES[target.scale_type or QuestionType.RATING]
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise DefinitionError(path, f"必须是 {low} 到 {high} 之间的整数")
    return raw


def evaluate(node: Condition | ConditionGroup, answers: Mapping[str, Any]) -> bool:
    """True when the condition holds for cleaned answers; unanswered fails all but `answered`."""
    if isinstance(node, ConditionGroup):
        results = (evaluate(child, answers) for child in node.conditions)
        return all(results) if node.mode == "all" else any(results)
    value = answers.get(node.question)
    if node.item is not None:
        value = value.get(node.item) if isinstance(value, Mapping) else None
    if node.op is Op.ANSWERED:
        return (value is not None) is bool(node.value)
    if value is None:
        return False
    return _compare(node, value)


def _compare(node: Condition, value: Any) -> bool:
    if isinstance(value, list):
        chosen = set(value)
        if node.op is Op.EQ:
            return node.value in chosen
        if node.op is Op.NE:
            return node.value not in chosen
        if node.op is Op.IN:
            return not chosen.isdisjoint(node.value)
        if node.op is Op.NOT_IN:
            return chosen.isdisjoint(node.value)
        return False
    if node.op is Op.EQ:
        return bool(value == node.value)
    if node.op is Op.NE:
        return bool(value != node.value)
    if node.op is Op.IN:
        return value in node.value
    if node.op is Op.NOT_IN:
        return value not in node.value
    if isinstance(value, int) and isinstance(node.value, int):
        return ORDER_OPS[node.op](value, node.value)
    return False
