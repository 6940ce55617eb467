"""Writing the audit log; records are never changed afterwards."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, AuditLog, User
from app.services.errors import ValidationFailed

MIN_REASON = 4


def client_ip() -> str | None:
    return request.remote_addr if has_request_context() else None


def record(
    action: str,
    *,
    actor: User | None = None,
    token: ApiToken | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit record to the current transaction (the caller's service commits it)."""
    if actor is None and token is None and has_request_context():
        if getattr(current_user, "is_authenticated", False):
            actor = current_user
    name = actor.username if actor else (f"token:{token.name}" if token else "system")
    entry = AuditLog(
        actor_id=actor.id if actor else None,
        token_id=token.id if token else None,
        actor_name=name,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        reason=reason,
        ip=client_ip(),
        detail=detail or {},
    )
    db.session.add(entry)
    return entry


def recent_entries(*, action: str | None = None, limit: int = 200) -> list[AuditLog]:
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    return list(db.session.scalars(stmt))


def action_choices() -> list[tuple[str, str]]:
    """(code, words) of every action the log holds, by words: the filter's drop-down."""
    codes = db.session.scalars(select(AuditLog.action).distinct())
    return sorted(((code, action_label(code)) for code in codes), key=lambda c: (c[1], c[0]))


def record_unmasked_view(
    object_type: str, object_id: Any, *, actor: User, reason: str, detail: dict[str, Any]
) -> AuditLog:
    """Audit a view of full personal data; the reason is required (JR/T 0171 access logging)."""
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationFailed(f"查看完整信息须填写事由（至少 {MIN_REASON} 个字）", field="reason")
    return record(
        f"{object_type}.view_unmasked",
        actor=actor,
        object_type=object_type,
        object_id=object_id,
        reason=reason[:500],
        detail=detail,
    )


ACTION_LABELS = {
    "login.success": "登录成功",
    "login.failure": "登录失败",
    "user.create": "新建员工账号",
    "user.disable": "停用员工账号",
    "user.enable": "启用员工账号",
    "token.create": "创建接口令牌",
    "token.revoke": "吊销接口令牌",
    "customers.import": "导入客户名单",
    "dashboard.export": "导出看板数据",
    "responses.export": "导出答卷",
    "retention.run": "到期个人信息匿名化",
}
OBJECT_LABELS = {
    "api_token": "接口令牌",
    "complaint": "投诉",
    "customer": "客户",
    "dashboard_table": "看板表格",
    "problem": "整改问题",
    "retention": "数据保留",
    "staff_user": "员工账号",
    "survey_response": "答卷",
}


def action_label(action: str) -> str:
    """The audit log's action in words (the code stays beside it for filtering)."""
    if action.endswith(".view_unmasked"):
        kind = action.removesuffix(".view_unmasked")
        return f"查看{OBJECT_LABELS.get(kind, kind)}完整个人信息"
    return ACTION_LABELS.get(action, action)


def object_label(object_type: str | None) -> str:
    return OBJECT_LABELS.get(object_type or "", object_type or "")


def object_text(entry: AuditLog) -> str:
    """The audit entry's object in words: ``投诉 #T2026…``, or for an exported dashboard table
    its Chinese title (``看板表格 总览 · 文本情感分布``) rather than the internal
    ``overview.sentiment_trend``, which only older entries (no title recorded) still show."""
    label = object_label(entry.object_type)
    title = (entry.detail or {}).get("title") if entry.object_type == "dashboard_table" else None
    if title:
        return f"{label} {title}"
    return f"{label} #{entry.object_id}" if entry.object_id else label
