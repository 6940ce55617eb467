"""Sign-in, sign-out and the Flask-Login user loader."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from app.extensions import db, login_manager
from app.models import Role, User
from app.services import auth as auth_service
from app.services.errors import ServiceError
from app.web.auth import bp, idle
from app.web.auth.forms import LoginForm, PasswordForm

login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录"
login_manager.login_message_category = "warning"
login_manager.session_protection = "strong"


# The branch comes with the user: every staff page needs it for the branch scope. One statement
# for the process: used again, it keeps its cache key, which SQLAlchemy would otherwise work out
# on every request (with building the statement, half the cost of loading the user).
_USER_WITH_BRANCH = (
    select(User).options(joinedload(User.branch)).where(User.id == bindparam("user_id"))
)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    ident, _, version = user_id.partition(":")
    if not (ident.isascii() and ident.isdigit()):
        return None
    user = db.session.scalars(_USER_WITH_BRANCH, {"user_id": int(ident)}).first()
    if user is None or str(user.session_version) != version or not user.active:
        return None
    return user


def safe_next(target: str | None) -> str | None:
    """A local path to go to after sign-in, or None: never another site (open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(c in target for c in "\\\r\n\t") or urlsplit(target).netloc:
        return None
    return target


def home_for(user: User) -> str:
    if user.has_role(Role.ADMIN):
        return url_for("admin.users")
    if user.has_role(Role.HQ_MANAGER, Role.BRANCH_MANAGER):
        return url_for("manager.dashboards")
    return url_for("staff.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = auth_service.authenticate(
                form.username.data, form.password.data, ip=request.remote_addr or ""
            )
        except ServiceError as err:
            form.form_errors.append(err.message)
            status = err.status
        else:
            session.clear()  # a fresh session at sign-in: no session fixation
            login_user(user)
            session[idle.SEEN_KEY] = int(time.time())
            return redirect(safe_next(request.args.get("next")) or home_for(user))
    elif form.is_submitted():
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    auth_service.sign_out(current_user.id)
    logout_user()
    session.clear()
    flash("您已安全退出", "success")
    return redirect(url_for("auth.login"))


@bp.post("/account/keepalive")
@login_required
def keepalive():
    """The page's typing or clicking keeps the session alive (static/js/idle.js): its request
    time is noted exactly, not to the minute as for pages (the page counts from it)."""
    session[idle.SEEN_KEY] = int(time.time())
    return "", 204


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Any signed-in staff member changes their own password (every other session ends)."""
    form = PasswordForm()
    status = 400 if form.is_submitted() else 200  # (a form refused for its input)
    if form.validate_on_submit():
        try:
            user = auth_service.change_own_password(
                current_user,
                form.current_password.data,
                form.new_password.data,
                ip=request.remote_addr or "",
            )
        except ServiceError as err:
            form.attach(err)
            status = 429 if err.status == 429 else 400
        else:
            login_user(user)  # this session goes on, under the new session version
            flash("密码已修改，其他设备上的登录已退出", "success")
            return redirect(home_for(user))
    return render_template("auth/password.html", form=form), status
