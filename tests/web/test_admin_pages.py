"""The administrator's pages: staff accounts and API tokens."""

from __future__ import annotations

import re

from tests.support import csrf_token, post_new_user, selected_value


def _name_field(html: str) -> str:
    match = re.search(r'<input[^>]*name="name"[^>]*>', html)
    assert match, "the page has no token name field"
    return match.group(0)


def test_the_token_form_is_empty_again_after_a_token_is_created(client, auth):
    auth.login("admin")
    page = client.get("/admin/tokens").get_data(as_text=True)
    response = client.post(
        "/admin/tokens",
        data={"csrf_token": csrf_token(page), "name": "核心系统", "scopes": ["complaints:write"]},
    )
    assert response.status_code == 302
    html = client.get(response.location).get_data(as_text=True)
    assert "令牌“核心系统”已创建" in html
    assert 'value="核心系统"' not in _name_field(html)  # ready for the next token
    scope_box = re.search(r'<input[^>]*value="complaints:write"[^>]*>', html).group(0)
    assert "checked" not in scope_box


def test_reloading_after_a_token_is_created_issues_no_second_token(client, auth, db_session):
    from sqlalchemy import func, select

    from app.models import ApiToken

    def live() -> int:
        return db_session.scalar(
            select(func.count(ApiToken.id)).where(ApiToken.revoked_at.is_(None))
        )

    auth.login("admin")
    before = live()
    page = client.get("/admin/tokens").get_data(as_text=True)
    response = client.post(
        "/admin/tokens", data={"csrf_token": csrf_token(page), "name": "核心系统"}
    )
    assert response.status_code == 302  # post, redirect, get: a reload only repeats the GET
    shown = client.get(response.location)
    html = shown.get_data(as_text=True)
    secret = re.search(r'<code class="secret">([^<]+)</code>', html).group(1)
    assert "令牌“核心系统”已创建" in html and shown.headers["Cache-Control"] == "no-store"
    reloaded = client.get(response.location).get_data(as_text=True)
    assert secret not in reloaded and "已创建" not in reloaded  # shown once only
    assert live() == before + 1


def test_a_refused_token_keeps_what_was_typed(client, auth):
    auth.login("admin")
    page = client.get("/admin/tokens").get_data(as_text=True)
    response = client.post(
        "/admin/tokens", data={"csrf_token": csrf_token(page), "name": "x" * 101}
    )
    assert response.status_code == 400
    # shown back as far as the field holds (a browser cannot type past its maxlength of 100)
    assert 'value="' + "x" * 100 + '"' in _name_field(response.get_data(as_text=True))


def test_token_status_and_dates_do_not_wrap(client, auth):
    auth.login("admin")
    page = client.get("/admin/tokens").get_data(as_text=True)
    client.post("/admin/tokens", data={"csrf_token": csrf_token(page), "name": "手机银行"})
    html = client.get("/admin/tokens").get_data(as_text=True)
    assert '<td class="nowrap">有效</td>' in html


def test_the_new_user_form_asks_for_the_branch_every_time(client, auth, db_session):
    """The form opened on the first 分行: a head-office manager created without touching the
    field was kept to 杭州分行, and an agent was given its customers' data unasked."""
    from sqlalchemy import select

    from app.models import User

    auth.login("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert selected_value(page, "branch") == ""  # （请选择）
    for role, said in (("hq_manager", "请选择所属机构"), ("agent", "必须指定所属机构")):
        refused = post_new_user(
            client, page, username="new_one", display_name="新账号", role=role, branch="",
            password="Kesheng@2026x",
        )  # fmt: skip
        assert refused.status_code == 400 and said in refused.get_data(as_text=True)
    assert db_session.scalar(select(User).where(User.username == "new_one")) is None
    for username, role, branch in (("new_hq", "hq_manager", "*"), ("new_agent", "agent", "HZ")):
        made = post_new_user(
            client, page, username=username, display_name="新账号", role=role, branch=branch,
            password="Kesheng@2026x",
        )  # fmt: skip
        assert made.status_code == 302, made.get_data(as_text=True)
    hq = db_session.scalar(select(User).where(User.username == "new_hq"))
    agent = db_session.scalar(select(User).where(User.username == "new_agent"))
    assert hq.role == "hq_manager" and hq.branch.parent_id is None  # (head office: all of it)
    assert agent.role == "agent" and agent.branch.code == "HZ"


def test_an_agent_for_the_whole_bank_is_refused_in_words(client, auth):
    auth.login("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    response = post_new_user(
        client, page, username="whole_bank", display_name="坐席", role="agent", branch="*",
        password="Kesheng@2026x",
    )  # fmt: skip
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "必须指定所属机构" in html and "只适用于总分行管理和系统管理员" in html
    assert "全行（不指定机构）" in html  # the option the message names


def test_the_token_list_shows_when_each_token_was_last_used(client, auth, db_session):
    from datetime import timedelta

    from app.models import utcnow
    from app.services import tokens

    issued = tokens.create_token("手机银行", "metrics:read")
    unused = tokens.create_token("旧系统", None)
    auth.login("admin")
    html = client.get("/admin/tokens").get_data(as_text=True)
    assert html.count("从未使用") == 2
    headers = {"Authorization": f"Bearer {issued.secret}"}
    assert client.get("/api/v1/branches", headers=headers).status_code == 200
    db_session.expire_all()
    first = db_session.get(type(issued.token), issued.token.id).last_used_at
    assert first is not None and utcnow() - first < timedelta(minutes=1)
    assert db_session.get(type(unused.token), unused.token.id).last_used_at is None
    row = re.search(rf'<tr[^>]*id="token-{issued.token.id}".*?</tr>', _tokens(client), re.S)
    assert "从未使用" not in row.group(0)
    row = re.search(rf'<tr[^>]*id="token-{unused.token.id}".*?</tr>', _tokens(client), re.S)
    assert "从未使用" in row.group(0) and "全部权限" in row.group(0)


def _tokens(client) -> str:
    return client.get("/admin/tokens").get_data(as_text=True)


def test_a_new_installation_s_administrator_is_shown_where_to_begin(client, auth, tmp_path):
    """A first administrator met an empty accounts page, and an agent refused for want of a
    branch, with nothing saying to set up branches, products and staff first."""
    from app.extensions import db
    from app.services import users
    from tests.support import AuthActions, make_app, migrate_to_head

    auth.login("admin")  # the demo bank: everything in place, no such panel
    assert "开始使用" not in client.get("/admin/users").get_data(as_text=True)

    fresh = make_app(f"sqlite:///{tmp_path / 'new-bank.db'}")
    with fresh.app_context():
        migrate_to_head()
        users.create_user("first-admin", "admin", "Kesheng@2026-first")
        db.session.commit()
        db.session.remove()
    new_client = fresh.test_client()
    AuthActions(new_client).login("first-admin", "Kesheng@2026-first")
    html = new_client.get("/admin/users").get_data(as_text=True)
    assert "开始使用：新系统的准备步骤" in html
    steps = re.findall(r'<li><a href="([^"]+)">([^<]+)</a>', html)
    assert "BANK_NAME" in html  # (where the bank's name is set)
    assert steps == [
        ("/admin/branches", "建立机构"),
        ("/admin/products", "建立产品"),
        ("/admin/users", "新建总分行管理账号"),
        ("/admin/users", "新建坐席和机构负责人账号"),
    ]
    with fresh.app_context():
        db.engine.dispose()
