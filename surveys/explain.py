"""Definition errors in the words of the staff who write questionnaires.

``DefinitionError.path`` names the faulty field the way a program does (``questions[2].options``).
``explain`` says the same for a person: which question (its number, id and the start of its
title), which part of it, and what is wrong, e.g.
``第 3 题（improve 您认为我们最需要在哪些方面改进？）：选项（options）至少需要 2 项``.
Each part keeps its YAML key in brackets, so it can be found in the text. ``line_of`` gives the
line of the YAML text where the faulty field (or the nearest part of it that exists) starts.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from surveys import _read
from surveys.errors import DefinitionError

# The survey's own fields, and those of a question, an option, a matrix item, a condition.
SURVEY_FIELDS = {
    "code": "问卷代码",
    "title": "问卷标题",
    "description": "说明",
    "intro": "开场语",
    "thank_you": "结束语",
    "anonymous_allowed": "允许匿名作答",
    "questions": "题目列表",
}
QUESTION_FIELDS = {
    "id": "题目编号",
    "type": "题型",
    "title": "题目文字",
    "required": "是否必答",
    "help": "提示语",
    "show_if": "显示条件",
    "metric": "关键指标",
    "options": "选项",
    "other_max_length": "“其他”说明的字数上限",
    "min_select": "最少选择数",
    "max_select": "最多选择数",
    "max_length": "最多字数",
    "items": "评价项",
    "scale": "评分量表",
}
OPTION_FIELDS = {
    "value": "选项值",
    "label": "选项文字",
    "other": "“其他”标记",
    "exclusive": "互斥标记",
    "follow_up": "回访标记",
    "no_call": "拒绝回访标记",
}
ITEM_FIELDS = {"id": "评价项编号", "label": "评价项文字"}
CONDITION_FIELDS = {
    "question": "引用的题目",
    "op": "比较方式",
    "value": "比较值",
    "item": "评价项",
    "all": "全部满足",
    "any": "任一满足",
}
# What a field holds: its parts' names, or (for a list) how to count its elements.
FIELDS = {
    "survey": SURVEY_FIELDS,
    "question": QUESTION_FIELDS,
    "option": OPTION_FIELDS,
    "item": ITEM_FIELDS,
    "condition": CONDITION_FIELDS,
}
INSIDE = {
    "options": "options",
    "items": "items",
    "show_if": "condition",
    "all": "conditions",
    "any": "conditions",
    "value": "values",
}
LISTS = {  # a list: the counter word of its elements, and what each element is
    "options": ("个选项", "option"),
    "items": ("个评价项", "item"),
    "conditions": ("个条件", "condition"),
    "values": ("个比较值", ""),
}
# Messages that say something of the field they follow (选项 + 不能为空); the others are whole
# sentences that name what they speak of (题目编号“q1”重复).
REQUIRED = _read.REQUIRED
PREDICATES = ("必须", "只能", "不能", "至少", "最多", REQUIRED)
UNKNOWN_FIELD = "不支持的字段"
KNOWN_KEYS = sorted({key for names in FIELDS.values() for key in names})
TITLE_CHARS = 16
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def tokens(path: str) -> list[str | int]:
    """``questions[2].options`` -> ``["questions", 2, "options"]``."""
    return [int(index) if index else key for key, index in _TOKEN.findall(path)]


def explain(err: DefinitionError, data: Any) -> str:
    """The error in Chinese, for the definition ``data`` it was raised on."""
    steps = tokens(err.path)
    if not steps:
        return err.message
    if len(steps) >= 2 and steps[0] == "questions" and isinstance(steps[1], int):
        question = _at(data, steps[:2])
        parts, leaf = _parts(steps[2:], question, "question")
        what = _what(parts, leaf, steps[-1], err.message, whole="本题")
        return f"{_question(steps[1], question)}：{what}"
    parts, leaf = _parts(steps, data, "survey")
    return _what(parts, leaf, steps[-1], err.message, whole="问卷定义")


def _what(parts: list[str], leaf: str | None, key: str | int, message: str, *, whole: str) -> str:
    chain = "的".join(parts)
    if message == UNKNOWN_FIELD:
        return f"{chain or whole}中有不支持的字段“{key}”（{_spelling_hint(str(key))}）"
    if message.startswith(PREDICATES):
        subject = "的".join([*parts, leaf]) if leaf else chain
        return subject + ("未填写" if message == REQUIRED else message)
    return f"{chain}：{message}" if chain else message


def _spelling_hint(key: str) -> str:
    """``是否应为 title？请检查拼写和缩进`` for a near miss such as ``titel``."""
    close = difflib.get_close_matches(key, KNOWN_KEYS, n=1, cutoff=0.75)
    return f"是否应为 {close[0]}？请检查拼写和缩进" if close else "请检查拼写和缩进"


def _parts(steps: list[str | int], node: Any, kind: str) -> tuple[list[str], str | None]:
    """The names of the containers along ``steps`` (选项（options）、第 2 个选项（…）) and of
    the last field, when the path ends at a field rather than at a list element."""
    parts: list[str] = []
    for i, step in enumerate(steps):
        node = _at(node, [step])
        if isinstance(step, int):
            noun, kind = LISTS.get(kind, ("项", ""))
            label = node.get("label") if isinstance(node, Mapping) else None
            shown = f"（{_short(label)}）" if isinstance(label, str) and label.strip() else ""
            parts.append(f"第 {step + 1} {noun}{shown}")
            continue
        name = FIELDS.get(kind, {}).get(step)
        label = f"{name}（{step}）" if name else step
        if i == len(steps) - 1:
            return parts, label
        kind = INSIDE.get(step, "")
        if not (kind in LISTS and isinstance(steps[i + 1], int)):  # 第 2 个选项 says it
            parts.append(label)
    return parts, None


def _question(index: int, raw: Any) -> str:
    """第 3 题（improve 您认为我们最需要在哪些方面改进？）."""
    named = []
    if isinstance(raw, Mapping):
        for key in ("id", "title"):
            value = raw.get(key)
            if isinstance(value, str) and value.strip():
                named.append(_short(value))
    return f"第 {index + 1} 题" + (f"（{' '.join(named)}）" if named else "")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS] + "…"


def _at(node: Any, steps: list[str | int]) -> Any:
    for step in steps:
        if isinstance(step, int) and isinstance(node, list | tuple) and step < len(node):
            node = node[step]
        elif isinstance(step, str) and isinstance(node, Mapping):
            node = node.get(step)
        else:
            return None
    return node


def line_of(text: str, path: str) -> int | None:
    """The 1-based line of ``text`` where the field at ``path`` starts, or the nearest part of
    it that exists (a missing ``options`` points at its question); None for unreadable text."""
    return lines_of(text, [path])[0]


def lines_of(text: str, paths: Sequence[str]) -> list[int | None]:
    """``line_of`` for each path, reading the text once (a definition may have many faults)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return [None for _ in paths]
    if root is None:
        return [None for _ in paths]
    return [_line_in(root, path) for path in paths]


def _line_in(node: yaml.Node, path: str) -> int:
    line = node.start_mark.line
    for step in tokens(path):
        found = None
        if isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            if step < len(node.value):
                found = node.value[step]
                line = found.start_mark.line
        elif isinstance(node, yaml.MappingNode) and isinstance(step, str):
            for key, value in node.value:
                if getattr(key, "value", None) == step:
                    found = value
                    line = key.start_mark.line
                    break
        if found is None:
            break
        node = found
    return line + 1
