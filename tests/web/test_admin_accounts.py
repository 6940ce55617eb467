"""The administrator's account page: role and branch changes, password resets, audited."""

from __future__ import annotations

import re

from sqlalchemy import func, select

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
    assert "修改员工角色或机构" in log and "角色 客服坐席→机构负责人；机构 HZ→NJ" in log
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
    whole_bank = _post(client, path, path, display_name="李坐席", role="agent", branch="*")
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


def test_a_password_an_administrator_set_is_changed_at_the_first_sign_in(app, client, auth):
    """A new account's password, or a reset one, was typed by the administrator and could stay
    the account's for good: its holder is now led to 修改密码 until they choose their own."""
    from app.extensions import db
    from app.models import User
    from tests.support import AuthActions, csrf_token, post_new_user

    auth.login("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    created = post_new_user(
        client, page, username="first_day", display_name="新坐席", role="agent", branch="HZ",
        password=NEW_PASSWORD,
    )  # fmt: skip
    assert created.status_code == 302
    newcomer = app.test_client()
    signed_in = AuthActions(newcomer).login("first_day", NEW_PASSWORD)
    assert newcomer.get(signed_in.location).location == "/account/password"
    for path in ("/staff/customers", "/staff/complaints", "/"):
        assert newcomer.get(path).location == "/account/password", path
    form = newcomer.get("/account/password").get_data(as_text=True)
    assert "您的密码由系统管理员设置" in form
    changed = newcomer.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(form),
            "current_password": NEW_PASSWORD,
            "new_password": "Only-mine-2026",
            "confirm": "Only-mine-2026",
        },
    )
    assert changed.status_code == 302
    assert newcomer.get("/staff/customers").status_code == 200
    assert "您的密码由系统管理员设置" not in newcomer.get("/account/password").get_data(
        as_text=True
    )
    user = db.session.scalar(select(User).where(User.username == "first_day"))
    db.session.refresh(user)
    assert not user.must_change_password
    # a reset by the administrator asks again; the CLI's accounts (the first admin) are not led
    reset = f"/admin/users/{user.id}"
    assert _post(client, f"{reset}/password", reset, password=NEW_PASSWORD).status_code == 302
    db.session.refresh(user)
    assert user.must_change_password


def test_only_administrators_reach_the_account_page(client, auth, db_session):
    agent = _user(db_session, "agent")
    auth.login("hq")
    assert client.get(f"/admin/users/{agent.id}").status_code == 403
    auth.logout()
    auth.login("admin")
    assert client.get("/admin/users/999999").status_code == 404


def test_disabling_a_handler_puts_their_open_cases_and_follow_ups_back(client, auth, db_session):
    from sqlalchemy import update

    from app.models import Complaint, ComplaintEvent, FollowUp
    from app.services import complaint_casework, followups
    from tests import factories

    handler = factories.user(username="leaver", display_name="离职坐席")
    open_case = factories.accepted_complaint(1, "网点排队太久，无人处理")
    closed_case = factories.accepted_complaint(2, "柜员态度差，已经处理")
    merged_case = factories.accepted_complaint(3, "重复投诉排队太久")
    admin = _user(db_session, "admin")
    for case in (open_case, closed_case, merged_case):
        complaint_casework.assign(case.id, handler.id, actor=admin)
    db_session.execute(
        update(Complaint).where(Complaint.id == closed_case.id).values(status="closed")
    )
    db_session.execute(
        update(Complaint).where(Complaint.id == merged_case.id).values(merged_into_id=open_case.id)
    )
    customer = factories.customer()
    task = followups.assign_manually(
        external_id=customer.external_id, survey_code="branch-service", note="", actor=admin
    )
    task.assigned_to_id = handler.id
    db_session.commit()

    auth.login("admin")
    # the list warns before: the account's work in hand, and the 停用 button asks with it (one
    # click had released ten cases without a word)
    import html

    listed = html.unescape(client.get("/admin/users").get_data(as_text=True))
    row = listed.split(f'id="user-{handler.id}"', 1)[1].split("</tr>", 1)[0]
    assert re.sub(r"<[^>]+>", "", row).count("投诉 1 · 回访 1") == 1
    assert "确定停用 离职坐席 的账号 leaver 吗？" in row
    assert "其 1 件在办投诉将退回待分派、1 个待回访任务将退回回访队列" in row
    response = _post(client, f"/admin/users/{handler.id}/active", "/admin/users", active="0")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "账号 leaver 已停用，其 1 件在办投诉已退回待分派" in page
    db_session.expire_all()
    assert db_session.get(Complaint, open_case.id).assignee_id is None
    assert db_session.get(Complaint, closed_case.id).assignee_id == handler.id
    assert db_session.get(Complaint, merged_case.id).assignee_id == handler.id
    assert db_session.get(FollowUp, task.id).assigned_to_id is None
    last = db_session.scalars(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == open_case.id)
        .order_by(ComplaintEvent.id.desc())
    ).first()
    assert last.kind == "assigned" and "账号已停用，退回待分派" in last.text
    assert last.actor_name and last.detail["how"] == "deactivated"
    (entry,) = _entries(db_session, "user.disable", handler)
    assert entry.detail == {"complaints_released": 1, "followups_released": 1}


def test_an_administrator_cannot_reset_their_own_password_here(client, auth, db_session):
    admin = _user(db_session, "admin")
    before = (admin.password_hash, admin.session_version)
    auth.login("admin")
    page = f"/admin/users/{admin.id}"
    assert "修改密码" in client.get(page).get_data(as_text=True)
    response = _post(client, f"{page}/password", "/admin/users", password=NEW_PASSWORD)
    assert response.status_code == 400
    assert "不能在此重置自己的密码" in response.get_data(as_text=True)
    db_session.expire_all()
    admin = _user(db_session, "admin")
    assert (admin.password_hash, admin.session_version) == before
    assert not _entries(db_session, "user.password_reset", admin)


def test_disabling_an_owner_of_improvement_work_says_it_stays_with_them(client, auth, db_session):
    """The warning said 没有在办 for a manager who owned four open problems and an overdue
    action: those are not handed back to a queue, so the administrator is told to reassign."""
    import html

    from app.models import Role
    from app.services import improvements
    from tests import factories

    owner = factories.user(Role.BRANCH_MANAGER, "HZ", username="owner.mgr", display_name="赵经理")
    hq = _user(db_session, "hq")
    data = improvements.ProblemData(
        title="网点排队时间过长", root_cause="process", branch_code="HZ", owner_id=owner.id
    )
    improvements.create_problem(data, actor=hq)
    db_session.commit()
    auth.login("admin")
    listed = html.unescape(client.get("/admin/users").get_data(as_text=True))
    row = listed.split(f'id="user-{owner.id}"', 1)[1].split("</tr>", 1)[0]
    assert "整改 1" in re.sub(r"<[^>]+>", "", row)
    assert "其负责的 1 个未闭环整改问题、0 项未完成整改措施不会自动转出" in row


def _upload(client, text: str, name: str = "staff.csv"):
    import io

    page = client.get("/admin/users").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "file": (io.BytesIO(text.encode("utf-8")), name)}
    return client.post("/admin/users/import", data=data, content_type="multipart/form-data")


def test_staff_accounts_come_from_a_file_with_passwords_shown_once(app, client, auth):
    """A bank opening Kesheng to two hundred agents made them one by one: a file makes them
    all, each with an initial password shown this once and changed at the first sign-in."""
    from app.extensions import db
    from tests.support import AuthActions

    auth.login("admin")
    template = client.get("/admin/users/import-template.csv")
    assert template.status_code == 200
    header = template.data.decode("utf-8-sig").splitlines()[0]
    assert header == "用户名,姓名,角色,所属机构代码"
    done = _upload(
        client,
        "用户名,姓名,角色,所属机构代码\n"
        "imp.agent1,周一,客服坐席,HZ01\n"
        "imp.mgr1,吴二,机构负责人,HZ\n"
        "imp.hq1,郑三,总分行管理,\n",
    )
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and "已导入 3 个员工账号" in html
    assert done.headers["Cache-Control"] == "no-store"
    passwords = dict(
        re.findall(
            r'<td class="mono">(imp\.[a-z0-9]+)</td><td>[^<]+</td><td class="mono">([^<]+)</td>',
            html,
        )
    )
    assert set(passwords) == {"imp.agent1", "imp.mgr1", "imp.hq1"}
    rows = {
        u.username: u for u in db.session.scalars(select(User).where(User.username.like("imp.%")))
    }
    assert rows["imp.agent1"].role == "agent" and rows["imp.agent1"].branch.code == "HZ01"
    assert rows["imp.hq1"].role == "hq_manager" and rows["imp.hq1"].branch.parent_id is None
    assert all(u.must_change_password for u in rows.values())
    listed = client.get("/admin/users").get_data(as_text=True)
    assert listed.count("待本人改密") >= 3
    assert all(passwords[name] not in u.password_hash for name, u in rows.items())
    newcomer = app.test_client()
    signed_in = AuthActions(newcomer).login("imp.agent1", passwords["imp.agent1"])
    assert newcomer.get(signed_in.location).location == "/account/password"
    (entry,) = db.session.scalars(select(AuditLog).where(AuditLog.action == "users.import"))
    assert entry.detail["created"] == 3 and not any(
        p in str(entry.detail) for p in passwords.values()
    )


def test_a_staff_file_with_bad_lines_makes_no_account_and_lists_them(client, auth):
    from app.extensions import db

    auth.login("admin")
    refused = _upload(
        client,
        "用户名,姓名,角色,所属机构代码\n"
        "bad.one,周一,客服坐席,\n"  # 2: an agent needs a unit
        "agent,吴二,客服坐席,HZ01\n"  # 3: a user name taken
        "bad.two,郑三,管理员,HZ\n"  # 4: not a role the file may give
        "bad.three,王四,坐席,XX99\n"  # 5: no such unit
        "Bad.Three,王五,坐席,HZ01\n"  # 6: the same name again (case aside)
        "bad.six,,坐席,HZ01\n",  # 7: no name
    )
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "文件中有 6 处错误，未导入任何数据" in html
    rows = dict(re.findall(r'<td class="nowrap">第 (\d+) 行</td><td>([^<]+)</td>', html))
    expected = {
        "2": "坐席和机构负责人必须指定所属机构",
        "3": "该用户名已被使用",
        "4": "角色“管理员”无效",
        "5": "机构代码 XX99 不存在",
        "6": "用户名 Bad.Three 在文件中重复（第 5 行已有）",
        "7": "请填写姓名",
    }
    assert set(rows) == set(expected)
    for line, words in expected.items():
        assert words in rows[line], (line, rows[line])
    count = db.session.scalar(select(func.count(User.id)).where(User.username.ilike("bad.%")))
    assert count == 0
