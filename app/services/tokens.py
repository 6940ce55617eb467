"""Integration tokens: issue, verify, revoke. Only a SHA-256 hash of each token is stored."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models import ApiToken, User, utcnow
from app.services import audit
from app.services.errors import NotFound, ValidationFailed
from app.services.tx import transactional

log = logging.getLogger(__name__)

SCOPES = {
    "complaints:write": "提交投诉",
    "complaints:read": "读取投诉",
    "invitations:write": "发送问卷邀请",
    "events:write": "推送业务事件",
    "responses:read": "读取答卷",
    "metrics:read": "读取满意度指标",
    "customers:write": "同步客户信息",
    "customers:read": "读取客户信息",
}

TOKEN_PREFIX = "ks_"


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


def hash_token(secret: str) -> str:
    # Tokens carry 256 bits of randomness, so a fast hash is enough; a slow one would only
    # cost every API request time.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_scopes(raw: str | None) -> list[str]:
    """Comma-separated scopes; none given (absent or blank) means every scope, as CONTRACT.md
    says of ``api-tokens create`` and the admin page's form says beside its boxes."""
    scopes = sorted({s.strip() for s in (raw or "").split(",") if s.strip()})
    if not scopes:
        return sorted(SCOPES)
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValidationFailed(f"未知权限范围：{', '.join(unknown)}", field="scopes")
    return scopes


@transactional
def create_token(name: str, scopes: str | None = None, *, actor: User | None = None) -> IssuedToken:
    """Issue a token; the secret is returned once and never stored."""
    name = name.strip()
    if not name:
        raise ValidationFailed("请填写令牌名称", field="name")
    if len(name) > 100:
        raise ValidationFailed("令牌名称最多 100 字", field="name")
    scope_list = parse_scopes(scopes)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[:10],
        scopes=",".join(scope_list),
        created_by_id=actor.id if actor else None,
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        "token.create",
        actor=actor,
        object_type="api_token",
        object_id=token.id,
        detail={"name": token.name, "scopes": scope_list},
    )
    return IssuedToken(token, secret)


def find_token(secret: str) -> ApiToken | None:
    """The usable token with this secret, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    return token if token is not None and token.usable() else None


# How fresh the token list's "最近使用" is: a busy integration's requests write it at most this
# often, so that every API call does not also take the writers' lock.
LAST_USED_STEP = timedelta(minutes=1)


def note_use(token: ApiToken) -> None:
    """Remember that ``token`` was just used (the admin page shows it, so that an unused or
    forgotten token is seen and revoked), to the minute."""
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_STEP:
        try:
            _set_last_used(token.id, now)  # (the commit expires ``token``: it reads it back)
        except SQLAlchemyError:  # bookkeeping: a read must not fail on it (a full disk, say)
            db.session.rollback()
            log.warning("could not note the use of API token %s", token.id, exc_info=True)


@transactional
def _set_last_used(token_id: int, at) -> None:
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .values(last_used_at=at)
        .execution_options(synchronize_session=False)
    )


@transactional
def revoke_token(token_id: int, *, actor: User) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("令牌不存在")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record("token.revoke", actor=actor, object_type="api_token", object_id=token.id)
    return token


def list_tokens() -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())))
