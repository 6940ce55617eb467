"""Staff sign-in with throttling that holds across every worker process (kept in the database)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import LoginAttempt, User, utcnow
from app.security.passwords import password_problem, verify_password
from app.services import audit
from app.services.errors import ServiceError, TooManyAttempts, ValidationFailed
from app.services.tx import transactional
from app.services.users import store_password

# One message for an unknown user, a wrong password and a disabled account, so that the form
# never tells an attacker which user names exist.
BAD_CREDENTIALS = "用户名或密码错误"
THROTTLED = "登录失败次数过多，请 {minutes} 分钟后再试"


class BadCredentials(ServiceError):
    status = 401
    code = "bad_credentials"


def _failures(column, value: str, since) -> int:
    stmt = select(func.count(LoginAttempt.id)).where(
        column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since
    )
    return db.session.scalar(stmt) or 0


def _throttled(username: str, ip: str, *, counting_own: bool = False) -> bool:
    """The account or the address has used up its failures in the window. ``counting_own``:
    the caller's own attempt is already counted (as a failure until it is decided)."""
    cfg = current_app.config
    since = utcnow() - timedelta(minutes=cfg["LOGIN_FAILURE_WINDOW_MINUTES"])
    last_ok = db.session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.succeeded.is_(True)
        )
    )
    user_since = max(since, last_ok) if last_ok else since
    own = int(counting_own)
    if _failures(LoginAttempt.username, username, user_since) - own >= cfg["LOGIN_MAX_FAILURES"]:
        return True
    return _failures(LoginAttempt.ip, ip, since) - own >= cfg["LOGIN_MAX_FAILURES_PER_IP"]


@transactional
def _open_attempt(username: str, ip: str) -> int:
    """The attempt, recorded as a failure before its password is checked (its own commit), so
    that attempts sent side by side count one another: each counted the failures before any
    was recorded, and 8 of 24 parallel guesses were checked against a limit of 5."""
    attempt = LoginAttempt(username=username, ip=ip, succeeded=False)
    db.session.add(attempt)
    db.session.flush()
    return attempt.id


@transactional
def _record_attempt(
    username: str, ip: str, user: User | None, ok: bool, attempt_id: int | None = None
) -> None:
    attempt = db.session.get(LoginAttempt, attempt_id) if attempt_id is not None else None
    if attempt is None:
        db.session.add(LoginAttempt(username=username, ip=ip, succeeded=ok))
    else:
        attempt.succeeded = ok
    if ok and user is not None:
        user.last_login_at = utcnow()
    audit.record(
        "login.success" if ok else "login.failure",
        actor=user if ok else None,
        object_type="staff_user",
        object_id=user.id if user else None,
        detail={"username": username},
    )


def authenticate(username: str, password: str, *, ip: str) -> User:
    """The active user with these credentials; raises BadCredentials or TooManyAttempts.

    Every attempt is recorded (success or failure) and audited, so throttling works across
    gunicorn workers and the archive shows who tried to sign in from where.
    """
    key = username.strip().lower()[:64]
    ip = (ip or "unknown")[:64]
    minutes = current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"]
    if _throttled(key, ip):
        _record_attempt(key, ip, None, False)
        raise TooManyAttempts(THROTTLED.format(minutes=minutes))
    attempt_id = _open_attempt(key, ip)
    if _throttled(key, ip, counting_own=True):  # (others sent at the same moment came first)
        _record_attempt(key, ip, None, False, attempt_id)
        raise TooManyAttempts(THROTTLED.format(minutes=minutes))
    user = db.session.scalar(select(User).where(func.lower(User.username) == key))
    ok = verify_password(user.password_hash if user else None, password)
    ok = ok and user is not None and user.active
    _record_attempt(key, ip, user if ok else None, ok, attempt_id)
    if not ok:
        raise BadCredentials(BAD_CREDENTIALS)
    return user


@transactional
def sign_out(user_id: int) -> None:
    """End every session of this user: a session cookie copied before sign-out stops working
    (the cookie is signed client-side, so only the bumped version can invalidate it)."""
    user = db.session.get(User, user_id)
    if user is None:
        return
    user.session_version += 1
    audit.record("logout", actor=user, object_type="staff_user", object_id=user.id)


def change_own_password(user: User, current: str, new: str, *, ip: str) -> User:
    """The signed-in user's own new password. The current one must be given (a session left
    open on a shared counter PC cannot be taken over), and a wrong one counts as a failed
    sign-in of the account, under the same throttle as /login (guessing here is no easier than
    there). Every session of the account ends (the caller signs this one in again); audited,
    never the password. Raises ValidationFailed (field current / new) or TooManyAttempts."""
    key, ip = user.username.lower(), (ip or "unknown")[:64]
    if _throttled(key, ip):
        minutes = current_app.config["LOGIN_FAILURE_WINDOW_MINUTES"]
        raise TooManyAttempts(THROTTLED.format(minutes=minutes))
    if not verify_password(user.password_hash, current):
        _record_attempt(key, ip, None, False)
        raise ValidationFailed("当前密码不正确", field="current_password")
    if new == current:
        raise ValidationFailed("新密码不能与当前密码相同", field="new_password")
    problem = password_problem(new)
    if problem:
        raise ValidationFailed(problem, field="new_password")
    return _set_own_password(user.id, new)


@transactional
def _set_own_password(user_id: int, new: str) -> User:
    user = db.session.get(User, user_id)
    store_password(user, new, action="user.password_change", actor=user)
    return user
