"""Signing out a staff member who has been idle (a bank's counter PC left signed in).

A signed-in request older than ``SESSION_IDLE_MINUTES`` (default 30; 0 turns this off) after
the last one ends the session: the user is sent to sign in again with the reason and comes
back to the page. The session records when it was last used, at most once a minute (the
cookie is not rewritten on every request). The page warns two minutes before, and typing or
clicking on it keeps the session alive (``/account/keepalive``, from static/js/idle.js), so a
long decision being written is not lost.
"""

from __future__ import annotations

import time

from flask import current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

SEEN_KEY = "_seen"
_NOT_ACTIVITY = frozenset({"static", "vendor_asset", "favicon"})


def idle_seconds() -> int:
    return int(current_app.config.get("SESSION_IDLE_MINUTES") or 0) * 60


def sign_out_idle():
    """before_request: end a session idle for too long; else note this request's time."""
    limit = idle_seconds()
    if not limit or request.endpoint in _NOT_ACTIVITY or request.path.startswith("/api/"):
        return None
    if not current_user.is_authenticated:
        return None
    now = int(time.time())
    seen = session.get(SEEN_KEY)
    if isinstance(seen, int) and now - seen > limit:
        logout_user()
        session.clear()
        flash(f"超过 {limit // 60} 分钟未操作，已自动退出，请重新登录", "warning")
        back = request.full_path.rstrip("?") if request.method == "GET" else None
        if back is None and request.referrer:  # (a form sent after the timeout: its page)
            back = _local_path(request.referrer)
        return redirect(url_for("auth.login", next=back) if back else url_for("auth.login"))
    if not isinstance(seen, int) or now - seen >= 60:
        session[SEEN_KEY] = now
    return None


def _local_path(url: str) -> str | None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


# what a signed-in member whose password an administrator set may still reach
_BEFORE_OWN_PASSWORD = frozenset(
    {"auth.change_password", "auth.logout", "auth.keepalive", *_NOT_ACTIVITY}
)


def require_own_password():
    """before_request: a member whose password an administrator typed (a new account, a reset)
    chooses their own first: every page leads to 修改密码 until then."""
    if request.endpoint in _BEFORE_OWN_PASSWORD or request.path.startswith("/api/"):
        return None
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    return redirect(url_for("auth.change_password"))  # (the page says why)
