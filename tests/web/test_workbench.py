"""The staff workbench shows today's work and escalation notices for the signed-in user."""

from __future__ import annotations

from datetime import timedelta

from app.models import utcnow
from app.services import complaint_escalation, complaints


def _overdue_complaint(branch_code: str = "HZ01"):
    complaint, _ = complaints.create_complaint(
        complaints.IntakeData(
            channel="hotline",
            name="马先生",
            phone="13900007777",
            branch_code=branch_code,
            content="贷款提前还款后违约金计算有误，多次反映无人处理。",
            received_at=utcnow() - timedelta(days=20),
        )
    )
    return complaint


def test_workbench_counts_link_to_the_queues(auth, client):
    auth.login("agent")
    page = client.get("/staff/").get_data(as_text=True)
    for label in ("我的在办投诉", "3 天内到期", "已超期", "待分派投诉", "今日待回访"):
        assert label in page
    assert "/staff/complaints?queue=overdue" in page


def test_escalation_notice_reaches_the_branch_manager_only(auth, client, db_session):
    complaint = _overdue_complaint()
    assert complaint.reference in complaint_escalation.sweep_deadlines()
    auth.login("manager")  # branch manager of HZ, the case's branch
    page = client.get("/staff/").get_data(as_text=True)
    assert complaint.reference in page and f"/staff/complaints/{complaint.id}" in page
    auth.logout()
    auth.login("manager_nj")
    assert complaint.reference not in client.get("/staff/").get_data(as_text=True)


def test_a_users_notices_are_found_among_many_others(db_session):
    """The newest 500 staff notices of everyone were read and filtered by recipient: after a
    busy sweep a manager with 74 notices saw 6. The user's own newest eight are shown."""
    from sqlalchemy import select

    from app.models import User
    from app.services import notify, workbench

    for n in range(520):  # (someone else's, newer than the manager's)
        notify.send("staff", "agent_nj", f"通知 {n}", subject="投诉超期")
    for n in range(3):
        notify.send("staff", "manager", f"给经理的通知 {n}", subject="投诉超期")
    for n in range(520):
        notify.send("staff", "agent_nj", f"更新的通知 {n}", subject="投诉超期")
    manager = db_session.scalar(select(User).where(User.username == "manager"))
    shown = workbench.summary(manager).alerts
    assert [m.body for m in shown][:3] == [f"给经理的通知 {n}" for n in (2, 1, 0)]


def test_the_workbench_lists_the_improvement_actions_its_user_owns(auth, client, db_session):
    """A branch manager owning an overdue improvement action saw nothing of it on the 工作台:
    the actions they own and have still to do are listed, soonest due first, the overdue ones
    marked, each linked to its problem; a done one is not listed, nor anyone else's."""
    from sqlalchemy import select

    from app.models import User
    from app.services import improvement_actions as actions
    from app.services import improvements, workbench

    manager = db_session.scalar(select(User).where(User.username == "manager"))
    hq = db_session.scalar(select(User).where(User.username == "hq"))
    before = workbench.summary(manager)  # (the demo's own actions)
    problem = improvements.create_problem(
        improvements.ProblemData(
            title="老年客户养老金代领困难", root_cause="process", branch_code="HZ"
        ),
        actor=hq,
    )
    today = utcnow().date()

    def action(title, days, owner):
        data = actions.ActionData(title, today + timedelta(days=30), owner_id=owner.id)
        made = actions.add_action(problem.id, data, actor=hq)
        made.due_on = today + timedelta(days=days)
        return made

    late = action("制定上门服务流程", -5, manager)
    soon = action("培训柜员", 3, manager)
    action("更新宣传折页", 1, hq)  # someone else's
    done = action("张贴告示", 10, manager)
    actions.change_action(problem.id, done.id, "complete", actor=manager, text="已张贴")
    db_session.flush()
    auth.login("manager")
    page = client.get("/staff/").get_data(as_text=True)
    panel = page.split("我负责的整改措施")[1].split("</section>")[0]
    assert f"未完成 {before.actions_open + 2} 项" in panel
    assert f"其中已逾期 {before.actions_overdue + 1} 项" in panel
    assert panel.index("制定上门服务流程") < panel.index("培训柜员")
    assert (
        "（已逾期）" in panel.split("培训柜员")[0]
        and "（已逾期）" not in panel.split("培训柜员")[1]
    )
    assert f"/manager/improvements/{problem.id}#a{late.id}" in panel
    assert f"#a{soon.id}" in panel and "更新宣传折页" not in panel and "张贴告示" not in panel


def test_managers_reach_their_overview_and_head_office_the_audit_log_from_the_workbench(
    auth, client
):
    """The menu has no room for more on a phone: 管理概览 and (for head office, which reads
    the audit log) 审计日志 are linked from the workbench."""
    auth.login("hq")
    page = client.get("/staff/").get_data(as_text=True)
    assert "管理与监督" in page and 'href="/manager/">管理概览</a>' in page
    assert 'href="/admin/audit">审计日志</a>' in page
    assert client.get("/admin/audit").status_code == 200
    overview = client.get("/manager/").get_data(as_text=True)
    assert 'href="/admin/audit?object=branch">审计日志</a>' in overview  # the tree's changes
    auth.logout()
    auth.login("manager")
    page = client.get("/staff/").get_data(as_text=True)
    assert 'href="/manager/">管理概览</a>' in page and "/admin/audit" not in page
    assert "/admin/audit" not in client.get("/manager/").get_data(as_text=True)
    auth.logout()
    auth.login("agent")
    page = client.get("/staff/").get_data(as_text=True)
    assert "管理与监督" not in page and "/admin/audit" not in page
