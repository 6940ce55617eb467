"""The OpenAPI 3.1 document, generated from the endpoint registry and the pydantic models."""

from __future__ import annotations

import re
from typing import Any

from flask import jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.web.api import bp
from app.web.api.registry import ENDPOINTS, PATH_PARAM, body_limit, scope_text
from app.web.api.schemas import ErrorBody

STATUS_TEXT = {
    200: "成功",
    201: "已创建",
    202: "已受理",
    400: "请求有误",
    401: "未认证",
    403: "权限不足",
    404: "不存在",
    409: "冲突",
    410: "已失效",
    413: "内容过大",
    415: "须为 JSON",
    422: "校验失败",
}


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for conv, name in PATH_PARAM.findall(rule):
        schema = {"type": "integer"} if conv == "int" else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return "/api" + PATH_PARAM.sub(lambda m: "{" + m.group(2) + "}", rule), params


def _operation_id(method: str, path: str, taken: set[str]) -> str:
    """``get_api_v1_invitations_invitation_id``: the method and the path's words joined by
    underscores (code generators make function names of it), numbered on a clash."""
    base = "_".join([method, *re.findall(r"[A-Za-z0-9]+", path)])
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    required = set(schema.get("required", []))
    return [
        # (an empty value, ``since=``, reads as the parameter not given)
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "allowEmptyValue": True,
            "schema": prop,
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _responses(ep: Any) -> dict[int, type[BaseModel] | None]:
    """The endpoint's declared answers, plus those every request can get: 400 (a NUL byte in
    the path or query, JSON that does not parse) and, with a body, 413 and 415."""
    answers = {400: ErrorBody, **ep.responses}
    if ep.body is not None:
        answers = {413: ErrorBody, 415: ErrorBody, **answers}
    return answers


def build_document() -> dict[str, Any]:
    wanted: set[tuple[type[BaseModel], str]] = set()
    for ep in ENDPOINTS:
        wanted.update((m, "serialization") for m in _responses(ep).values() if m is not None)
        if ep.body is not None:
            wanted.add((ep.body, "validation"))
    ordered = sorted(wanted, key=lambda pair: (pair[0].__name__, pair[1]))
    refs, defs = models_json_schema(ordered, ref_template="#/components/schemas/{model}")
    schemas = defs.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    for ep in ENDPOINTS:
        path, params = _path(ep.rule)
        if ep.query is not None:
            params += _query_params(ep.query)
        op: dict[str, Any] = {
            "operationId": _operation_id(ep.method, path, operation_ids),
            "summary": ep.summary,
            "description": ep.description
            + (f"\n\n需要权限范围：{scope_text(ep.scope)}" if ep.scope else "")
            + (f"\n\n请求体不超过 {body_limit(ep.body_allowance):,} 字节" if ep.body else ""),
            "tags": ep.tags,
            "parameters": params,
            "security": [{"bearerAuth": []}],
            "responses": {
                str(code): {
                    "description": STATUS_TEXT.get(code, str(code)),
                    **(
                        {
                            "content": {
                                "application/json": {"schema": refs[(model, "serialization")]}
                            }
                        }
                        if model
                        else {}
                    ),
                }
                for code, model in sorted(_responses(ep).items())
            },
        }
        if ep.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(ep.body, "validation")]}},
            }
        paths.setdefault(path, {})[ep.method] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Kesheng 客声 API",
            "version": "1.0.0",
            "description": "Voice-of-the-customer platform for Chinese banks.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(build_document())
