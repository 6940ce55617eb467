"""Error pages in Chinese for people, JSON errors for /api/ and /healthz clients."""

from __future__ import annotations

import logging
import re

from flask import Flask, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.extensions import db
from app.models import Role
from app.security import pii
from app.services.errors import ServiceError

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("请求有误", "提交的内容无法处理，请返回后重试。"),
    401: ("需要登录", "请先登录。"),
    403: ("没有权限", "您的账号无权访问此页面。如需开通，请联系系统管理员。"),
    404: ("页面不存在", "您访问的页面不存在或已被移除。"),
    405: ("请求方式不支持", "该页面不支持此操作。"),
    409: ("数据冲突", "数据已被他人修改，请刷新后重试。"),
    410: ("链接已失效", "该链接已过期或已失效。"),
    413: ("内容过大", "提交的内容超过了允许的大小。"),
    422: ("内容不符合要求", "提交的内容未通过校验。"),
    429: ("操作过于频繁", "请稍后再试。"),
    500: ("系统繁忙", "系统出现了意外错误，我们已记录此问题，请稍后再试。"),
    503: ("服务暂不可用", "系统正在维护或数据库暂时不可用，请稍后再试。"),
}

# The JSON errors' wording where the page's would speak of pages ("请返回后重试").
API_MESSAGES = {
    400: "请求无法处理：路径、参数或请求内容含有不允许的字符或格式",
    404: "接口地址不存在（请核对路径和资源编号，接口说明见 /api/openapi.json）",
    405: "该接口地址不支持此请求方式",
    413: "请求内容超过允许的大小",
}

API_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


_SURVEY_TOKEN = re.compile(r"^/s/+[^/]+")
# a survey link's token within a text (a message body): the URL-safe characters after /s/
_SURVEY_LINK_TOKEN = re.compile(r"/s/([A-Za-z0-9_-]+)")


def logged_path() -> str:
    """The request path for a log line: a customer's survey token is never written to logs."""
    return _SURVEY_TOKEN.sub("/s/…", request.path)


def mask_survey_links(text: str, *, keep: int = 0) -> str:
    """``text`` with each survey link's one-time token masked as the logs mask it (``/s/…``),
    keeping its first ``keep`` characters (``/s/AbCd…``) to tell messages apart."""
    return _SURVEY_LINK_TOKEN.sub(lambda m: f"/s/{m[1][:keep]}…", text or "")


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def json_error(status: int, message: str, *, code: str | None = None, fields=None):
    body = {"error": {"code": code or API_CODES.get(status, "error"), "message": message}}
    if fields:
        body["error"]["fields"] = fields
    return jsonify(body), status


def for_customer() -> bool:
    """Whether a customer may be reading this error page: nobody is signed in and the address is
    a customers' page or none at all (a mistyped survey link). Such a page carries the bank's
    name and never points at Kesheng's "/", the staff landing page."""
    return not current_user.is_authenticated and request.blueprint in (None, "public")


# An administrator following a staff link (a notice's link to a case, say) is not told to ask
# the administrator: the role itself stays out of customers' data.
ADMIN_FORBIDDEN = (
    "系统管理员账号负责员工账号、机构、产品、接口令牌和运行状态，不办理投诉、不查看答卷和看板"
    "（职责分离，保护客户信息）。请使用坐席或管理人员的账号登录查看。"
)


def _page(status: int, detail: str | None = None):
    title, text = MESSAGES.get(status, MESSAGES[500])
    if status == 403 and detail is None and getattr(current_user, "role", None) == Role.ADMIN:
        text = ADMIN_FORBIDDEN
    page = render_template(
        "errors/error.html",
        status=status,
        title=title,
        text=detail or text,
        customer=for_customer(),
    )
    return page, status


def handle_http(err: HTTPException):
    status = err.code or 500
    if wants_json():
        message = API_MESSAGES.get(status) or MESSAGES.get(status, MESSAGES[500])[1]
        response = json_error(status, message)
        if status == 405 and getattr(err, "valid_methods", None):
            response[0].headers["Allow"] = ", ".join(err.valid_methods)
        return response
    return _page(status)


def handle_csrf(err: CSRFError):
    if wants_json():
        return json_error(400, "缺少或无效的安全令牌（CSRF）", code="csrf_failed")
    return _page(400, "页面已过期或安全校验失败，请刷新页面后重新提交。")


def handle_unexpected(err: Exception):
    original = getattr(err, "original_exception", None) or err
    log.exception("unhandled error on %s %s", request.method, logged_path(), exc_info=original)
    if wants_json():
        return json_error(500, MESSAGES[500][1])
    return _page(500)


def handle_database_down(err: DBAPIError):
    db.session.rollback()
    log.warning(
        "database unavailable on %s %s: %s",
        request.method,
        logged_path(),
        type(err.orig).__name__ if err.orig else err,
    )
    if wants_json():
        return json_error(503, "数据库暂时不可用，请稍后重试")
    return _page(503)


def handle_key_mismatch(err: pii.KeyMismatch):
    # An operator's error (SECRET_KEY rotated without PII_KEY set to the old one): said plainly
    # in the log and to the caller, not a generic 500 on every request that reads a customer.
    db.session.rollback()
    log.error("%s on %s %s", err, request.method, logged_path())
    text = "个人信息无法解密：系统密钥（PII_KEY）与数据加密时所用的不一致，请联系系统管理员"
    if wants_json():
        return json_error(503, text, code="pii_key_mismatch")
    return _page(503, text)


def handle_bad_data(err: DataError):
    # A value the database cannot store (e.g. a NUL byte in text on PostgreSQL) is bad input.
    db.session.rollback()
    if wants_json():
        return json_error(400, "提交的数据包含无法保存的字符或数值")
    return _page(400, "提交的数据包含无法保存的字符或数值，请检查后重试。")


def handle_service_error(err: ServiceError):
    if wants_json():
        return json_error(err.status, err.message, code=err.code, fields=err.fields or None)
    return _page(err.status, err.message)


def register(app: Flask) -> None:
    app.register_error_handler(ServiceError, handle_service_error)
    app.register_error_handler(OperationalError, handle_database_down)
    app.register_error_handler(DataError, handle_bad_data)
    app.register_error_handler(pii.KeyMismatch, handle_key_mismatch)
    app.register_error_handler(CSRFError, handle_csrf)
    app.register_error_handler(HTTPException, handle_http)
    app.register_error_handler(InternalServerError, handle_unexpected)
    app.register_error_handler(Exception, handle_unexpected)
