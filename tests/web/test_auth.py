"""Sign-in, sign-out, throttling, CSRF, redirects and role-based access."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select

from app.models import AuditLog, LoginAttempt, Role
from app.web.auth.routes import safe_next
from tests import factories
from tests.support import csrf_token, post_new_user


def test_login_page_is_chinese_and_has_csrf(client):
    page = client.get("/login").get_data(as_text=True)
    assert "员工登录" in page and 'name="csrf_token"' in page


@pytest.mark.parametrize(
    ("username", "home"),
    [
        ("agent", "/staff/"),
        ("manager", "/manager/dashboards/"),
        ("hq", "/manager/dashboards/"),
        ("admin", "/admin/users"),
    ],
)
def test_login_sends_each_role_home(auth, username, home):
    response = auth.login(username)
    assert response.status_code == 302
    assert response.headers["Location"] == home


def test_wrong_password_and_unknown_user_get_the_same_answer(auth, db_session):
    wrong = auth.login("agent", "Wrong#Password1")
    unknown = auth.login("nobody-here", "Wrong#Password1")
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert "用户名或密码错误" in response.get_data(as_text=True)
    failures = db_session.scalars(select(LoginAttempt).where(LoginAttempt.succeeded.is_(False)))
    assert {a.username for a in failures} == {"agent", "nobody-here"}


def test_throttling_after_repeated_failures_blocks_even_the_right_password(auth, app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert auth.login("agent", "Wrong#Password1").status_code == 401
    blocked = auth.login("agent")
    assert blocked.status_code == 429
    assert "登录失败次数过多" in blocked.get_data(as_text=True)
    assert auth.client.get("/staff/").status_code == 302  # still signed out


def test_throttling_is_per_user(auth, app):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        auth.login("agent", "Wrong#Password1")
    assert auth.login("manager").status_code == 302


def test_success_is_audited(auth, db_session):
    auth.login("agent")
    actions = db_session.scalars(select(AuditLog.action)).all()
    assert "login.success" in actions


def test_post_without_csrf_token_is_rejected(client):
    response = client.post("/login", data={"username": "agent", "password": "Kesheng@2026"})
    assert response.status_code == 400
    assert "安全校验失败" in response.get_data(as_text=True)


def test_logout_needs_post_with_csrf(auth, client):
    auth.login("agent")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/staff/").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/staff/").status_code == 302


def test_session_is_renewed_at_login(auth, client):
    client.get("/login")
    before = client.get_cookie("kesheng_session").value
    auth.login("agent")
    assert client.get_cookie("kesheng_session").value != before


def test_disabled_user_cannot_sign_in_and_loses_open_sessions(auth, client, db_session):
    user = factories.user(Role.AGENT, username="leaver")
    assert auth.login("leaver").status_code == 302
    user.active = False
    user.session_version += 1
    db_session.commit()
    assert client.get("/staff/").status_code == 302
    assert auth.login("leaver").status_code == 401


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\\evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "https://evil.example/",
        "/%0d%0aSet-Cookie:x",
        "\\evil",
    ],
)
def test_next_parameter_never_leaves_the_site(auth, target):
    response = auth.login("agent", query_string={"next": target})
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert "evil" not in location


def test_next_parameter_keeps_local_paths():
    assert safe_next("/staff/customers?q=1") == "/staff/customers?q=1"
    assert safe_next(None) is None


@pytest.mark.parametrize(
    ("username", "path", "status"),
    [
        ("agent", "/staff/", 200),
        ("agent", "/manager/", 403),
        ("agent", "/admin/users", 403),
        ("manager", "/manager/", 200),
        ("manager", "/admin/tokens", 403),
        ("hq", "/manager/", 200),
        ("admin", "/admin/audit", 200),
        ("admin", "/staff/customers", 403),
    ],
)
def test_role_access(auth, client, username, path, status):
    auth.login(username)
    assert client.get(path).status_code == status


def test_anonymous_is_sent_to_login(client):
    response = client.get("/staff/customers")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    script_src = next(part for part in csp.split(";") if "script-src" in part)
    assert "unsafe-inline" not in script_src
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_session_cookie_flags(auth, client):
    response = auth.login("agent")
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if "kesheng_session" in h)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_new_password_policy_in_admin_form(auth, client, db_session):
    auth.login("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    response = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_token(page),
            "username": "weakling",
            "display_name": "弱密码",
            "role": "agent",
            "branch": "HZ",
            "password": "12345",
        },
    )
    assert response.status_code == 400
    assert "密码至少需要" in response.get_data(as_text=True)


def test_audit_log_reads_in_chinese(auth, client):
    auth.login("admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "登录成功" in page and "员工账号 系统管理员 · admin" in page  # the sign-in, in words
    # the filter offers the operations by name; the code is only the option's value
    assert '<option value="login.success">登录成功</option>' in page
    assert ">login.success<" not in page and ">staff_user<" not in page
    assert '<option value="staff_user">员工账号</option>' in page  # (the object filter)
    filtered = client.get("/admin/audit?action=login.success").get_data(as_text=True)
    assert '<option value="login.success" selected>登录成功</option>' in filtered


def test_new_user_form_shows_every_problem_at_once(auth, client, db_session):
    auth.login("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    reply = post_new_user(
        client, page, username="a b", display_name="", role="agent", branch="", password="12345"
    )
    text = reply.get_data(as_text=True)
    assert reply.status_code == 400
    for message in ("用户名只能包含", "请输入姓名", "密码至少需要", "必须指定所属机构"):
        assert message in text, message


def test_an_administrator_following_a_staff_link_is_told_why_not(auth, client):
    """The administrator's role keeps out of customers' data (DESIGN.md: accounts, tokens,
    settings): a complaint or answer link is refused with the reason, not told to ask the
    administrator; other staff keep the plain wording."""
    from app.web.errors import ADMIN_FORBIDDEN

    auth.login("admin")
    for path in ("/staff/complaints/1", "/staff/responses/1", "/staff/complaints"):
        response = client.get(path)
        page = unescape(response.get_data(as_text=True))
        assert response.status_code == 403 and ADMIN_FORBIDDEN in page, path
        assert "请联系系统管理员" not in page
    auth.logout()
    auth.login("agent")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "如需开通，请联系系统管理员" in page and ADMIN_FORBIDDEN not in page
