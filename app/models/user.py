"""Staff accounts, integration tokens and sign-in attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import TimestampMixin, db, utcnow
from app.models.org import Branch


class Role(StrEnum):
    AGENT = "agent"
    BRANCH_MANAGER = "branch_manager"
    HQ_MANAGER = "hq_manager"
    ADMIN = "admin"


ROLE_LABELS = {
    Role.AGENT: "客服坐席",
    Role.BRANCH_MANAGER: "机构负责人",
    Role.HQ_MANAGER: "总分行管理",
    Role.ADMIN: "系统管理员",
}


# A staff login: what an account may be created with, and what the complaint history reads
# back out of a stored "显示名（login）" (app.services.complaints.actor_parts). Two characters
# at least: the head office's demo login is ``hq``.
USERNAME_PATTERN = r"[A-Za-z0-9_.-]{2,64}"


class User(UserMixin, TimestampMixin, db.Model):
    """A staff member; ``branch`` is the root of the subtree they may see."""

    __tablename__ = "staff_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(String(20))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    session_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[datetime | None]
    # set by an administrator (a new account, a reset): the first sign-in leads to 修改密码,
    # so the password someone else typed does not stay the account's
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())

    branch: Mapped[Branch | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login: disabled accounts cannot sign in
        return self.active

    def get_id(self) -> str:
        # The version invalidates every session of this user when it is bumped (sign-out
        # everywhere, password change, account disabled).
        return f"{self.id}:{self.session_version}"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(Role(self.role), self.role)

    def has_role(self, *roles: Role) -> bool:
        return Role(self.role) in roles


class ApiToken(TimestampMixin, db.Model):
    """A bearer token for an integration; only a SHA-256 hash of the secret is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(s for s in self.scopes.split(",") if s)

    def usable(self, *, at: datetime | None = None) -> bool:
        now = at or utcnow()
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now


class LoginAttempt(db.Model):
    """One sign-in attempt, kept to throttle guessing across every worker process."""

    __tablename__ = "login_attempt"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    succeeded: Mapped[bool]
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
