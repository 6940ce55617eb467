"""The call queue and workbench (回访): what may be called now, a detractor's 48 hours, the
questions that apply, and the bank's own name in the agent's opening words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.models import FollowUp, utcnow
from app.services import complaint_clock, followups, survey_triggers
from app.services.customers import CustomerData
from tests import factories
from tests.security.records import DETRACTOR_ANSWERS


def _detractor_task(client, ext: str) -> FollowUp:
    """The call-back a customer's low scores create (their phone shows as 138****2222)."""
    token, _ = factories.survey_link(ext, phone="13811112222")
    client.post(f"/s/{token}", data=DETRACTOR_ANSWERS)
    task = db.session.scalar(select(FollowUp).order_by(FollowUp.id.desc()))
    assert task.reason == "detractor"
    return task


def _call_row(client) -> str:
    """The call queue's row of the customer 138****2222."""
    page = client.get("/staff/followups").get_data(as_text=True)
    at = page.index("138****2222")
    return page[page.rindex("<tr", 0, at) : page.index("</tr>", at)]


def test_call_queue_says_what_may_be_called_now_and_a_detractors_48_hours(client, auth):
    task = _detractor_task(client, "CALLQ1")
    auth.login("agent")
    by = complaint_clock.local_date(task.created_at + timedelta(hours=48))
    row = _call_row(client)
    now = utcnow()
    label = "可拨打" if followups.in_calling_hours(now) == now else "非拨打时段，09:00–20:00 可拨打"
    assert label in row and f"须于 {by:%Y-%m-%d}" in row and "（48 小时）" in row
    later = utcnow() + timedelta(hours=3)
    db.session.execute(update(FollowUp).where(FollowUp.id == task.id).values(due_at=later))
    assert "未到拨打时间" in _call_row(client)
    old = utcnow() - timedelta(hours=49)
    db.session.execute(
        update(FollowUp).where(FollowUp.id == task.id).values(created_at=old, due_at=old)
    )
    db.session.expire_all()
    assert "已超过 48 小时" in _call_row(client)


def test_call_due_for_a_task_from_a_business_event_has_no_48_hour_target():
    now = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 11:00 in Beijing
    task = FollowUp(reason="trigger", due_at=now - timedelta(minutes=1), created_at=now)
    due = followups.call_due(task, now)
    assert due.callable_now and due.callback_by is None and not due.late
    assert due.label == "可拨打"
    task.due_at = now + timedelta(minutes=1)
    assert not followups.call_due(task, now).callable_now
    assert followups.call_due(task, now).label == "未到拨打时间"


def test_a_task_due_at_night_is_not_callable_before_the_calling_hours():
    """A detractor who answered at 23:46 showed 「可拨打」 at once, at midnight."""
    night = datetime(2026, 12, 6, 15, 46, tzinfo=UTC)  # 23:46 in Beijing
    task = FollowUp(reason="detractor", due_at=night, created_at=night)
    due = followups.call_due(task, night + timedelta(minutes=1))
    assert not due.callable_now and due.after_hours
    assert due.label == "非拨打时段，09:00–20:00 可拨打"
    assert due.callback_by == night + timedelta(hours=48)  # (the 48 hours still run)
    morning = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 09:00
    assert followups.call_due(task, morning).callable_now


def test_call_workbench_runs_the_skip_logic_and_names_the_bank(app, client, auth, monkeypatch):
    task = _detractor_task(client, "CALLQ2")
    auth.login("agent")
    monkeypatch.setitem(app.config, "BANK_NAME", "示例农商银行")
    page = client.get(f"/staff/followups/{task.id}").get_data(as_text=True)
    assert "我是示例农商银行的客服" in page and "客声银行" not in page.split("开场白", 1)[1][:40]
    assert "/static/js/survey.js" in page and 'data-show-if="' in page


def test_a_task_at_another_branch_than_the_customers_shows_whom_to_call(client, auth):
    """A customer of 杭州 (HZ01) opens a card at 鼓楼支行 (NJ01): the call-back is in NJ01's
    queue, and its agent sees the customer's masked name, phone and number there and on the
    task (they were blank: the customer's record is outside the agent's branch). The record
    itself stays closed to them: no link to it, and it answers 404."""
    factories.survey_link("CALLQ3", name="欧阳娜娜", phone="13911112222")  # (a customer of HZ01)
    who = CustomerData(external_id="CALLQ3", name="欧阳娜娜")
    [visit] = survey_triggers.record_event(
        survey_triggers.EventData(
            type="card.issued", customer=who, occurred_at=utcnow(), branch_code="NJ01"
        )
    )
    task = db.session.get(FollowUp, visit["id"])
    assert task.branch.code == "NJ01" and task.customer.branch.code == "HZ01"
    auth.login("agent_nj")
    queue = client.get("/staff/followups").text
    at = queue.index(f"/staff/followups/{task.id}")
    row = queue[queue.rindex("<tr", 0, at) : queue.index("</tr>", at)]
    assert "欧**娜" in row and "139****2222" in row
    page = client.get(f"/staff/followups/{task.id}").text
    assert "回访：欧**娜" in page and "139****2222" in page and "CALLQ3" in page
    assert f"/staff/customers/{task.customer_id}" not in page and "客户档案属其他机构" in page
    assert client.get(f"/staff/customers/{task.customer_id}").status_code == 404
    auth.logout()
    auth.login("agent")  # an agent of the customer's own branch: the task is not theirs
    assert client.get(f"/staff/followups/{task.id}").status_code == 404


def test_an_answer_at_another_branch_than_the_customers_names_them_masked(client, auth):
    """An answer given at 鼓楼支行 (NJ01) by a customer of 杭州 (HZ01) read 客户 匿名 to NJ01's
    staff; it names them masked, without opening their record."""
    from sqlalchemy import select

    from app.models import Response, SurveyVersion

    customer = factories.customer("HZ01", name="欧阳娜娜", phone="13911113333")
    version = db.session.scalars(select(SurveyVersion).order_by(SurveyVersion.id)).first()
    answer = Response(
        survey_id=version.survey_id,
        version_id=version.id,
        channel="web",
        submitted_at=utcnow(),
        answers={},
        branch_id=factories.branch("NJ01").id,
        customer_id=customer.id,
        csat=1,
    )
    db.session.add(answer)
    db.session.commit()
    auth.login("agent_nj")
    page = client.get(f"/staff/responses/{answer.id}").text
    assert "欧**娜" in page and "139****3333" in page and "匿名" not in page
    assert f"/staff/customers/{customer.id}" not in page and "客户档案属其他机构" in page
    auth.logout()
    auth.login("manager_nj")
    assert "13911113333" not in client.get(f"/staff/responses/{answer.id}").text


def test_an_agent_dials_the_customer_from_the_task_with_only_the_phone_revealed(client, auth):
    """To call, the agent left the task for the customer's page, typed a reason and saw the
    full phone, e-mail and ID number, with no tel: link and a way back to the customer list
    only. The task's page now reveals the phone alone, as a link to dial, audited with the task
    as the reason; another unit's agent still gets a 404."""
    from app.models import AuditLog
    from tests.support import csrf_token

    task = _detractor_task(client, "CALLQ4")
    task.customer.set_contact(email="full.mail@example.com", id_number="330108198605054861")
    db.session.commit()
    auth.login("agent")
    page = client.get(f"/staff/followups/{task.id}").text
    assert "138****2222" in page and "显示完整号码并拨打" in page and "13811112222" not in page
    shown = client.post(f"/staff/followups/{task.id}/phone", data={"csrf_token": csrf_token(page)})
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    assert 'href="tel:13811112222"' in shown.text
    assert "full.mail@example.com" not in shown.text and "330108198605054861" not in shown.text
    assert "记录本次通话" in shown.text  # (still the task: the call is recorded right there)
    # the address bar shows the task's own page (js/page_url.js): a reload reads it again
    assert f'<meta name="kesheng-page-url" content="/staff/followups/{task.id}">' in shown.text
    assert "js/page_url.js" in shown.text
    entry = db.session.scalar(select(AuditLog).order_by(AuditLog.id.desc()))
    assert (entry.action, entry.object_id) == ("customer.view_unmasked", str(task.customer_id))
    assert entry.reason == f"回访任务 #{task.id} 拨打电话"
    auth.logout()
    auth.login("agent_nj")
    other = client.get("/staff/followups").text
    refused = client.post(
        f"/staff/followups/{task.id}/phone", data={"csrf_token": csrf_token(other)}
    )
    assert refused.status_code == 404
