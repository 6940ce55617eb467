"""Typed readers for definition data that raise DefinitionError with the field path."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar

from surveys.errors import DefinitionError, raise_all

REQUIRED = "必填"
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
VALUE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
MAX_TITLE = 500
MAX_PROSE = 5000

P = ParamSpec("P")
T = TypeVar("T")


def attempt(
    errors: list[DefinitionError], read: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T | None:
    """``read(...)``, or None with its faults added to ``errors``: the check of a definition
    goes on past a faulty field, so that staff see every fault at once, not one per save."""
    try:
        return read(*args, **kwargs)
    except DefinitionError as err:
        errors.extend(err.errors)
        return None


def join(path: str, key: str | int) -> str:
    """Extend a field path: `join("questions", 2)` -> `questions[2]`."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def mapping(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DefinitionError(path, "必须是对象（键值对）")
    return value


def sequence(value: Any, path: str, *, min_items: int = 1) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise DefinitionError(path, "必须是列表")
    if len(value) < min_items:
        raise DefinitionError(path, "不能为空" if min_items == 1 else f"至少需要 {min_items} 项")
    return list(value)


def check_keys(data: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
    allowed_set = set(allowed)
    raise_all(
        [
            DefinitionError(join(path, str(key)), "不支持的字段")
            for key in data
            if key not in allowed_set
        ]
    )


def text(data: Mapping[str, Any], key: str, path: str, *, limit: int = MAX_TITLE) -> str:
    """A required non-blank string, stripped."""
    value = optional_text(data, key, path, limit=limit)
    if not value:
        raise DefinitionError(join(path, key), REQUIRED)
    return value


def optional_text(data: Mapping[str, Any], key: str, path: str, *, limit: int = MAX_PROSE) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DefinitionError(join(path, key), "必须是字符串")
    if len(value) > limit:
        raise DefinitionError(join(path, key), f"不能超过 {limit} 个字符")
    return value.strip()


def flag(data: Mapping[str, Any], key: str, path: str, *, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise DefinitionError(join(path, key), "必须是 true 或 false")
    return value


def integer(
    data: Mapping[str, Any], key: str, path: str, *, low: int, high: int, default: int | None
) -> int | None:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise DefinitionError(join(path, key), "必须是整数")
    if not low <= value <= high:
        raise DefinitionError(join(path, key), f"必须在 {low} 到 {high} 之间")
    return value


def identifier(value: Any, path: str, pattern: re.Pattern[str] = ID_PATTERN) -> str:
    """An id, option value or code; ints are accepted as option values and become strings."""
    if value is None or value == "":
        raise DefinitionError(path, REQUIRED)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not isinstance(value, str):
        raise DefinitionError(path, "必须是字符串")
    if not pattern.match(value) or "__" in value:
        start = "小写字母" if pattern is ID_PATTERN else "小写字母或数字"
        raise DefinitionError(
            path,
            f"只能由小写字母、数字、“_”和“-”组成，以{start}开头，不含“__”，最长 40 个字符",
        )
    return value
