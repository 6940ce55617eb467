"""Cleaning one raw answer per question type into a normalised value or a Chinese message."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, NamedTuple

from surveys.model import SCALE_RANGES, Question, QuestionType

MSG_REQUIRED = "此题为必答题"
MSG_BAD_OPTION = "请选择有效的选项"
MSG_ONE_OPTION = "请只选择一个选项"
MSG_NOT_TEXT = "请填写文字"
MSG_CONTROL = "内容含有无法识别的控制字符，请删除后再提交"
MSG_OTHER_MISSING = "请填写“其他”的具体内容"
MSG_BAD_FORMAT = "答案格式无效"
ALLOWED_CONTROLS = frozenset("\n\t")
# Every character of the categories Cc (NUL, the other C0 and C1 controls: all below U+00A0)
# and Cs (lone surrogates, which cannot be stored as UTF-8), but the allowed controls: one
# regex search instead of a category look-up per character.
# Zero-width characters: a text of these (and white space) alone is blank, as in the browser
# (survey.js); inside a text they stay (a zero-width joiner builds some emoji).
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_FORBIDDEN = re.compile(
    "["
    + "".join(
        re.escape(chr(c))
        for c in range(0xA0)
        if unicodedata.category(chr(c)) == "Cc" and chr(c) not in ALLOWED_CONTROLS
    )
    + "\ud800-\udfff]"
)
DIGITS = re.compile(r"^[0-9]{1,3}$")


class Cleaned(NamedTuple):
    """`value` is None when unanswered; `other` is the "please specify" text, if any."""

    value: Any = None
    error: str | None = None
    other: str | None = None


def is_blank(raw: Any) -> bool:
    """No answer: None, a blank string, or an empty list/dict."""
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, list | tuple | set | frozenset | Mapping):
        return len(raw) == 0
    return False


def clean_answer(question: Question, raw: Any, other_raw: Any = None) -> Cleaned:
    """Normalise one answer: ints for scales, list for multiple, dict for matrix, text stripped."""
    qtype = question.type
    if qtype is QuestionType.MATRIX:
        return _clean_matrix(question, raw)
    if is_blank(raw):
        return Cleaned()
    if question.scale_type is not None:
        return _clean_scale(question.scale_type, raw)
    if qtype is QuestionType.SINGLE:
        return _clean_single(question, raw, other_raw)
    if qtype is QuestionType.MULTIPLE:
        return _clean_multiple(question, raw, other_raw)
    value, error = clean_text(raw, question.max_length)
    return Cleaned(value=value, error=error)


def scale_message(kind: QuestionType) -> str:
    low, high = SCALE_RANGES[kind]
    return f"请选择 {low} 到 {high} 之间的分数"


def to_int(raw: Any) -> int | None:
    """An integer from an int, an integral float or a string of ASCII (or full-width) digits."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw) if math.isfinite(raw) and raw.is_integer() else None
    if isinstance(raw, str):
        digits = unicodedata.normalize("NFKC", raw).strip()
        return int(digits) if DIGITS.match(digits) else None
    return None


def _clean_scale(kind: QuestionType, raw: Any) -> Cleaned:
    low, high = SCALE_RANGES[kind]
    number = to_int(raw)
    if number is None or not low <= number <= high:
        return Cleaned(error=scale_message(kind))
    return Cleaned(value=number)


def clean_text(raw: Any, max_length: int) -> tuple[str | None, str | None]:
    """(text, None) or (None, message); CR/LF become LF, NUL and other controls are refused."""
    if raw is None:
        return None, None
    if not isinstance(raw, str):
        return None, MSG_NOT_TEXT
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    if _FORBIDDEN.search(text):
        return None, MSG_CONTROL
    text = text.strip()
    if not _INVISIBLE.sub("", text).strip():  # (zero-width characters alone are no answer)
        return None, None
    if len(text) > max_length:
        return None, f"最多 {max_length} 字（当前 {len(text)} 字）"
    return text, None


def _choice(raw: Any) -> str | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw)
    return raw.strip() if isinstance(raw, str) else None


def _clean_single(question: Question, raw: Any, other_raw: Any) -> Cleaned:
    if isinstance(raw, list | tuple):
        return Cleaned(error=MSG_ONE_OPTION)
    value = _choice(raw)
    option = question.option(value) if value is not None else None
    if option is None:
        return Cleaned(error=MSG_BAD_OPTION)
    if not option.other:
        return Cleaned(value=option.value)
    return _with_other(question, option.value, other_raw)


def _clean_multiple(question: Question, raw: Any, other_raw: Any) -> Cleaned:
    raw_items = [raw] if isinstance(raw, str | int) else raw
    if not isinstance(raw_items, list | tuple | set | frozenset):
        return Cleaned(error=MSG_BAD_FORMAT)
    chosen: set[str] = set()
    for item in raw_items:
        value = _choice(item)
        if value == "":
            continue
        if value is None or question.option(value) is None:
            return Cleaned(error=MSG_BAD_OPTION)
        chosen.add(value)
    if not chosen:
        return Cleaned()
    values = [opt.value for opt in question.options if opt.value in chosen]
    low = question.min_select or 1
    high = question.max_select or len(question.options)
    if not low <= len(values) <= high:
        return Cleaned(error=selection_message(question))
    sole = next((opt for opt in question.options if opt.exclusive and opt.value in chosen), None)
    if sole is not None and len(values) > 1:
        return Cleaned(error=f"“{sole.label}”不能与其他选项同时选择")
    if any(opt.other for opt in question.options if opt.value in chosen):
        return _with_other(question, values, other_raw)
    return Cleaned(value=values)


def selection_message(question: Question) -> str:
    low, high = question.min_select, question.max_select
    if low is not None and high is not None:
        return f"请选择 {low} 项" if low == high else f"请选择 {low} 到 {high} 项"
    if low is not None:
        return f"请至少选择 {low} 项"
    return f"最多选择 {high} 项"


def _with_other(question: Question, value: Any, other_raw: Any) -> Cleaned:
    text, error = clean_text(other_raw, question.other_max_length)
    if error is not None:
        return Cleaned(error=f"“其他”：{error}")
    if text is None:
        return Cleaned(error=MSG_OTHER_MISSING)
    return Cleaned(value=value, other=text)


def _clean_matrix(question: Question, raw: Any) -> Cleaned:
    if is_blank(raw):
        return Cleaned()
    if not isinstance(raw, Mapping):
        return Cleaned(error=MSG_BAD_FORMAT)
    kind = question.scale_type or QuestionType.RATING
    values: dict[str, int] = {}
    for item in question.items:
        cell = raw.get(item.id)
        if is_blank(cell):
            continue
        result = _clean_scale(kind, cell)
        if result.error is not None:
            return Cleaned(error=f"“{item.label}”：{result.error}")
        values[item.id] = result.value
    if not values:
        return Cleaned()
    missing = [item.label for item in question.items if item.id not in values]
    if question.required and missing:
        return Cleaned(error="请为每一项作答，尚未作答：" + "、".join(missing))
    return Cleaned(value=values)
