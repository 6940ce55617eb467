"""Writing the audit log; records are never changed afterwards (reading it: audit_trail)."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user

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
