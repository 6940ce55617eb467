"""The audit's reproductions (DEV-1, 2, 3, 6, 9, 12 of /tmp/audit/reg/REPORT.md) walked through
the desk and the API as a bank user would: every refusal comes back on the form that was
posted (4xx, nothing saved), the forms say the rules beforehand, and what the API shows agrees."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from html import unescape

from sqlalchemy import select

from app.extensions import db
from app.models import User, utcnow
from app.models.complaint import Complaint, ComplaintEvent
from app.services import complaint_clock as clock
from app.services import complaint_handling, complaints
from tests import factories
from tests.support import post_case_action

TEXT = "信用卡年费未经同意扣收，要求退还。"
DECISION = complaint_handling.Decision(
    "调取了账单和办卡录音",
    "依据信用卡领用合约第五条",
    "退还年费",
    ("review", "mediation"),
    "callback",
)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _today():
    return clock.local_date(utcnow())


_post = post_case_action  # (the page's own way of posting an action)


def _panel(page: str, name: str) -> str:
    return unescape(page.split(f'id="act-{name}"', 1)[1].split("</details>", 1)[0])


def _api_case(client, secret, name, phone, days_ago=0, content=TEXT) -> dict:
    body = {
        "channel": "hotline",
        "content": content,
        "customer": {"name": name, "phone": phone},
        "branch_code": "HZ",
    }
    if days_ago:
        day = _today() - timedelta(days=days_ago)
        body["received_at"] = datetime.combine(day, time(15, 30), clock.TZ).isoformat()
    response = client.post("/api/v1/complaints", json=body, headers=bearer(secret))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def _history(c) -> int:
    return len(complaints.history(c))


def test_a_pause_cannot_be_registered_once_the_deadline_has_passed(client, auth, db_session):
    """DEV-1: received 20 days ago, due 5 days ago; a mediation posted as starting on the last
    day was taken (200 已中止计时) and resumed today made the case due today."""
    _, secret = factories.api_token("complaints:write,complaints:read")
    made = _api_case(client, secret, "张三", "13812345670", days_ago=20)
    due = _today() - timedelta(days=5)
    assert made["due_at"] == f"{due.isoformat()}T23:59:59+08:00" and made["days_left"] == -5
    c = db_session.get(Complaint, made["id"])
    auth.login("agent")
    assert _post(client, c, "accept").status_code == 302
    page = unescape(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True))
    assert 'id="act-pause"' not in page  # the page says why instead of offering it
    assert f"办理时限已于 {due.isoformat()} 届满，不能再补登中止计时" in page
    before = _history(c)
    refused = _post(
        client, c, "pause", kind="mediation", on=due.isoformat(), reason="时限内开始的调解（补登）"
    )
    assert refused.status_code == 422
    panel = _panel(refused.get_data(as_text=True), "pause")  # (the posted form is shown again)
    assert f"办理时限已于 {due:%Y年%m月%d日} 届满，不能再补登中止计时" in panel
    db_session.refresh(c)
    assert c.status == "accepted" and c.pauses == [] and _history(c) == before
    data = client.get(f"/api/v1/complaints/{c.id}", headers=bearer(secret)).get_json()
    assert data["days_left"] == -5 and data["pauses"] == []


def test_the_pause_form_explains_that_it_may_be_backdated_only_inside_the_period(
    client, auth, db_session
):
    c = factories.accepted_complaint(5, TEXT)
    auth.login("agent")
    page = client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
    assert (
        "可补登 3 天内已开始的鉴定或调解，更早的须由机构负责人或总行管理人员补登；"
        "办理时限届满后不能再登记中止计时" in _panel(page, "pause")
    )
    day = (_today() - timedelta(days=3)).isoformat()
    assert _post(client, c, "pause", kind="mediation", on=day, reason="调解").status_code == 302


def test_merging_another_customers_or_a_late_repeat_is_refused_on_the_form(
    client, auth, db_session
):
    """DEV-3: 钱七's complaint merged into 李四's (钱七 never got a decision); DEV-2: a repeat
    received after the first case's deadline restarted that case's clock."""
    _, secret = factories.api_token("complaints:write,complaints:read")
    first = _api_case(client, secret, "李四", "13900001112", days_ago=20)
    other = _api_case(client, secret, "钱七", "13700002223", content="网点排队两个小时无人办理")
    repeat = _api_case(client, secret, "李四", "13900001112", content=TEXT + "又扣了一次。")
    auth.login("agent")
    for case, message in (
        (other, f"只能合并同一客户的重复投诉：{other['reference']} 与 {first['reference']}"),
        (repeat, f"晚于 {first['reference']} 的办理时限"),
    ):
        c = db_session.get(Complaint, case["id"])
        before = _history(c)
        refused = _post(
            client, c, "merge", into=first["reference"], new_facts="y", note="客户再次来电"
        )
        assert refused.status_code == 422
        panel = _panel(refused.get_data(as_text=True), "merge")
        assert message in panel and "请" in panel
        db_session.refresh(c)
        assert c.status == "received" and c.merged_into_id is None and _history(c) == before
    data = client.get(f"/api/v1/complaints/{first['id']}", headers=bearer(secret)).get_json()
    assert data["days_left"] == -5 and data["history"][-1]["kind"] != "merged"
    for case in (other, repeat):
        data = client.get(f"/api/v1/complaints/{case['id']}", headers=bearer(secret)).get_json()
        assert data["merged_into"] is None and data["status"] == "received"
    page = client.get(f"/staff/complaints/{repeat['id']}").get_data(as_text=True)
    assert "只能并入同一客户较早收到" in _panel(page, "merge")


def test_closing_as_unreachable_after_one_unanswered_call_is_refused_on_the_form(
    client, auth, db_session
):
    """DEV-6: a mobile number on file, one 无人接听, closed as 客户无法联系 and counted in time."""
    c = factories.accepted_complaint(2, TEXT)  # (周静, mobile 13612345678)
    complaint_handling.decide(c.id, actor=factories.user(branch_code="HZ"), decision=DECISION)
    auth.login("agent")
    told = _post(client, c, "notice", method="phone", purpose="decision", outcome="no_answer")
    assert told.status_code == 302
    page = client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
    assert "均未留的，记录至少 3 次电话未能接通" in _panel(page, "close")
    refused = _post(client, c, "close", code_channel="A04", code_business="B03.02",
                    code_cause="C05", root_cause="年费政策宣传不一致", unreachable="y")  # fmt: skip
    assert refused.status_code == 422
    panel = _panel(refused.get_data(as_text=True), "close")
    assert "投诉人留有手机号码：标记“无法联系”前，须在作出处理决定后以短信告知处理决定" in panel
    db_session.refresh(c)
    assert c.status == "decided" and not c.customer_unreachable


def _agent() -> User:
    return db.session.scalar(select(User).where(User.username == "agent"))


def test_unnaming_staff_asks_a_reason_and_the_history_names_who_was_removed(
    client, auth, db_session
):
    """DEV-9: 李坐席 named by the manager, un-named by head office with no reason and no trace,
    then assigned the case about them."""
    c = factories.accepted_complaint(1, "杭州分行柜员李坐席办理业务时态度恶劣，要求道歉。", "HZ")
    agent = _agent()
    uncoded = {
        "code_channel": "",
        "code_business": "",
        "code_cause": "",
        "major_reason": "",
    }
    auth.login("manager")
    named = _post(client, c, "classify", add_staff=agent.username, named_branch="", **uncoded)
    assert named.status_code == 302  # naming needs no reason
    auth.logout()
    auth.login("hq")
    page = client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
    panel = _panel(page, "classify")
    assert 'name="classify-reason"' in panel and "移除涉及员工或机构（撤销回避）须填写理由" in panel
    refused = _post(client, c, "classify", named_branch="", **uncoded)  # the field cleared
    assert refused.status_code == 422
    panel = _panel(refused.get_data(as_text=True), "classify")
    assert f"移除投诉涉及的员工 {agent.display_name}须填写理由（回避，第十七条）" in panel
    db_session.refresh(c)
    assert c.named_staff_ids == [agent.id]
    assigned = _post(client, c, "assign", assignee=str(agent.id))
    assert assigned.status_code == 422 and "回避" in unescape(assigned.get_data(as_text=True))
    reason = "经调取录像核实，该员工未经办本笔业务"
    saved = _post(client, c, "classify", named_branch="", reason=reason, **uncoded)
    assert saved.status_code == 302
    page = unescape(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True))
    assert f"移除涉及员工：{agent.display_name}；移除理由：{reason}" in page
    _, secret = factories.api_token("complaints:read")
    data = client.get(f"/api/v1/complaints/{c.id}", headers=bearer(secret)).get_json()
    texts = [h["text"] for h in data["history"] if h["kind"] == "classified"]
    assert texts[0] == f"更新分类与涉及人员；新增涉及员工：{agent.display_name}"
    assert texts[-1] == (
        f"更新分类与涉及人员；移除涉及员工：{agent.display_name}；移除理由：{reason}"
    )
    audit = client.get(f"/admin/audit?object=complaint&object_id={c.id}")
    assert audit.status_code == 200
    logged = unescape(audit.get_data(as_text=True))
    assert "撤销回避（移除投诉涉及的员工或机构）" in logged and reason in logged


def test_a_withdrawal_dated_before_the_decision_is_refused_on_the_form(client, auth, db_session):
    """DEV-12: decided today, withdrawal posted as received 3 days ago: the case read as ended
    before it was decided and counted as decided in time."""
    c = factories.accepted_complaint(6, TEXT)
    complaint_handling.decide(c.id, actor=factories.user(branch_code="HZ"), decision=DECISION)
    auth.login("agent")
    page = client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
    assert "也不能早于已作出的处理决定等已登记的办理事项" in _panel(page, "withdraw")
    day = _today() - timedelta(days=3)
    refused = _post(client, c, "withdraw", on=day.isoformat(), reason="客户书面撤回信件收到")
    assert refused.status_code == 422
    panel = _panel(refused.get_data(as_text=True), "withdraw")
    assert f"收到撤回的日期不能早于本投诉已登记的处理决定日期（{_today():%Y年%m月%d日}）" in panel
    db_session.refresh(c)
    assert c.status == "decided" and c.closed_at is None
    done = _post(client, c, "withdraw", on=_today().isoformat(), reason="客户书面撤回信件收到")
    assert done.status_code == 302


def test_a_forwarded_case_registered_without_the_regulator_s_number_gets_it_once(client, auth):
    """The API takes channel "regulator" without a number (CONTRACT.md's fields); the case page
    says it is missing and 分类与回避 records it once, in the history."""
    _, secret = factories.api_token("complaints:write")
    made = client.post(
        "/api/v1/complaints",
        json={
            "channel": "regulator",
            "content": "监管转办：客户反映信用卡年费被多收。",
            "customer": {"name": "孙八"},
            "branch_code": "HZ01",
        },
        headers={"Authorization": f"Bearer {secret}"},
    ).get_json()
    c = db.session.get(Complaint, made["id"])
    auth.login("agent")
    page = unescape(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True))
    assert "监管转办编号" in page and "未登记" in page and "补录" in page
    uncoded = {
        "code_channel": "",
        "code_business": "",
        "code_cause": "",
        "major_reason": "",
        "named_branch": "",
    }
    saved = _post(client, c, "classify", regulator_ref=" JR-2026-000777 ", **uncoded)
    assert saved.status_code == 302
    db.session.refresh(c)
    assert c.regulator_ref == "JR-2026-000777"
    history = db.session.scalars(
        select(ComplaintEvent.text).where(ComplaintEvent.complaint_id == c.id)
    ).all()
    assert any("补录监管转办编号：JR-2026-000777" in t for t in history)
    page = unescape(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True))
    assert "未登记" not in page and 'name="classify-regulator_ref"' not in page
    again = _post(client, c, "classify", regulator_ref="JR-OTHER", **uncoded)
    assert again.status_code == 422 and "不能修改" in again.get_data(as_text=True)
    db.session.refresh(c)
    assert c.regulator_ref == "JR-2026-000777"


def test_a_named_staff_member_whose_account_was_closed_stays_named(client, auth, db_session):
    """A deactivated account dropped out of the 涉及员工 chooser: every later save of 分类与回避
    read as taking the name off (a reason demanded, a false 撤销回避 in the history)."""
    c = factories.accepted_complaint(1, "柜员李坐席态度恶劣，要求道歉。", "HZ")
    agent = _agent()
    fields = {
        "code_channel": "",
        "code_business": "",
        "code_cause": "",
        "major_reason": "",
        "named_branch": "",
    }
    auth.login("manager")
    assert _post(client, c, "classify", add_staff=agent.username, **fields).status_code == 302
    agent.active = False
    db_session.commit()
    page = unescape(client.get(f"/staff/complaints/{c.id}").get_data(as_text=True))
    assert f"{agent.display_name}（客服坐席，{agent.branch.name}，已停用）" in page
    fields["major_reason"] = "regulator"
    saved = _post(client, c, "classify", named_staff=str(agent.id), **fields)
    assert saved.status_code == 302, saved.get_data(as_text=True)[:300]
    db_session.refresh(c)
    assert c.named_staff_ids == [agent.id] and c.major_reason == "regulator"
    history = db_session.scalars(
        select(ComplaintEvent.text).where(ComplaintEvent.complaint_id == c.id)
    ).all()
    assert not any("移除" in t for t in history)
    agent.active = True
    db_session.commit()
