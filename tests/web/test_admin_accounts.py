"""The administrator's account page: role and branch changes, password resets, audited."""

from __future__ import annotations

from sqlalchemy import select

from app.models import AuditLog, User
from tests.support import PASSWORD, csrf_token

NEW_PASSWORD = "Neues#Pass2026"


def _user(db_session, username: str) -> User:
    return db_session.scalar(select(User).where(User.username == username))


def _entries(db_session, action: str, user: User) -> list[AuditLog]:
    stmt = select(AuditLog).where(AuditLog.action == action, AuditLog.object_id == str(user.id))
    return list(db_session.scalars(stmt))


def _post(client, path: str, page_path: str, **fields):
    page = client.get(page_path).get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_token(page), **fields})


def test_the_list_links_each_account_to_its_page(client, auth, db_session):
    auth.login("admin")
    agent = _user(db_session, "agent")
    html = client.get("/admin/users").get_data(as_text=True)
    assert f'href="/admin/users/{agent.id}"' in html
    page = client.get(f"/admin/users/{agent.id}").get_data(as_text=True)
    assert "角色与机构" in page and "重置密码" in page
    assert 'value="HZ" selected' in page or 'selected value="HZ"' in page


def test_a_transfer_moves_the_account_and_its_scope_and_is_audited(client, auth, db_session):
    agent = _user(db_session, "agent")
    auth.login("admin")
    path = f"/admin/users/{agent.id}"
    response = _post(client, path, path, display_name="李坐席", role="branch_manager", branch="NJ")
    assert response.status_code == 302, response.get_data(as_text=True)
    db_session.expire_all()
    agent = _user(db_session, "agent")
    assert (agent.role, agent.branch.code) == ("branch_manager", "NJ")
    (entry,) = _entries(db_session, "user.update", agent)
    assert entry.detail["changes"]["role"] == ["agent", "branch_manager"]
    assert entry.detail["changes"]["branch"] == ["HZ", "NJ"]
    log = client.get("/admin/audit?action=user.update").get_data(as_text=True)
    assert "修改员工角色或机构" in log and "角色 客服坐席→网点负责人；机构 HZ→NJ" in log
    # the moved account now sees Nanjing's customers, no longer Hangzhou's
    auth.logout()
    auth.login("agent")
    customers = client.get("/staff/customers").get_data(as_text=True)
    assert "鼓楼支行" in customers or "江宁支行" in customers
    assert "西湖支行" not in customers and "萧山支行" not in customers


def test_placement_rules_hold_on_the_account_page(client, auth, db_session):
    agent = _user(db_session, "agent")
    auth.login("admin")
    path = f"/admin/users/{agent.id}"
    whole_bank = _post(client, path, path, display_name="李坐席", role="agent", branch="")
    assert whole_bank.status_code == 400 and "必须指定所属机构" in whole_bank.get_data(as_text=True)
    no_name = _post(client, path, path, display_name=" ", role="agent", branch="HZ")
    assert no_name.status_code == 400 and "请输入姓名" in no_name.get_data(as_text=True)
    db_session.expire_all()
    assert _user(db_session, "agent").branch.code == "HZ"
    assert not _entries(db_session, "user.update", agent)


def test_an_administrator_cannot_change_their_own_role(client, auth, db_session):
    admin = _user(db_session, "admin")
    auth.login("admin")
    path = f"/admin/users/{admin.id}"
    response = _post(client, path, path, display_name="管理员", role="agent", branch="HZ")
    assert response.status_code == 400
    assert "不能修改自己的角色" in response.get_data(as_text=True)
    db_session.expire_all()
    assert _user(db_session, "admin").role == "admin"


def test_a_password_reset_ends_the_sessions_and_is_audited(app, client, auth, db_session):
    agent = _user(db_session, "agent")
    agent_client = app.test_client()
    from tests.support import AuthActions

    AuthActions(agent_client).login("agent")
    assert agent_client.get("/staff/customers").status_code == 200
    auth.login("admin")
    page = f"/admin/users/{agent.id}"
    weak = _post(client, f"{page}/password", page, password="short")
    assert weak.status_code == 400 and "密码至少需要" in weak.get_data(as_text=True)
    response = _post(client, f"{page}/password", page, password=NEW_PASSWORD)
    assert response.status_code == 302
    assert "密码已重置" in client.get(response.location).get_data(as_text=True)
    # the agent's open session is over; the old password no longer works, the new one does
    assert agent_client.get("/staff/customers").status_code in (302, 401)
    assert AuthActions(app.test_client()).login("agent", PASSWORD).status_code == 401
    assert AuthActions(app.test_client()).login("agent", NEW_PASSWORD).status_code == 302
    (entry,) = _entries(db_session, "user.password_reset", agent)
    assert entry.actor_name == "admin" and NEW_PASSWORD not in str(entry.detail)


def test_only_administrators_reach_the_account_page(client, auth, db_session):
    agent = _user(db_session, "agent")
    auth.login("hq")
    assert client.get(f"/admin/users/{agent.id}").status_code == 403
    auth.logout()
    auth.login("admin")
    assert client.get("/admin/users/999999").status_code == 404
