"""Every signed-in staff member changes their own password: the current one is required and a
wrong one counts towards the sign-in throttle; the new one follows the password policy; the
other sessions of the account end while this one goes on; the change is audited."""

from __future__ import annotations

from sqlalchemy import select

from app.models import AuditLog, LoginAttempt
from tests import factories
from tests.support import PASSWORD, csrf_token

NEW = "Xinmima#2027"


def _change(client, current: str, new: str, confirm: str | None = None):
    page = client.get("/account/password")
    assert page.status_code == 200
    return client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "current_password": current,
            "new_password": new,
            "confirm": new if confirm is None else confirm,
        },
    )


def test_a_staff_member_changes_their_password_and_other_sessions_end(
    app, client, auth, db_session
):
    user = factories.user(username="pwchange1", display_name="改密坐席")
    db_session.commit()
    other_device = app.test_client()
    for session in (client, other_device):
        page = session.get("/login")
        token = csrf_token(page.get_data(as_text=True))
        login = {"username": "pwchange1", "password": PASSWORD, "csrf_token": token}
        assert session.post("/login", data=login).status_code == 302
    assert "修改密码" in client.get("/staff/").get_data(as_text=True)  # (the header's link)

    done = _change(client, PASSWORD, NEW)
    assert done.status_code == 302
    assert "密码已修改" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert client.get("/staff/").status_code == 200  # this session goes on
    assert "/login" in other_device.get("/staff/").headers.get("Location", "")  # that one ended
    entry = db_session.scalars(
        select(AuditLog).where(AuditLog.action == "user.password_change")
    ).one()
    assert entry.actor_id == user.id and NEW not in str(entry.detail)

    auth.logout()
    assert auth.login("pwchange1", PASSWORD).status_code == 401  # the old one no longer works
    assert auth.login("pwchange1", NEW).status_code == 302


def test_bad_input_is_refused_in_chinese_and_nothing_changes(client, auth, db_session):
    factories.user(username="pwchange2", display_name="改密经理")
    db_session.commit()
    auth.login("pwchange2")
    cases = [
        (("wrong-password", NEW, None), "当前密码不正确"),
        ((PASSWORD, NEW, NEW + "x"), "两次输入的新密码不一致"),
        ((PASSWORD, "short1A!", None), "密码至少需要 10 个字符"),
        ((PASSWORD, "alllowercaseletters", None), "至少三类"),
        ((PASSWORD, PASSWORD, None), "新密码不能与当前密码相同"),
        (("", "", ""), "请输入当前密码"),
    ]
    for (current, new, confirm), message in cases:
        refused = _change(client, current, new, confirm)
        assert refused.status_code == 400 and message in refused.get_data(as_text=True), message
    # a wrong current password is a failed sign-in of the account (the /login throttle)
    failures = db_session.scalars(
        select(LoginAttempt).where(
            LoginAttempt.username == "pwchange2", LoginAttempt.succeeded.is_(False)
        )
    ).all()
    assert len(failures) == 1
    auth.logout()
    assert auth.login("pwchange2", PASSWORD).status_code == 302  # unchanged


def test_guessing_the_current_password_is_throttled_like_sign_in(app, client, auth, db_session):
    factories.user(username="pwchange3", display_name="改密测试")
    db_session.commit()
    auth.login("pwchange3")
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert "当前密码不正确" in _change(client, "guess-guess", NEW).get_data(as_text=True)
    locked = _change(client, PASSWORD, NEW)  # even the right one, once over the limit
    assert locked.status_code == 429 and "登录失败次数过多" in locked.get_data(as_text=True)
    auth.logout()
    assert auth.login("pwchange3", NEW).status_code != 302  # the password did not change


def test_signed_out_visitors_are_sent_to_sign_in(client):
    reply = client.get("/account/password")
    assert reply.status_code == 302 and "/login" in reply.headers["Location"]
