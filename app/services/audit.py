"""Writing the audit log; records are never changed afterwards."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, AuditLog, User


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
