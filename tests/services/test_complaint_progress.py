"""投诉进度查询: a complainant follows their own case by its reference and mobile number (both
databases); wrong pairs teach nothing and are limited per address."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Role, utcnow
from app.models.complaint import Status
from app.services import complaint_casework as casework
from app.services import complaint_clock as clock
from app.services import complaint_handling as handling
from app.services import complaint_progress as progress
from app.services.errors import TooManyAttempts
from tests import factories
from tests.services.test_complaints import decide, new

PHONE = "13800001111"  # (the number ``new`` files the complaint with)


@pytest.fixture
def agent(db_session):
    return factories.user(Role.AGENT, "HZ")


def test_the_reference_and_number_as_people_type_them_find_the_case(agent):
    c = new()
    typed = " ｔｓ" + c.reference[2:].replace("-", " - ")  # full-width, lower case, spaces
    found = progress.lookup(typed, "+86 138-0000-1111", ip="10.0.0.1")
    assert found is not None and found.reference == c.reference
    assert (found.status, found.stage, progress.STAGES[found.stage]) == ("received", 0, "已收到")
    assert found.received_on == clock.local_date(c.received_at)
    assert found.due_on == clock.local_date(c.due_at)  # the last day of the 15
    assert found.decided_on is None and found.review_until is None
    handling.accept(c.id, actor=agent)
    assert progress.lookup(c.reference, PHONE, ip="10.0.0.1").says.startswith("您的投诉已受理")


def test_a_wrong_number_or_reference_finds_nothing_and_is_limited_per_address(agent):
    c = new()
    other = factories.customer("HZ01", phone="13900002222")
    assert progress.lookup(c.reference, other.phone, ip="10.0.0.2") is None
    assert progress.lookup("TS20200101-000001", PHONE, ip="10.0.0.2") is None
    assert progress.lookup("不是编号", PHONE, ip="10.0.0.2") is None
    for _ in range(progress.FAILED_LIMIT - 3):
        assert progress.lookup(c.reference, "13700000000", ip="10.0.0.2") is None
    with pytest.raises(TooManyAttempts, match="查询次数过多"):
        progress.lookup(c.reference, PHONE, ip="10.0.0.2")  # (even the right pair, now)
    assert progress.lookup(c.reference, PHONE, ip="10.0.0.3") is not None  # another address


def test_a_decision_told_shows_its_dates_and_the_last_day_to_ask_for_a_review(agent):
    c = new()
    handling.accept(c.id, actor=agent)
    decide(c, agent)
    found = progress.lookup(c.reference, PHONE, ip="10.0.0.4")
    today = clock.local_date(utcnow())
    assert (found.status, progress.STAGES[found.stage]) == ("decided", "已答复")
    assert found.decided_on == today and found.told_on is None and found.due_on is None
    handling.record_notice(c.id, actor=agent, method="phone", purpose="decision", outcome="reached")
    found = progress.lookup(c.reference, PHONE, ip="10.0.0.4")
    assert found.told_on == today and found.review_until == today + timedelta(days=30)
    handling.request_review(c.id, actor=agent, requested_on=today, reason="客户书面申请核查")
    found = progress.lookup(c.reference, PHONE, ip="10.0.0.4")
    assert found.status == "review_requested" and found.review_until is None
    assert found.due_on == today + timedelta(days=30) and found.decided_on is None
    assert "核查" in found.says
    # the steps read after the decision given (the current step read 处理中)
    assert found.stages[found.stage] == "核查中" and "已答复" in found.stages[: found.stage]


def test_a_paused_case_shows_no_deadline_and_a_merged_repeat_shows_the_kept_case(agent):
    first = new()
    handling.accept(first.id, actor=agent)
    handling.pause(first.id, actor=agent, kind="appraisal", reason="等待司法鉴定结果")
    found = progress.lookup(first.reference, PHONE, ip="10.0.0.5")
    assert found.status == "paused" and found.due_on is None and "暂停计算" in found.says
    handling.resume(first.id, actor=agent)
    repeat = new(content="再次反映：信用卡年费多收了三百元，至今没有退还，请尽快处理。")
    casework.merge(repeat.id, first.id, actor=agent, new_facts=False, note="同一事项")
    db.session.commit()
    found = progress.lookup(repeat.reference, PHONE, ip="10.0.0.5")
    assert (found.reference, found.merged_from) == (first.reference, repeat.reference)
    assert found.status == "in_progress"


def test_a_declined_or_withdrawn_case_does_not_read_as_handled(agent):
    """The steps showed 已受理, 处理中, 已答复 done and 已办结 reached above "未予受理"."""
    withdrawn = new()
    handling.accept(withdrawn.id, actor=agent)
    handling.withdraw(withdrawn.id, actor=agent, reason="客户来电撤回投诉")
    found = progress.lookup(withdrawn.reference, PHONE, ip="10.0.0.9")
    assert found.stages == ("已收到", "已撤回") and found.stages[found.stage] == "已撤回"
    assert found.says.startswith("您已撤回")
    assert "不再作出处理决定" in found.note
    live = progress.lookup(new().reference, PHONE, ip="10.0.0.9")
    assert live.stages == progress.STAGES
    # withdrawn after its decision: the decision stands (it read 不再作出处理决定)
    after = new()
    handling.accept(after.id, actor=agent)
    decide(after, agent)
    handling.withdraw(after.id, actor=agent, reason="客户来电撤回投诉")
    late = progress.lookup(after.reference, PHONE, ip="10.0.0.9")
    assert "此前作出的处理决定不变" in late.note and "不再作出" not in late.note


def test_the_last_line_says_what_was_told_for_each_state(agent):
    """A declined or withdrawn case ended with "处理意见的具体内容以…告知您的为准" though
    nothing was decided; each state now has its own line, in the customer's words: the
    处理结果 to come, the 处理决定 once made."""
    running = progress.lookup(new().reference, PHONE, ip="10.0.0.10")
    assert running.note == "处理结果将通过短信、电话或书面方式告知您。"
    decided = new()
    handling.accept(decided.id, actor=agent)
    decide(decided, agent)
    found = progress.lookup(decided.reference, PHONE, ip="10.0.0.10")
    assert found.says == "我们已对您的投诉作出处理决定。"
    assert found.note == "处理决定的具体内容以我们通过短信、电话或书面方式告知您的为准。"
    declined = new()
    handling.decline(declined.id, actor=agent, ground="not_entitled", reason="非本人提出的投诉")
    found = progress.lookup(declined.reference, PHONE, ip="10.0.0.10")
    assert found.note == "不予受理的理由以我们通过短信、电话或书面方式告知您的为准。"
    withdrawn = new()
    handling.withdraw(withdrawn.id, actor=agent, reason="客户来电撤回投诉")
    found = progress.lookup(withdrawn.reference, PHONE, ip="10.0.0.10")
    assert "处理决定的具体内容" not in found.note and "重新提交投诉" in found.note
    for status in Status:
        assert "处理意见" not in progress._SAYS[status] + progress._NOTES[status], status
