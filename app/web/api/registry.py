"""Declaring API endpoints once: the route, token scope, input models and the OpenAPI entry.

``endpoint`` wraps a view so that it is authenticated, scope-checked and given validated input;
``openapi.py`` builds the document from the same declarations, so the two cannot drift apart.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from flask import current_app, g, jsonify, request
from pydantic import AwareDatetime, BaseModel, BeforeValidator, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from app.security.uploads import size_text
from app.services import tokens
from app.web.api import bp
from app.web.errors import json_error

PYDANTIC_MESSAGES = {
    "missing": "必填",
    "string_too_long": "过长",
    "string_too_short": "过短",
    "string_type": "应为字符串",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "literal_error": "取值无效",
    "enum": "取值无效",
    "extra_forbidden": "不允许的字段",
    "datetime_parsing": "时间格式无效（ISO 8601，带时区）",
    "datetime_from_date_parsing": "时间格式无效（ISO 8601，带时区）",
    "datetime_type": "应为 ISO 8601 时间字符串（带时区）",
    "date_type": "应为日期字符串（YYYY-MM-DD）",
    "timezone_aware": "时间须带时区",
    "date_parsing": "日期格式无效（YYYY-MM-DD）",
    "date_from_datetime_parsing": "日期格式无效（YYYY-MM-DD）",
    "model_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "value_error": "取值无效",
    "string_pattern_mismatch": "格式不正确或含有不允许的字符",
    "greater_than": "数值过小",
    "greater_than_equal": "数值过小",
    "less_than": "数值过大",
    "less_than_equal": "数值过大",
    "finite_number": "应为有限的数值",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "list_type": "应为列表",
    "int_from_float": "应为整数",
    "too_long": "项数过多",
    "too_short": "项数过少",
    "union_tag_invalid": "取值无效",
}
# Members of a union (``str | int | ...``) that pydantic names in an error's location: plain
# types, or tags like ``constrained-str`` and ``function-after[...]`` (field names have neither).
_UNION_MEMBERS = {"str", "int", "float", "bool", "none", "date", "datetime", "list", "dict"}


# A time whose offset has hours only ("+08"): ISO 8601 allows it, and PostgreSQL writes times
# so ("2026-11-01 09:30:00+08"); pydantic reads "+08:00" only.
_HOURS_OFFSET = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?[+-]\d{2}$")
_DATETIME = TypeAdapter(datetime)


def _moment(value: Any) -> Any:
    """A request's time: an ISO 8601 string as pydantic reads it, or with an offset of hours
    only. Parsed here, as the strict JSON reading would (no number for a time, no date alone)."""
    if not isinstance(value, str):
        return value  # (refused by the strict type after this: an epoch number, true)
    if len(value) <= 10:  # (a date alone)
        raise PydanticCustomError("datetime_parsing", "invalid datetime")
    try:
        return _DATETIME.validate_python(value + ":00" if _HOURS_OFFSET.match(value) else value)
    except ValidationError:
        raise PydanticCustomError("datetime_parsing", "invalid datetime") from None


# Times the API takes (received_at, occurred_at, since): aware, offset in hours or hh:mm.
Moment = Annotated[AwareDatetime, BeforeValidator(_moment)]


def _union_member(part: object) -> bool:
    return isinstance(part, str) and (part in _UNION_MEMBERS or "-" in part or "[" in part)


@dataclass
class Endpoint:
    rule: str
    method: str
    summary: str
    scope: str | tuple[str, ...] | None  # a tuple means any one of these scopes
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    responses: dict[int, type[BaseModel] | None]
    tags: list[str] = field(default_factory=list)
    description: str = ""
    body_allowance: int = 0  # bytes a body may have beyond API_MAX_JSON_BYTES (Base64 files)


ENDPOINTS: list[Endpoint] = []


_CHINESE = re.compile(r"[\u4e00-\u9fff]")


# The limit an error's context names, added to its message: "过长（最多 5000 字）".
LIMITS = {
    "string_too_long": ("max_length", "最多 {} 字"),
    "string_too_short": ("min_length", "至少 {} 字"),
    "too_long": ("max_length", "最多 {} 项"),
    "too_short": ("min_length", "至少 {} 项"),
    "greater_than": ("gt", "应大于 {}"),
    "greater_than_equal": ("ge", "最小 {}"),
    "less_than": ("lt", "应小于 {}"),
    "less_than_equal": ("le", "最大 {}"),
    "literal_error": ("expected", "可选：{}"),
}
# How many fields the error's message names before "等 N 处" (``fields`` holds them all).
NAMED_IN_MESSAGE = 3


def _limit(kind: str, ctx: dict) -> str:
    key, text = LIMITS.get(kind, ("", ""))
    if key not in ctx:
        return ""
    value = str(ctx[key])
    if kind == "literal_error":  # "'sms', 'email' or 'app'" -> "sms、email、app"
        value = value.replace("'", "").replace(" or ", "、").replace(", ", "、")
    return f"（{text.format(value)}）"


def _field_errors(err: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in err.errors(include_url=False):
        parts = [str(p) for i, p in enumerate(item["loc"]) if not (i and _union_member(p))]
        loc = ".".join(parts) or "body"
        ctx = item.get("ctx", {})
        message = PYDANTIC_MESSAGES.get(item["type"], "取值无效") + _limit(item["type"], ctx)
        reason = ctx.get("error")
        if item["type"] == "value_error" and _CHINESE.search(str(reason or "")):
            message = str(reason)  # (our validators raise ValueError with a Chinese message)
        out.setdefault(loc, message)
    return out


def _refusal(lead: str, fields: dict[str, str]) -> str:
    """The error's message: what was refused, then the first fields and why ("请求内容未通过校验：
    content 过长（最多 5000 字）"), so a client that logs only ``message`` can still act on it."""
    named = [f"{loc} {why}" for loc, why in list(fields.items())[:NAMED_IN_MESSAGE]]
    more = len(fields) - len(named)
    return f"{lead}：{'；'.join(named)}" + (f"；等共 {len(fields)} 处" if more > 0 else "")


def scope_text(scope: str | tuple[str, ...] | None) -> str:
    """Human-readable scope requirement, e.g. ``invitations:write`` 或 ``responses:read``."""
    if scope is None:
        return ""
    names = (scope,) if isinstance(scope, str) else scope
    return " 或 ".join(f"`{name}`" for name in names)


def _authenticate(scope: str | tuple[str, ...] | None):
    header = request.headers.get("Authorization", "")
    kind, _, secret = header.partition(" ")
    token = tokens.find_token(secret.strip()) if kind.lower() == "bearer" else None
    if token is None:
        response = json_error(401, "缺少或无效的访问令牌", code="unauthorized")
        response[0].headers["WWW-Authenticate"] = 'Bearer realm="kesheng"'
        return response
    wanted = (scope,) if isinstance(scope, str) else (scope or ())
    if wanted and not any(name in token.scope_set for name in wanted):
        needed = scope_text(scope).replace("`", "")
        return json_error(403, f"令牌没有所需的权限范围：{needed}", code="insufficient_scope")
    tokens.note_use(token)
    g.api_token = token
    return None


def maintains_customers() -> bool:
    """The request's token may change a known customer's data (``customers:write``); other
    tokens naming a customer only fill in what its record lacks."""
    return "customers:write" in g.api_token.scope_set


def body_limit(allowance: int = 0) -> int:
    """The largest body an endpoint reads: JSON's limit, plus what it allows for files."""
    return current_app.config["API_MAX_JSON_BYTES"] + allowance


_ALLOWANCES: dict[str, int] = {}  # endpoint name -> its body_allowance, where it has one


@bp.url_value_preprocessor
def _body_limit(endpoint: str | None, values) -> None:
    # (before anything reads the body: a chunked body is then read up to this limit, not
    # MAX_CONTENT_LENGTH; a larger one gets the JSON 413 of ``errors.handle_http``)
    if endpoint in _ALLOWANCES:
        request.max_content_length = body_limit(_ALLOWANCES[endpoint])


def _too_large(limit: int):
    return json_error(413, f"请求内容过大（上限 {size_text(limit)}）", code="payload_too_large")


def _read_body(model: type[BaseModel], allowance: int = 0):
    limit = body_limit(allowance)
    if request.content_length is not None and request.content_length > limit:
        return None, _too_large(limit)
    if not request.is_json:
        return None, json_error(415, "请求须为 JSON（Content-Type: application/json）")
    raw = request.get_data(cache=True)
    # A body sent in chunks (no Content-Length) is read up to the limit and no further, so a
    # longer one arrives cut at the limit, and was taken in when its first part was valid JSON
    # (a complaint followed by white space): a chunked body that reaches the limit is refused.
    if len(raw) > limit or (request.content_length is None and len(raw) >= limit):
        return None, _too_large(limit)
    # A UTF-8 byte-order mark before the JSON, as Windows and .NET clients send it, is one a
    # parser may ignore (RFC 8259, section 8.1): one is; a second is not JSON.
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        # strict: JSON's own types only (no true for 1, "20" or 20.0 for an integer, no epoch
        # number for a date-time; date-times and dates are ISO 8601 strings)
        return model.model_validate_json(raw or b"null", strict=True), None
    except ValidationError as err:
        if any(e["type"] == "json_invalid" for e in err.errors()):
            return None, json_error(400, "请求内容不是有效的 JSON", code="invalid_json")
        fields = _field_errors(err)
        return None, json_error(422, _refusal("请求内容未通过校验", fields), fields=fields)


def _read_query(model: type[BaseModel]):
    # An empty parameter is one not given: ``?survey_code=&since=&cursor=`` (a URL template
    # filled in with nothing, as CONTRACT.md writes the query) asks for no filter, not a 422.
    given = {name: value for name, value in request.args.to_dict().items() if value != ""}
    try:
        return model.model_validate(given), None
    except ValidationError as err:
        fields = _field_errors(err)
        return None, json_error(422, _refusal("查询参数未通过校验", fields), fields=fields)


def _render(result: Any):
    status = 200
    if isinstance(result, tuple):
        result, status = result
    if isinstance(result, BaseModel):
        return jsonify(result.model_dump(mode="json")), status
    return jsonify(result), status


def endpoint(
    rule: str,
    method: str,
    *,
    summary: str,
    scope: str | tuple[str, ...] | None,
    responses: dict[int, type[BaseModel] | None],
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    tags: list[str] | None = None,
    body_allowance: int = 0,
) -> Callable:
    """Register an API view; it receives ``body=`` and ``query=`` models when declared.
    ``body_allowance``: bytes its body may have beyond ``API_MAX_JSON_BYTES`` (files)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def run(**path_args):
            refused = _authenticate(scope)
            if refused:
                return refused
            kwargs: dict[str, Any] = dict(path_args)
            if body is not None:
                kwargs["body"], failed = _read_body(body, body_allowance)
                if failed:
                    return failed
            if query is not None:
                kwargs["query"], failed = _read_query(query)
                if failed:
                    return failed
            return _render(view(**kwargs))

        bp.add_url_rule(rule, view.__name__, run, methods=[method])
        if body_allowance:
            _ALLOWANCES[f"{bp.name}.{view.__name__}"] = body_allowance
        ENDPOINTS.append(
            Endpoint(
                rule,
                method.lower(),
                summary,
                scope,
                body,
                query,
                responses,
                tags or [],
                (view.__doc__ or "").strip(),
                body_allowance,
            )
        )
        return run

    return decorate


PATH_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")
