"""The legal clock and the safeguards around it, as the regulation audit found them bypassed
(/tmp/audit/reg/REPORT.md): a pause registered after the deadline (DEV-1), a repeat merged in
after the period or from another customer (DEV-2, DEV-3), a case closed as 客户无法联系 on one
unanswered call (DEV-6), 回避 lifted without a reason or a trace (DEV-9), and a withdrawal
dated before the decision (DEV-12)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Role, utcnow
from app.models.complaint import ComplaintEvent, Status
from app.models.outbox import OutboxMessage
from app.services import complaint_casework as casework
from app.services import complaint_clock as clock
from app.services import complaint_handling as handling
from app.services import complaints, notify
from app.services.complaints import IntakeData
from app.services.errors import ValidationFailed
from tests import factories
from tests.services.test_complaints import TEXT, decide, new

CLOSE = dict(code_channel="A04", code_business="B03.02", code_cause="C05", root_cause="培训不足")


def today() -> date:
    return clock.local_date(utcnow())


def at_beijing(day: date) -> datetime:
    return datetime.combine(day, time(9, 30), tzinfo=clock.TZ)


def _written(c) -> tuple[int, int]:
    """History entries and messages of a case so far."""
    sent = db.session.scalars(select(OutboxMessage).where(OutboxMessage.related_id == c.id)).all()
    return len(complaints.history(c)), len(sent)


@pytest.fixture
def agent(db_session):
    user = factories.user(Role.AGENT, "HZ")
    db_session.commit()  # (a refused call rolls back what is not committed)
    return user


# DEV-1 -----------------------------------------------------------------------------------------


def test_a_pause_entered_after_the_deadline_is_refused_whatever_day_it_claims(db_session, agent):
    """Received 20 days ago (due 5 days ago): a mediation entered today as starting on the last
    day, then resumed today, made the overdue case due today and counted it as decided in time;
    the customer heard of the pause five days after the day it claims."""
    c = new(received_at=at_beijing(today() - timedelta(days=20)))
    handling.accept(c.id, actor=agent)
    due = clock.local_date(c.due_at)
    assert due == today() - timedelta(days=5)
    written, due_at = _written(c), c.due_at
    for day in (due, due - timedelta(days=3), clock.local_date(c.received_at)):
        with pytest.raises(ValidationFailed) as refused:
            handling.pause(
                c.id, actor=agent, kind="mediation", reason="时限内开始的调解（补登）", on=day
            )
        assert refused.value.message == (
            f"办理时限已于 {due:%Y年%m月%d日} 届满，不能再补登中止计时；"
            "中止计时须在时限内登记并告知客户"
        )
        assert refused.value.fields == {"on": refused.value.message}
    db_session.expire_all()
    assert c.status == Status.ACCEPTED and c.pauses == [] and c.due_at == due_at
    assert _written(c) == written  # (no pause SMS went out either)
    assert clock.band(c.due_at, utcnow()) == "overdue"


def test_a_backdated_pause_inside_a_running_period_is_still_taken(db_session, agent):
    """Received 10 days ago (due in 5 days): a mediation that began 3 days ago, entered today,
    still stops the clock from that day; on the last day itself a pause is still taken."""
    c = new(received_at=at_beijing(today() - timedelta(days=10)))
    handling.accept(c.id, actor=agent)
    due = clock.local_date(c.due_at)
    handling.pause(
        c.id, actor=agent, kind="mediation", reason="调解已开始（补登）", on=today() - timedelta(3)
    )
    assert c.status == Status.PAUSED
    handling.resume(c.id, actor=agent, on=today())
    assert clock.local_date(c.due_at) == due + timedelta(days=3)
    last_day = new(received_at=at_beijing(today() - timedelta(days=15)))
    handling.accept(last_day.id, actor=agent)
    assert clock.local_date(last_day.due_at) == today()
    handling.pause(
        last_day.id, actor=agent, kind="appraisal", reason="送司法鉴定", on=today() - timedelta(2)
    )
    assert last_day.status == Status.PAUSED


# DEV-2, DEV-3 ----------------------------------------------------------------------------------


def _intake(name: str, phone: str | None, *, days_ago: int = 0, content: str = TEXT, **kw):
    received = at_beijing(today() - timedelta(days=days_ago)) if days_ago else None
    c, _ = complaints.create_complaint(
        IntakeData(
            channel="hotline",
            content=content,
            name=name,
            phone=phone,
            branch_code="HZ01",
            received_at=received,
            **kw,
        )
    )
    return c


def _unmerged(db_session, repeat, first, due, written) -> None:
    db_session.expire_all()
    assert repeat.merged_into_id is None and repeat.status == Status.RECEIVED
    assert first.due_at == due and first.clock_restarted_on is None
    assert _written(first) == written


def test_another_customers_complaint_is_not_merged_away(db_session, agent):
    """李四's complaint took 钱七's into it: 钱七 got no decision and saw 李四's case number."""
    li = factories.customer("HZ01", phone="13900001111", name="李四")
    qian = factories.customer("HZ01", phone="13700002222", name="钱七")
    first = _intake("李四", "13900001111", days_ago=4)
    repeat = _intake("钱七", "13700002222", content="网点排队两个小时无人办理，要求改进。")
    assert (first.customer_id, repeat.customer_id) == (li.id, qian.id)
    due, written = first.due_at, _written(first)
    with pytest.raises(ValidationFailed) as refused:
        casework.merge(repeat.id, first.id, actor=agent, new_facts=True, note="合并不同客户")
    assert refused.value.message == (
        f"只能合并同一客户的重复投诉：{repeat.reference} 与 {first.reference} "
        "不是同一客户的投诉（客户号不同），请分别办理"
    )
    assert refused.value.fields == {"into": refused.value.message}
    _unmerged(db_session, repeat, first, due, written)


def test_without_a_customer_record_the_same_name_and_number_make_the_same_customer(
    db_session, agent
):
    """A phone number two customers share (a family's) matches no customer at intake: such a
    case is the same customer's only with the same name and number (or e-mail address); a
    case with a customer record counts as that customer's with its name and number."""
    shared = "13655550000"
    wang = factories.customer("HZ01", phone=shared, name="王芳")
    factories.customer("HZ01", phone=shared, name="王强")  # (the same family's number)
    first, _ = complaints.create_complaint(
        IntakeData(
            channel="hotline",
            content=TEXT,
            name="王芳",
            external_id=wang.external_id,
            branch_code="HZ01",
            received_at=at_beijing(today() - timedelta(days=3)),
        )
    )
    assert first.customer_id == wang.id and first.complainant_phone == shared
    husband = _intake("王强", shared)  # the other one on that number
    stranger = _intake("王芳", "13655559999")  # the same name, another number
    for other in (husband, stranger):
        assert other.customer_id is None
        with pytest.raises(ValidationFailed, match="投诉人姓名及联系电话或电子邮箱不一致"):
            casework.merge(other.id, first.id, actor=agent, new_facts=False, note="同一事项")
    again = _intake("王 芳", "136 5555 0000")  # as typed at the hotline
    assert again.customer_id is None
    casework.merge(again.id, first.id, actor=agent, new_facts=False, note="同一事项再次来电")
    assert again.merged_into_id == first.id and again.status == Status.CLOSED


def test_one_customer_record_with_two_names_is_not_merged_unless_raised_on_her_behalf(
    db_session, agent
):
    """Intake matched both callers to 赵敏's record by the number only she has on file; the
    second caller, 孙丽, gave her own name: her complaint merged into 赵敏's was never decided
    nor told to her. A case accepted as raised for the customer by someone else (a legal
    representative, an agent, an heir) is the customer's, whatever name it gives."""
    zhao = factories.customer("HZ01", phone="13911112222", name="赵敏")
    first = _intake("赵敏", "13911112222", days_ago=3)
    mother = _intake("孙丽", "13911112222", content="网点柜员态度恶劣，要求道歉。")
    assert first.customer_id == mother.customer_id == zhao.id
    due, written = first.due_at, _written(first)
    with pytest.raises(ValidationFailed) as refused:
        casework.merge(mother.id, first.id, actor=agent, new_facts=False, note="同一客户")
    assert f"投诉人姓名不同：{mother.masked_name} / {first.masked_name}；" in refused.value.message
    assert "孙丽" not in refused.value.message  # (names masked, as on the queue)
    _unmerged(db_session, mother, first, due, written)
    # two names that mask alike (赵敏, 赵兰 → 赵*): the refusal does not show two equal masks
    sister = _intake("赵兰", "13911112222", content="又一件。")
    with pytest.raises(ValidationFailed, match="可在两件投诉的页面查看完整姓名核对"):
        casework.merge(sister.id, first.id, actor=agent, new_facts=False, note="同一客户")
    # the same name typed differently is the same person
    again = _intake("赵 敏", "13911112222", content=TEXT + "再次来电。")
    casework.merge(again.id, first.id, actor=agent, new_facts=False, note="同一事项再次来电")
    assert again.merged_into_id == first.id
    # raised for 赵敏 by her agent: the agent's later call is 赵敏's repeat
    by_agent = _intake("钱多", "13911112222", days_ago=2)
    handling.accept(by_agent.id, actor=agent, capacity="agent")
    repeat = _intake("赵敏", "13911112222", content=TEXT + "我本人再反映一次。")
    casework.merge(repeat.id, by_agent.id, actor=agent, new_facts=False, note="本人再次来电")
    assert repeat.merged_into_id == by_agent.id


def test_a_repeat_received_after_the_first_cases_deadline_is_its_own_complaint(db_session, agent):
    """X received 20 days ago (due 5 days ago), Y today with new facts: merged, Y restarted X's
    clock (due in 15 days) and the overdue X counted as decided in time."""
    customer = factories.customer("HZ01", phone="13812345678", name="张三")
    first = _intake("张三", "13812345678", days_ago=20)
    repeat = _intake("张三", "13812345678", content=TEXT + "今天又扣了一次。")
    assert first.customer_id == repeat.customer_id == customer.id
    handling.accept(first.id, actor=agent)
    due = clock.local_date(first.due_at)
    due_at, written = first.due_at, _written(first)
    for new_facts in (True, False):
        with pytest.raises(ValidationFailed) as refused:
            casework.merge(repeat.id, first.id, actor=agent, new_facts=new_facts, note="再次来电")
        assert refused.value.message == (
            f"{repeat.reference} 于 {today():%Y年%m月%d日} 接收，晚于 {first.reference} 的办理"
            f"时限（{due:%Y年%m月%d日}），不是时限内的重复投诉，不能合并；请将其作为一件新投诉"
            "单独办理（自其接收之日起 15 日内作出处理决定并告知客户）"
        )
    db_session.expire_all()
    assert first.due_at == due_at and clock.days_left(first.due_at, utcnow()) == -5
    assert repeat.merged_into_id is None and _written(first) == written
    assert clock.local_date(repeat.due_at) == today() + timedelta(days=15)  # its own period


def test_new_facts_do_not_restart_a_clock_that_has_run_out(db_session, agent):
    """A repeat received within the period but merged only after the deadline: its new facts
    cannot restart the overdue case's clock (handled as a complaint of its own); without new
    facts it may still be merged, and the deadline stays as it was."""
    customer = factories.customer("HZ01", phone="13812340000", name="赵六")
    first = _intake("赵六", "13812340000", days_ago=20)  # due 5 days ago
    repeat = _intake("赵六", "13812340000", days_ago=7, content=TEXT + "补充：又扣一次。")
    assert first.customer_id == repeat.customer_id == customer.id
    handling.accept(first.id, actor=agent)
    due = clock.local_date(first.due_at)
    due_at, written = first.due_at, _written(first)
    with pytest.raises(ValidationFailed) as refused:
        casework.merge(repeat.id, first.id, actor=agent, new_facts=True, note="客户补充新事实")
    assert refused.value.message == (
        f"{first.reference} 的办理时限已于 {due:%Y年%m月%d日} 届满，不能因新事实重新起算时限；"
        "请将其作为一件新投诉单独办理（自其接收之日起 15 日内作出处理决定并告知客户）"
    )
    _unmerged(db_session, repeat, first, due_at, written)
    casework.merge(repeat.id, first.id, actor=agent, new_facts=False, note="同一事项重复来电")
    assert repeat.merged_into_id == first.id and first.due_at == due_at
    assert first.clock_restarted_on is None


def test_a_repeat_within_the_period_with_new_facts_still_restarts_the_clock(db_session, agent):
    customer = factories.customer("HZ01", phone="13812341111", name="孙八")
    first = _intake("孙八", "13812341111", days_ago=10)
    repeat = _intake("孙八", "13812341111", days_ago=2, content=TEXT + "又扣了一次。")
    assert first.customer_id == repeat.customer_id == customer.id
    handling.accept(first.id, actor=agent)
    casework.merge(repeat.id, first.id, actor=agent, new_facts=True, note="客户补充新事实")
    assert first.clock_restarted_on == today() - timedelta(days=2)
    assert clock.local_date(first.due_at) == today() + timedelta(days=13)


# DEV-6 -----------------------------------------------------------------------------------------


class Refused:
    """An SMS or mail gateway that refuses the message for good."""

    def deliver(self, message):
        raise RuntimeError("号码已停机")


def _decided(phone: str | None, email: str | None, agent):
    c, _ = complaints.create_complaint(
        IntakeData(
            channel="branch", content=TEXT, name="周静", phone=phone, email=email,
            branch_code="HZ01",
        )
    )  # fmt: skip
    handling.accept(c.id, actor=agent)
    decide(c, agent)
    return c


def _call(c, agent, outcome="no_answer"):
    handling.record_notice(c.id, actor=agent, method="phone", purpose="decision", outcome=outcome)


def test_one_unanswered_call_does_not_make_a_customer_with_a_mobile_unreachable(
    db_session, agent, monkeypatch
):
    """The audit's case: a mobile number on file, one unanswered call, 13 days left: closed as
    unreachable and counted as decided in time with no notice at all."""
    c = _decided("13812345678", None, agent)
    _call(c, agent)
    for _ in range(2):
        _call(c, agent, "unreachable")
    with pytest.raises(ValidationFailed) as refused:
        casework.close(c.id, actor=agent, unreachable=True, **CLOSE)
    assert refused.value.fields["unreachable"] == (
        "投诉人留有手机号码：标记“无法联系”前，须在作出处理决定后以短信告知处理决定，"
        "且发送失败、已停止重试（仅电话未接通不能认定客户无法联系）"
    )
    db_session.expire_all()
    assert c.status == Status.DECIDED and not c.customer_unreachable
    monkeypatch.setitem(notify._adapters, "sms", Refused())
    handling.record_notice(c.id, actor=agent, method="sms", purpose="decision")
    casework.close(c.id, actor=agent, unreachable=True, **CLOSE)
    assert c.status == Status.CLOSED and c.customer_unreachable


def test_every_written_route_on_file_must_have_failed(db_session, agent, monkeypatch):
    """A mobile number and an e-mail address: an SMS given up is not enough while the e-mail
    was never tried (the customer may well read it); a failed message still being retried is
    not failed yet; an SMS that went out is proof of notice, no unreachable needed."""
    c = _decided("13812345679", "zhoujing@example.com", agent)
    monkeypatch.setitem(notify._adapters, "sms", Refused())
    handling.record_notice(c.id, actor=agent, method="sms", purpose="decision")
    with pytest.raises(ValidationFailed) as refused:
        casework.close(c.id, actor=agent, unreachable=True, **CLOSE)
    assert refused.value.fields["unreachable"].startswith(
        "投诉人留有手机号码和电子邮箱：标记“无法联系”前，须在作出处理决定后以电子邮件告知处理决定"
    )
    monkeypatch.setitem(notify._adapters, "email", Refused())
    handling.record_notice(c.id, actor=agent, method="email", purpose="decision")
    mail = db_session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.related_id == c.id, OutboxMessage.channel == "email")
        .order_by(OutboxMessage.id.desc())
    ).first()
    mail.next_attempt_at = utcnow() + timedelta(minutes=5)  # (a gateway retrying it)
    db_session.commit()
    assert not casework.contact_failed(c)
    mail.next_attempt_at = None  # (its last attempt failed)
    db_session.commit()
    casework.close(c.id, actor=agent, unreachable=True, **CLOSE)
    assert c.customer_unreachable


def _call_at(c, at: datetime, outcome="no_answer") -> None:
    """A failed call recorded at ``at`` (the desk records each call as it is made)."""
    db.session.add(
        ComplaintEvent(
            complaint_id=c.id,
            at=at,
            actor_name="测试员工",
            kind="notice",
            text="电话告知处理决定",
            detail={"method": "phone", "purpose": "decision", "outcome": outcome},
        )
    )
    db.session.commit()


def test_without_a_written_route_three_failed_calls_an_hour_apart_are_needed(db_session, agent):
    """A landline only: one failed call, or three pressed in a row, is not unreachable; three
    failed calls an hour or more apart after the decision are."""
    c = _decided("0571-88886666", None, agent)
    assert casework.written_routes(c) == []
    c.decided_at = utcnow() - timedelta(hours=4)
    db_session.commit()
    _call_at(c, c.decided_at - timedelta(minutes=10))  # (before the decision: no attempt)
    for minutes in (5, 6, 7):
        _call_at(c, c.decided_at + timedelta(minutes=minutes))
    with pytest.raises(ValidationFailed) as refused:
        casework.close(c.id, actor=agent, unreachable=True, **CLOSE)
    assert refused.value.fields["unreachable"] == (
        "投诉人未留手机号码或电子邮箱：标记“无法联系”前，须在作出处理决定后记录至少 3 次"
        "电话未能接通（无人接听或无法接通，每次间隔不少于 1 小时），目前 1 次"
    )
    _call_at(c, c.decided_at + timedelta(minutes=70), "unreachable")
    assert not casework.contact_failed(c)
    _call_at(c, c.decided_at + timedelta(minutes=135))
    assert casework.contact_failed(c)
    casework.close(c.id, actor=agent, unreachable=True, **CLOSE)
    assert c.status == Status.CLOSED and c.customer_unreachable


def test_written_routes_are_a_mobile_number_and_an_e_mail_address(db_session, agent):
    for phone, email, routes in (
        ("13812345678", None, ["sms"]),
        ("+86 138 1234 5678", None, ["sms"]),
        ("0086 13812345678", "a@example.com", ["sms", "email"]),
        ("010-88886666", "a@example.com", ["email"]),
        ("010-88886666", None, []),
    ):
        c = complaints.Complaint(complainant_phone=phone, complainant_email=email)
        assert casework.written_routes(c) == routes, phone


# DEV-9 -----------------------------------------------------------------------------------------


def _classify(c, actor, **kw):
    return casework.classify(
        c.id, actor=actor, code_channel=None, code_business=None, code_cause=None, **kw
    )


def test_taking_a_named_staff_member_off_needs_a_reason_and_is_written_out(db_session):
    """The manager named 李坐席; head office cleared the field with no reason asked, the history
    read only 更新分类与涉及人员 twice, and 李坐席 was then assigned the case about them."""
    manager = factories.user(Role.BRANCH_MANAGER, "HZ")
    hq = factories.user(Role.HQ_MANAGER, "HO")
    named = factories.user(Role.AGENT, "HZ", display_name="李坐席（杭州分行）")
    db_session.commit()
    c = new(content="杭州分行柜员李坐席办理业务时态度恶劣，要求道歉。")
    _classify(c, manager, named_staff_ids=[named.id])  # naming needs no reason
    added = complaints.history(c)[-1]
    assert added.text == "更新分类与涉及人员；新增涉及员工：李坐席（杭州分行）"
    written = _written(c)
    for reason, message in (
        (None, "移除投诉涉及的员工 李坐席（杭州分行）须填写理由（回避，第十七条）"),
        ("  ", "移除投诉涉及的员工 李坐席（杭州分行）须填写理由（回避，第十七条）"),
        ("误填", "移除理由过于简短，请至少写 4 个字"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            _classify(c, hq, named_staff_ids=[], reason=reason)
        assert refused.value.message.startswith(message)
        assert list(refused.value.fields) == ["reason"]
    db_session.expire_all()
    assert c.named_staff_ids == [named.id] and _written(c) == written
    reason = "经调取录像核实，李坐席未经办本笔业务，原为误填"
    _classify(c, hq, named_staff_ids=[], reason=reason)
    entry = complaints.history(c)[-1]
    assert entry.text == (
        f"更新分类与涉及人员；移除涉及员工：李坐席（杭州分行）；移除理由：{reason}"
    )
    assert entry.detail["removed_staff"] == [{"id": named.id, "name": "李坐席（杭州分行）"}]
    assert entry.detail["reason"] == reason and entry.actor_id == hq.id
    logged = db_session.scalars(
        select(AuditLog).where(
            AuditLog.action == "complaint.recusal_removed", AuditLog.object_id == str(c.id)
        )
    ).all()
    assert len(logged) == 1 and logged[0].reason == reason
    assert logged[0].detail["removed_staff"][0]["name"] == "李坐席（杭州分行）"
    casework.assign(c.id, named.id, actor=hq)  # (no longer named: a reasoned, recorded decision)


def test_taking_a_named_branch_off_or_changing_it_needs_a_reason(db_session):
    hq = factories.user(Role.HQ_MANAGER, "HO")
    db_session.commit()
    c = new()
    _classify(c, hq, named_branch_code="HZ")
    assert complaints.history(c)[-1].text.endswith("新增涉及机构：杭州分行")
    for code in ("", "NJ"):
        with pytest.raises(ValidationFailed, match="移除投诉涉及的机构 杭州分行须填写理由"):
            _classify(c, hq, named_branch_code=code)
    db_session.expire_all()
    assert c.named_branch.code == "HZ"
    reason = "客户来电（13812345678）更正：事发网点为南京分行"
    _classify(c, hq, named_branch_code="NJ", reason=reason)
    entry = complaints.history(c)[-1]
    assert "新增涉及机构：南京分行" in entry.text and "移除涉及机构：杭州分行" in entry.text
    assert entry.detail["removed_branch"]["name"] == "杭州分行"
    logged = db_session.scalar(
        select(AuditLog).where(
            AuditLog.action == "complaint.recusal_removed", AuditLog.object_id == str(c.id)
        )
    )
    # (the case page and the API mask the history's text; the audit log keeps it masked)
    assert logged.reason == "客户来电（138****5678）更正：事发网点为南京分行"
    assert logged.detail["reason"] == logged.reason
    _classify(c, hq, named_branch_code="NJ")  # (unchanged: nothing taken off)
    assert complaints.history(c)[-1].text == "更新分类与涉及人员"


def test_an_invalid_code_and_a_missing_reason_are_reported_together(db_session):
    hq = factories.user(Role.HQ_MANAGER, "HO")
    named = factories.user(Role.AGENT, "HZ")
    db_session.commit()
    c = new()
    _classify(c, hq, named_staff_ids=[named.id])
    with pytest.raises(ValidationFailed) as refused:
        casework.classify(
            c.id, actor=hq, code_channel="X9", code_business=None, code_cause=None,
            named_staff_ids=[],
        )  # fmt: skip
    assert set(refused.value.fields) == {"code_channel", "reason"}


# DEV-12 ----------------------------------------------------------------------------------------


def test_a_withdrawal_is_not_dated_before_the_decision(db_session, agent):
    """Decided on 12-06, withdrawal entered as received 12-03: the case read as ended on 12-03
    but decided on 12-06, and counted as decided in time with the notice excused."""
    c = new(received_at=at_beijing(today() - timedelta(days=6)))
    handling.accept(c.id, actor=agent)
    decide(c, agent)
    written = _written(c)
    for day in (today() - timedelta(days=3), today() - timedelta(days=1)):
        with pytest.raises(ValidationFailed) as refused:
            handling.withdraw(c.id, actor=agent, reason="客户书面撤回信件", on=day)
        assert refused.value.message == (
            f"收到撤回的日期不能早于本投诉已登记的处理决定日期（{today():%Y年%m月%d日}）："
            "撤回之日投诉即告终结，此后不应再有办理事项，请核对撤回日期"
        )
        assert refused.value.fields == {"on": refused.value.message}
    db_session.expire_all()
    assert c.status == Status.DECIDED and c.closed_at is None and _written(c) == written
    handling.withdraw(c.id, actor=agent, reason="客户来电撤回投诉", on=today())
    assert c.status == Status.WITHDRAWN


def test_a_withdrawal_is_not_dated_before_other_handling_already_in_effect(db_session, agent):
    """A mediation recorded from 2 days ago: the customer did not withdraw before it."""
    c = new(received_at=at_beijing(today() - timedelta(days=6)))
    handling.accept(c.id, actor=agent)
    paused_on = today() - timedelta(days=2)
    handling.pause(c.id, actor=agent, kind="mediation", reason="进入调解", on=paused_on)
    with pytest.raises(ValidationFailed, match=f"中止计时日期（{paused_on:%Y年%m月%d日}）"):
        handling.withdraw(c.id, actor=agent, reason="客户来信撤回", on=paused_on - timedelta(1))
    handling.withdraw(c.id, actor=agent, reason="客户来信撤回", on=paused_on)
    assert clock.local_date(c.closed_at) == paused_on
    # a decision made earlier (3 days ago): a withdrawal received after it is taken as dated
    d = new(received_at=at_beijing(today() - timedelta(days=6)))
    handling.accept(d.id, actor=agent)
    decide(d, agent)
    d.decided_at = at_beijing(today() - timedelta(days=3))
    db_session.commit()
    with pytest.raises(ValidationFailed, match="处理决定日期"):
        handling.withdraw(d.id, actor=agent, reason="客户来信撤回", on=today() - timedelta(4))
    handling.withdraw(d.id, actor=agent, reason="客户来信撤回", on=today() - timedelta(3))
    assert d.status == Status.WITHDRAWN
