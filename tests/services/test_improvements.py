"""The closure loop: linking cases, actions, verification before/after, closing rules, reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Campaign, Role, SurveyVersion, utcnow
from app.models.improvement import ActionStatus, ProblemEvent, ProblemEventImmutable, ProblemStatus
from app.models.outbox import OutboxMessage
from app.services import complaint_clock, complaints, improvements, scope
from app.services import improvement_actions as actions
from app.services import improvement_figures as figures
from app.services.complaints import IntakeData
from app.services.errors import Conflict, NotFound, ValidationFailed
from tests import factories

DAY = timedelta(days=1)
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def branch(db_session):
    """A fresh sub-branch under HZ, so the demo bank's complaints do not count."""
    return factories.sub_branch("HZT9", "测试整改支行")


@pytest.fixture
def hq(db_session):
    return factories.user(Role.HQ_MANAGER, "HO")


@pytest.fixture
def chief(db_session):
    """Another head-office manager: the second person an override (人工认定) needs."""
    return factories.user(Role.HQ_MANAGER, "HO")


def today():
    """The bank's (Beijing) date: an action may not be due before it."""
    return complaint_clock.local_date(utcnow())


def complaint(at, content="信用卡年费多收了三百元，办卡时说首年免年费，要求退还。"):
    customer = factories.customer("HZ01")
    data = IntakeData(
        channel="hotline",
        content=content,
        name=customer.name,
        external_id=customer.external_id,
        branch_code="HZT9",
        received_at=at,
    )
    return complaints.create_complaint(data)[0]


def responses(at, scores, metric="csat"):
    factories.scored_responses("HZT9", at, scores, metric)


def problem(actor, **kw):
    data = improvements.ProblemData(
        title=kw.pop("title", "信用卡年费告知不清"),
        root_cause=kw.pop("root_cause", "process"),
        branch_code="HZT9",
        code_business=kw.pop("code_business", "B03.02"),
        **kw,
    )
    return improvements.create_problem(data, actor=actor)


def finished_action(p, actor, done_at, title="修订年费告知话术"):
    """An action planned the day before ``done_at`` and completed then, on time."""
    a = actions.add_action(
        p.id,
        actions.ActionData(title=title, due_on=done_at.date() + DAY),
        actor=actor,
        now=done_at - DAY,
    )
    actions.change_action(p.id, a.id, "complete", actor=actor, text="全员培训", now=done_at)
    return a


def test_verification_passes_when_complaints_fall_and_problem_closes(branch, hq):
    now = utcnow()
    done_at = now - 70 * DAY
    for k in range(12):
        complaint(done_at - (k + 1) * 4 * DAY)
    for k in range(3):
        complaint(done_at + (k + 1) * 10 * DAY)
    p = problem(hq)
    a = finished_action(p, hq, done_at)
    assert p.status == ProblemStatus.VERIFYING
    w, result = figures.evaluate(p, now)
    assert (w.before.complaints, w.after.complaints) == (12, 3)
    assert result.holds, result.reason
    improvements.close_problem(p.id, actor=hq, now=now)
    assert p.status == ProblemStatus.CLOSED and p.closed_at == now
    assert a.status == ActionStatus.VERIFIED
    assert p.verification["verdict"] == "passed"
    kinds = [e.kind for e in sorted(improvements.history(p), key=lambda e: e.id)]
    assert kinds == ["created", "action_added", "action_complete", "closed"]


def test_verification_fails_when_complaints_rise_and_close_is_refused(branch, hq):
    now = utcnow()
    done_at = now - 65 * DAY
    for k in range(3):
        complaint(done_at - (k + 1) * 5 * DAY)
    for k in range(8):
        complaint(done_at + (k + 1) * 5 * DAY)
    p = problem(hq)
    finished_action(p, hq, done_at)
    with pytest.raises(Conflict, match="未通过验证"):
        improvements.close_problem(p.id, actor=hq, now=now)
    assert p.status == ProblemStatus.VERIFYING


def test_csat_rising_passes_on_survey_answers_alone(branch, hq, app):
    now = utcnow()
    done_at = now - 61 * DAY
    responses(done_at - 30 * DAY, [2, 3, 4, 2, 5] * 6)  # 30 ratings, 40% satisfied
    responses(done_at + 20 * DAY, [4, 5, 5, 4, 3] * 6)  # 30 ratings, 80% satisfied
    p = problem(hq, code_business=None)
    finished_action(p, hq, done_at)
    _, result = figures.evaluate(p, now)
    sat = result.signals[1]
    assert (sat.before, sat.after, sat.n_before, sat.n_after) == (40.0, 80.0, 30, 30)
    assert result.holds


@pytest.mark.parametrize(
    ("after", "change", "verdict", "reason"),
    [
        # NPS 20 -> 17 on 400 answers a window: z = -0.57, within chance
        ((148, 172, 80), "same", "failed", "没有显著改善"),
        # NPS 20 -> 0: z = -3.71
        ((120, 160, 120), "worse", "failed", "净推荐值（NPS） 显著变差"),
    ],
)
def test_nps_moves_only_when_the_change_is_beyond_chance(
    branch, hq, after, change, verdict, reason
):
    now = utcnow()
    done_at = now - 61 * DAY
    responses(done_at - 50 * DAY, factories.nps_answers(160, 160, 80), "nps")  # NPS 20
    responses(done_at + 10 * DAY, factories.nps_answers(*after), "nps")
    p = problem(hq, code_business=None)
    finished_action(p, hq, done_at)
    _, result = figures.evaluate(p, now)
    nps = result.signals[2]
    assert (nps.n_before, nps.n_after, nps.before) == (400, 400, 20.0)
    assert nps.change == change and result.verdict == verdict and reason in result.reason


def test_not_enough_data_blocks_closing_until_a_manager_overrides(branch, hq, chief):
    now = utcnow()
    done_at = now - 61 * DAY
    complaint(done_at - 5 * DAY)
    p = problem(hq)
    finished_action(p, hq, done_at)
    _, result = figures.evaluate(p, now)
    assert result.verdict == "insufficient" and "样本量不足" in result.reason
    with pytest.raises(Conflict, match="数据不足"):
        improvements.close_problem(p.id, actor=hq, now=now)
    with pytest.raises(ValidationFailed):
        improvements.override_verification(p.id, "太短", actor=chief)
    reason = "该业务已于上月停办，投诉自然消失，经现场复核整改已落实"
    improvements.override_verification(p.id, reason, actor=chief)
    improvements.close_problem(p.id, actor=hq, now=now)
    assert p.status == ProblemStatus.CLOSED and p.override_by_id == chief.id
    assert any(e.kind == "override" and e.text == reason for e in improvements.history(p))
    entry = db.session.scalars(
        select(AuditLog).where(
            AuditLog.action == "improvement_override", AuditLog.object_id == str(p.id)
        )
    ).one()
    assert entry.reason == reason  # (the entry had no reason)
    closed = db.session.scalars(
        select(AuditLog).where(
            AuditLog.action == "improvement_close", AuditLog.object_id == str(p.id)
        )
    )
    assert "人工认定闭环" in closed.one().reason


def test_running_window_is_not_enough_data_yet(branch, hq):
    now = utcnow()
    p = problem(hq)
    finished_action(p, hq, now - 10 * DAY)
    _, result = figures.evaluate(p, now)
    assert result.verdict == "insufficient" and result.days_left == 50


def test_cannot_close_with_an_open_action_even_when_overridden(branch, hq, chief):
    now = utcnow()
    p = problem(hq)
    with pytest.raises(Conflict, match="尚无整改措施"):
        improvements.close_problem(p.id, actor=hq, now=now)
    finished_action(p, hq, now - 70 * DAY)
    improvements.override_verification(p.id, "经检查，培训已覆盖全部柜员和客服人员", actor=chief)
    actions.add_action(p.id, actions.ActionData("上线年费到期提醒短信", today()), actor=hq)
    assert p.status == ProblemStatus.IN_PROGRESS
    # the override judged the problem without the new action: it ends, recorded
    assert not p.overridden
    assert [e.kind for e in improvements.history(p)][-1] == "override_void"
    with pytest.raises(Conflict, match="1 项整改措施未完成"):
        improvements.close_problem(p.id, actor=hq, now=now)


def test_nothing_is_verified_until_every_action_is_finished(branch, hq):
    """No verdict (not even 数据不足) while the problem has no action or one is still open:
    the comparison starts from the last action's completion."""
    now = utcnow()
    for k in range(12):
        complaint(now - 90 * DAY + k * DAY)  # plenty to compare, had the window started
    p = problem(hq)
    w, result = figures.evaluate(p, now)
    assert (w.anchor, result.verdict, result.signals) == (None, "pending", ())
    assert "整改措施完成后开始验证" in result.reason and not result.started
    finished_action(p, hq, now - 70 * DAY)
    actions.add_action(p.id, actions.ActionData("上线年费到期提醒短信", today()), actor=hq)
    w, result = figures.evaluate(p, now)
    assert w.anchor is None and result.verdict == "pending"
    assert "还有 1 项整改措施未完成" in result.reason
    assert figures.refresh(p, now) == result and p.verification["verdict"] == "pending"


def test_override_only_once_the_actions_are_finished_and_while_unverified(branch, hq, chief):
    now = utcnow()
    reason = "该业务已于上月停办，投诉自然消失，经现场复核整改已落实"
    p = problem(hq)
    a = actions.add_action(p.id, actions.ActionData("修订话术", today()), actor=hq)
    with pytest.raises(Conflict, match="整改措施全部完成后才能人工认定"):
        improvements.override_verification(p.id, reason, actor=chief)
    actions.change_action(p.id, a.id, "complete", actor=hq, text="已培训", now=now - 70 * DAY)
    assert improvements.override_blocker(p, figures.evaluate(p, now)[1], chief) is None
    improvements.override_verification(p.id, reason, actor=chief)
    assert p.overridden


def test_an_override_is_not_needed_when_the_verification_holds(branch, hq):
    now = utcnow()
    done_at = now - 70 * DAY
    for k in range(12):
        complaint(done_at - (k + 1) * 4 * DAY)
    complaint(done_at + 10 * DAY)
    p = problem(hq)
    finished_action(p, hq, done_at)
    with pytest.raises(Conflict, match="已验证通过，无需人工认定"):
        improvements.override_verification(p.id, "经复核整改措施已经全部落实到位", actor=hq)


def verbs(action, now):
    return {
        c.verb: c.blocker for c in actions.choices(action, figures.evaluate(action.problem, now)[1])
    }


def test_the_choices_on_an_action_follow_its_status_and_the_verification(branch, hq, chief):
    now = utcnow()
    p = problem(hq)
    a = actions.add_action(p.id, actions.ActionData("修订话术", today()), actor=hq)
    assert verbs(a, now) == {"start": None, "complete": None, "evidence": None}
    actions.change_action(p.id, a.id, "start", actor=hq)
    assert verbs(a, now) == {"complete": None, "evidence": None}
    actions.change_action(p.id, a.id, "complete", actor=hq, text="已培训", now=now - 70 * DAY)
    offered = verbs(a, now)
    assert list(offered) == ["verify", "reopen", "evidence"]
    assert offered["reopen"] is None and offered["evidence"] is None
    # no data: 数据不足, so 验证 is shown disabled with the service's own refusal
    assert "整改效果尚未通过验证（数据不足" in offered["verify"]
    with pytest.raises(Conflict) as refused:
        actions.change_action(p.id, a.id, "verify", actor=hq)
    assert refused.value.message == offered["verify"]
    improvements.override_verification(p.id, "经复核整改措施已经全部落实到位", actor=chief)
    # an override closes without the figures: it does not verify the action
    assert verbs(a, now)["verify"] == offered["verify"]
    improvements.close_problem(p.id, actor=hq, now=now)
    assert a.status == ActionStatus.DONE
    assert verbs(a, now) == {"reopen": None}  # closed: only reopening remains
    with pytest.raises(Conflict, match="问题已闭环"):
        actions.add_evidence(p.id, a.id, actor=hq, text="补充照片", uploads=[])


def test_verify_waits_for_the_other_actions(branch, hq):
    now = utcnow()
    p = problem(hq)
    done = finished_action(p, hq, now - 70 * DAY)
    actions.add_action(p.id, actions.ActionData("上线提醒短信", today()), actor=hq)
    blocker = verbs(done, now)["verify"]
    assert blocker == "还有 1 项整改措施未完成，全部完成后开始验证，暂不能标记为已验证"


def test_complete_needs_evidence_and_transitions_are_guarded(branch, hq):
    p = problem(hq)
    a = actions.add_action(p.id, actions.ActionData("修订话术", today()), actor=hq)
    with pytest.raises(ValidationFailed, match="整改证据"):
        actions.change_action(p.id, a.id, "complete", actor=hq)
    with pytest.raises(Conflict):
        actions.change_action(p.id, a.id, "reopen", actor=hq, text="效果不好")
    actions.change_action(p.id, a.id, "start", actor=hq)
    assert p.status == ProblemStatus.IN_PROGRESS
    texts = db.session.scalars(
        select(ProblemEvent.text).where(ProblemEvent.problem_id == p.id)
    ).all()
    assert "开始整改措施：修订话术" in texts  # not 开始整改整改措施


def test_reopening_an_action_reopens_a_closed_problem(branch, hq, chief):
    now = utcnow()
    p = problem(hq)
    a = finished_action(p, hq, now - 70 * DAY)
    improvements.override_verification(p.id, "经复核整改措施已经全部落实到位", actor=chief)
    improvements.close_problem(p.id, actor=hq, now=now)
    # its due date passed long ago: kept, it was overdue (and escalated) at once
    with pytest.raises(ValidationFailed, match="原完成期限.*已过，重新打开须填写新的完成期限"):
        actions.change_action(p.id, a.id, "reopen", actor=hq, text="同类投诉再次出现")
    with pytest.raises(ValidationFailed, match="不能早于今天"):
        actions.change_action(
            p.id, a.id, "reopen", actor=hq, text="同类投诉再次出现", due_on=today() - DAY
        )
    new_due = today() + 14 * DAY
    actions.change_action(p.id, a.id, "reopen", actor=hq, text="同类投诉再次出现", due_on=new_due)
    assert p.status == ProblemStatus.IN_PROGRESS and p.closed_at is None
    assert not p.overridden
    assert a.due_on == new_due and a.is_open
    said = [e.text for e in improvements.history(p) if e.kind == "action_reopen"]
    assert said and f"完成期限改为 {new_due:%Y-%m-%d}" in said[-1]


def test_a_closed_problem_cannot_be_edited_or_its_cases_unlinked(branch, hq, chief):
    now = utcnow()
    p = problem(hq)
    added = improvements.link_cases(p.id, "complaint", [complaint(now - DAY).id], actor=hq)
    finished_action(p, hq, now - 70 * DAY)
    improvements.override_verification(p.id, "经复核整改措施已经全部落实到位", actor=chief)
    improvements.close_problem(p.id, actor=hq, now=now)
    edit = improvements.ProblemData(title="改过的标题", root_cause="process", branch_code="HZT9")
    with pytest.raises(Conflict, match="重新打开"):
        improvements.update_problem(p.id, edit, actor=hq)
    with pytest.raises(Conflict, match="不能取消"):
        improvements.unlink_case(p.id, added[0].id, actor=hq)
    with pytest.raises(Conflict):
        improvements.link_cases(p.id, "complaint", [complaint(now).id], actor=hq)
    db.session.refresh(p)
    assert p.title == "信用卡年费告知不清" and len(improvements.links_of(p)) == 1


def test_a_case_of_another_unit_is_not_linked_to_a_units_problem(branch, hq):
    """Head office (which sees every unit) linked a Nanjing complaint to a Hangzhou branch's
    problem: the branch's managers then read its text on the problem's page although they
    cannot open the case, and its figures are not theirs. Refused, nothing linked."""
    now = utcnow()
    p = problem(hq)
    other = complaints.create_complaint(
        IntakeData(
            channel="hotline",
            content="快捷支付被盗刷了八千八百元，要求查明并赔偿。",
            name="南京客户",
            branch_code="NJ01",
            received_at=now - DAY,
        )
    )[0]
    own = complaint(now - DAY)
    with pytest.raises(ValidationFailed, match=r"不在本问题所属机构（测试整改支行）辖内"):
        improvements.link_cases(p.id, "complaint", [own.id, other.id], actor=hq)
    assert improvements.links_of(p) == []  # (all or nothing: the unit's own case neither)
    # a case's page offers only the problems of its unit and the units above it
    assert p not in improvements.open_problems_for("complaint", other.id)
    assert p in improvements.open_problems_for("complaint", own.id)
    assert len(improvements.link_cases(p.id, "complaint", [own.id], actor=hq)) == 1


def test_linking_cases_skips_duplicates_and_is_recorded(branch, hq):
    now = utcnow()
    cases = [complaint(now - k * DAY) for k in (3, 2, 1)]
    p = problem(hq)
    added = improvements.link_cases(p.id, "complaint", [c.id for c in cases], actor=hq)
    assert len(added) == 3
    again = improvements.link_cases(p.id, "complaint", [cases[0].id], actor=hq)
    assert again == []
    assert p.first_case_at == cases[0].received_at
    assert improvements.problems_linked_to("complaint", cases[1].id) == [p]
    linked = [e for e in improvements.history(p) if e.kind == "linked"]
    assert len(linked) == 1 and cases[2].reference in linked[0].text
    with pytest.raises(NotFound):
        improvements.link_cases(p.id, "complaint", [10**9], actor=hq)


def test_a_link_keeps_the_cases_own_date_and_when_it_was_linked(branch, hq):
    """The history entry and the link are dated when the case was linked (not when the page is
    shown); the case keeps its own date (a complaint's receipt) beside it."""
    now = utcnow()
    case = complaint(now - 20 * DAY)
    p = problem(hq)
    linked_on = now - 12 * DAY
    (link,) = improvements.link_rows(p, "complaint", [case.id], hq, "manual", at=linked_on)
    assert link.source_at == case.received_at and link.source_at_label == "受理"
    assert link.linked_at == linked_on
    (entry,) = [e for e in improvements.history(p) if e.kind == "linked"]
    assert entry.at == linked_on
    later = complaint(now - 2 * DAY)
    (link,) = improvements.link_cases(p.id, "complaint", [later.id], actor=hq)
    assert link.source_at == later.received_at and now <= link.linked_at <= utcnow()


def test_branch_scope_hides_other_branches_problems(branch, hq):
    problem_id = problem(hq).id
    manager_nj = factories.user(Role.BRANCH_MANAGER, "NJ")
    scope.bind(db.session, scope.scope_for(manager_nj))
    db.session.expunge_all()  # a request starts with an empty identity map
    try:
        with pytest.raises(NotFound):
            improvements.get_problem(problem_id)
        with pytest.raises(ValidationFailed):
            problem(db.session.merge(manager_nj))  # HZT9 is outside NJ
    finally:
        scope.bind(db.session, scope.WHOLE_BANK)


def test_agents_cannot_manage_problems(branch):
    agent = factories.user(Role.AGENT, "HZ")
    with pytest.raises(Exception, match="只有机构负责人"):
        problem(agent)


def test_reminder_before_due_and_escalation_when_overdue_once(branch, hq):
    now = utcnow()
    owner = factories.user(Role.BRANCH_MANAGER, "HZ")
    p = problem(hq, owner_id=owner.id)
    soon = actions.add_action(p.id, actions.ActionData("更新告知书", today() + 2 * DAY), actor=hq)
    late = actions.add_action(
        p.id, actions.ActionData("系统改造", today() - 3 * DAY), actor=hq, now=now - 10 * DAY
    )
    report = actions.remind_and_escalate(now=now)
    assert soon.id in report.reminded and late.id not in report.reminded
    assert late.id in report.escalated and soon.id not in report.escalated
    sent = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.related_type == "improvement_action")
    ).all()
    assert {m.recipient for m in sent if m.related_id == late.id} >= {owner.username, hq.username}
    again = actions.remind_and_escalate(now=now)
    assert {soon.id, late.id}.isdisjoint(again.reminded + again.escalated)
    assert [e.kind for e in improvements.history(p)][-2:] == ["escalated", "reminded"]


def test_stored_verdicts_follow_completion_and_the_end_of_the_observation_window(branch, hq):
    """The board shows the verdict stored on the problem: completing an action stores it, and
    the reminder job brings it up to date once the observation window has run out."""
    now = utcnow()
    p = problem(hq)
    finished_action(p, hq, now - 61 * DAY)  # stored as of then: the window had just begun
    assert p.verification["days_left"] > 0 and p.verification["anchor"]
    report = actions.remind_and_escalate(now=now)
    assert report.refreshed >= 1
    assert p.verification["days_left"] == 0 and p.verification["at"] == now.isoformat()


def test_completing_an_action_can_resurvey_the_linked_customers(branch, hq):
    now = utcnow()
    cases = [complaint(now - k * DAY) for k in (3, 2)]
    p = problem(hq)
    improvements.link_cases(p.id, "complaint", [c.id for c in cases], actor=hq)
    a = actions.add_action(p.id, actions.ActionData("修订话术", today()), actor=hq)
    survey_id = db.session.scalars(select(SurveyVersion.survey_id)).first()
    actions.change_action(
        p.id, a.id, "complete", actor=hq, text="已培训",
        resurvey=actions.Resurvey(survey_id, "sms"),
    )  # fmt: skip
    campaign = db.session.scalars(select(Campaign).where(Campaign.name.like("整改回访%"))).one()
    assert campaign.audience == "list"
    assert set(campaign.audience_list.splitlines()) == {c.customer.external_id for c in cases}


def test_a_resurvey_started_in_the_quiet_hours_is_sent_once_they_are_over(branch, hq, monkeypatch):
    """A 整改 re-survey created at night stayed 待发送: nothing resumed it."""
    from datetime import UTC, datetime, time
    from zoneinfo import ZoneInfo

    from app.jobs.broker import bound
    from app.jobs.surveys import dispatch_due
    from app.services import campaigns

    dispatch_job = bound(dispatch_due)  # this app's task, not Celery's default app's
    beijing = ZoneInfo("Asia/Shanghai")
    day = utcnow().replace(tzinfo=UTC).astimezone(beijing).date()
    night = datetime.combine(day + DAY, time(22, 0), beijing).astimezone(UTC)
    morning = datetime.combine(day + 2 * DAY, time(8, 30), beijing).astimezone(UTC)
    cases = [complaint(utcnow() - k * DAY) for k in (3, 2)]
    p = problem(hq)
    improvements.link_cases(p.id, "complaint", [c.id for c in cases], actor=hq)
    a = actions.add_action(p.id, actions.ActionData("修订话术", today()), actor=hq)
    survey_id = db.session.scalars(select(SurveyVersion.survey_id)).first()
    monkeypatch.setattr(campaigns, "utcnow", lambda: night)
    actions.change_action(
        p.id, a.id, "complete", actor=hq, text="已培训",
        resurvey=actions.Resurvey(survey_id, "sms"), now=night,
    )  # fmt: skip
    campaign = db.session.scalars(select(Campaign).where(Campaign.name.like("整改回访%"))).one()
    assert (campaign.status, campaign.note) == ("draft", campaigns.QUIET_HOURS_NOTE)
    dispatch_job.apply()  # still night: held
    db.session.expire_all()
    assert campaign.status == "draft" and campaign.processed == 0
    monkeypatch.setattr(campaigns, "utcnow", lambda: morning)
    dispatch_job.apply()
    db.session.expire_all()
    assert campaign.status == "sent" and campaign.note == ""
    assert campaign.processed == campaign.total == len(cases)


def test_history_entries_cannot_be_changed(branch, hq):
    p = problem(hq)
    entry = db.session.scalars(select(ProblemEvent).where(ProblemEvent.problem_id == p.id)).one()
    entry.text = "篡改"
    with pytest.raises(ProblemEventImmutable):
        db.session.flush()
    db.session.rollback()


def test_cli_remind_reports_and_is_idempotent(app, branch, hq):
    p = problem(hq)
    late = actions.add_action(
        p.id, actions.ActionData("系统改造", today() - DAY), actor=hq, now=utcnow() - 5 * DAY
    )
    runner = app.test_cli_runner()
    first = runner.invoke(args=["improvements", "remind"])
    assert first.exit_code == 0 and f"已督办逾期整改措施 {late.id}" in first.output
    second = runner.invoke(args=["improvements", "remind"])
    assert f"已督办逾期整改措施 {late.id}" not in second.output


# 人工认定 is an exception: after the observation period, inconclusive, by a second person above.


def test_an_override_cannot_skip_the_observation_period(branch, hq, chief):
    """Three days after the last action, closing was refused (观察期中) but an override by the
    problem's own owner unlocked 闭环 at once."""
    now = utcnow()
    p = problem(hq, owner_id=hq.id)
    finished_action(p, hq, now - 3 * DAY)
    reason = "该业务已于上月停办，投诉自然消失，经现场复核整改已落实"
    for who in (hq, chief):
        with pytest.raises(Conflict, match="观察期尚未结束.*不能人工认定"):
            improvements.override_verification(p.id, reason, actor=who)
    assert not p.overridden
    # nor does one stored before this rule (during the period) let the problem close
    p.override_reason, p.override_by_id, p.override_at = reason, chief.id, now
    with pytest.raises(Conflict, match="人工认定不能跳过观察期"):
        improvements.close_problem(p.id, actor=hq, now=now)
    assert p.status == ProblemStatus.VERIFYING


def test_an_override_needs_someone_above_the_problem_other_than_its_owner(branch, hq):
    now = utcnow()
    owner = factories.user(Role.BRANCH_MANAGER, "HZT9")
    peer = factories.user(Role.BRANCH_MANAGER, "HZT9")
    above = factories.user(Role.BRANCH_MANAGER, "HZ")
    p = problem(hq, owner_id=owner.id)
    finished_action(p, owner, now - 70 * DAY)  # the period is over: too few answers to judge
    reason = "该业务已于上月停办，投诉自然消失，经现场复核整改已落实"
    with pytest.raises(Conflict, match="您是本问题的负责人，不能认定自己负责的整改"):
        improvements.override_verification(p.id, reason, actor=owner)
    with pytest.raises(Conflict, match="须由其上级机构的负责人或总行管理人员作出"):
        improvements.override_verification(p.id, reason, actor=peer)
    improvements.override_verification(p.id, reason, actor=above)
    assert p.override_by_id == above.id
    # without a named owner, whoever opened the problem answers for it
    unowned = problem(hq, title="理财产品风险提示不到位")
    finished_action(unowned, hq, now - 70 * DAY)
    with pytest.raises(Conflict, match="您是本问题的立项人"):
        improvements.override_verification(unowned.id, reason, actor=hq)


def test_a_significant_worsening_cannot_be_overridden_but_no_change_can(branch, hq, chief):
    now = utcnow()
    done_at = now - 65 * DAY
    for k in range(3):
        complaint(done_at - (k + 1) * 5 * DAY)
    for k in range(14):  # 3 -> 14: z = 11 / sqrt(17) = 2.67
        complaint(done_at + (k + 1) * 4 * DAY)
    worse = problem(hq)
    finished_action(worse, hq, done_at)
    reason = "经复核整改措施已经全部落实到位，投诉上升另有原因"
    with pytest.raises(Conflict, match="显著变差时不能人工认定"):
        improvements.override_verification(worse.id, reason, actor=chief)
    with pytest.raises(Conflict, match="请重新打开或新增整改措施"):
        improvements.close_problem(worse.id, actor=hq, now=now)
    # NPS 20 -> 17 on 400 answers a window: 无显著变化, inconclusive, so a superior may accept
    responses(done_at - 50 * DAY, factories.nps_answers(160, 160, 80), "nps")
    responses(done_at + 10 * DAY, factories.nps_answers(148, 172, 80), "nps")
    same = problem(hq, title="活期账户短信提醒不及时", code_business="B01.01")  # no complaints
    finished_action(same, hq, done_at)
    assert figures.evaluate(same, now)[1].inconclusive
    improvements.override_verification(same.id, reason, actor=chief)
    improvements.close_problem(same.id, actor=hq, now=now)
    assert same.closed_by_override


def test_a_problem_closed_by_override_is_not_verified_anywhere(branch, hq, chief):
    """Closed on an override, every action showed 已验证 and the problem counted in the
    verification figures (首次投诉至验证)."""
    now = utcnow()
    before, _ = figures.overview(now)
    p = problem(hq)
    improvements.link_cases(p.id, "complaint", [complaint(now - 100 * DAY).id], actor=hq)
    a = finished_action(p, hq, now - 70 * DAY)
    improvements.override_verification(p.id, "经复核整改措施已经全部落实到位", actor=chief)
    improvements.close_problem(p.id, actor=hq, now=now)
    assert p.status == ProblemStatus.CLOSED and p.closed_by_override
    assert p.status_label == "人工认定闭环"
    assert p.verified_at is None and a.status == ActionStatus.DONE and a.verified_at is None
    closed = [e for e in improvements.history(p) if e.kind == "closed"][-1]
    assert "人工认定闭环，未经数据验证" in closed.text
    after, _ = figures.overview(now)
    assert after.closed == before.closed + 1 and after.overridden == before.overridden + 1
    assert after.verified == before.verified and after.days == before.days


# 完成期限: never in the past


def test_an_action_cannot_be_due_before_today(branch, hq):
    p = problem(hq)
    for due in (today() - DAY, today().replace(year=2020, month=1, day=1)):
        with pytest.raises(ValidationFailed, match="完成期限不能早于今天") as refused:
            actions.add_action(p.id, actions.ActionData("修订话术", due), actor=hq)
        assert refused.value.fields == {"due_on": refused.value.message}
    assert not p.actions
    assert actions.add_action(p.id, actions.ActionData("修订话术", today()), actor=hq).id


def test_editing_an_overdue_action_keeps_its_date_but_a_new_one_must_be_today_or_later(branch, hq):
    now = utcnow()
    p = problem(hq)
    due = today() - 3 * DAY
    a = actions.add_action(p.id, actions.ActionData("系统改造", due), actor=hq, now=now - 9 * DAY)
    fixed = actions.ActionData("系统改造（含手机银行）", due, detail="两个渠道一起改")
    actions.update_action(p.id, a.id, fixed, actor=hq)
    assert a.title == "系统改造（含手机银行）" and a.due_on == due
    with pytest.raises(ValidationFailed, match="完成期限不能早于今天"):
        actions.update_action(p.id, a.id, actions.ActionData(a.title, due - DAY), actor=hq)
    assert a.due_on == due


# Correcting and cancelling actions


def test_an_open_action_can_be_corrected_and_every_change_is_in_the_history(branch, hq):
    now = utcnow()
    owner = factories.user(Role.BRANCH_MANAGER, "HZT9", display_name="周网点")
    p = problem(hq)
    a = actions.add_action(
        p.id, actions.ActionData("修订话术", today() - DAY), actor=hq, now=now - 5 * DAY
    )
    actions.remind_and_escalate(now=now)
    assert a.escalated_at is not None
    later = today() + 20 * DAY
    data = actions.ActionData("修订年费告知话术", later, detail="柜面和电话", owner_id=owner.id)
    actions.update_action(p.id, a.id, data, actor=hq)
    assert (a.title, a.detail, a.owner_id, a.due_on) == (
        "修订年费告知话术", "柜面和电话", owner.id, later,
    )  # fmt: skip
    assert a.reminded_at is None and a.escalated_at is None  # the new date is reminded anew
    entry = [e for e in improvements.history(p) if e.kind == "action_changed"][-1]
    assert entry.action_id == a.id and entry.actor_id == hq.id
    assert "责任人 未指定 → 周网点" in entry.text and f"→ {later}" in entry.text
    assert set(entry.detail["changed"]) == {"title", "detail", "owner_id", "due_on"}
    count = len(improvements.history(p))
    actions.update_action(p.id, a.id, data, actor=hq)  # nothing changed: nothing recorded
    assert len(improvements.history(p)) == count
    actions.change_action(p.id, a.id, "complete", actor=hq, text="已培训")
    with pytest.raises(Conflict, match="只能修改未完成的整改措施"):
        actions.update_action(p.id, a.id, data, actor=hq)


def test_a_cancelled_action_does_not_block_closing_and_keeps_its_reason(branch, hq):
    """A duplicate action blocked closing until someone marked it 完成 (a false record)."""
    now = utcnow()
    p = problem(hq)
    done = finished_action(p, hq, now - 70 * DAY)
    duplicate = actions.add_action(p.id, actions.ActionData("修订年费告知话术", today()), actor=hq)
    assert p.status == ProblemStatus.IN_PROGRESS
    with pytest.raises(ValidationFailed, match="撤销的原因"):
        actions.change_action(p.id, duplicate.id, "cancel", actor=hq, text="重复")
    with pytest.raises(Conflict):  # a completed action cannot be cancelled
        actions.change_action(p.id, done.id, "cancel", actor=hq, text="与第一项重复")
    actions.change_action(p.id, duplicate.id, "cancel", actor=hq, text="与第一项措施重复")
    assert duplicate.status == ActionStatus.CANCELLED and duplicate.status_label == "已撤销"
    assert not duplicate.finished and duplicate.done_at is None
    assert p.status == ProblemStatus.VERIFYING and figures.open_actions(p) == 0
    assert verbs(duplicate, now) == {}  # nothing more to do on it
    why = actions.cancellations(p)[duplicate.id]
    assert why.detail["reason"] == "与第一项措施重复" and why.actor_id == hq.id
    assert why.text == "撤销整改措施：修订年费告知话术。与第一项措施重复"
    # the comparison starts from the last action really completed
    w, _ = figures.evaluate(p, now)
    assert w.anchor == done.done_at
    # not reminded, escalated or counted overdue
    duplicate.due_on = today() - DAY
    report = actions.remind_and_escalate(now=now)
    assert duplicate.id not in report.escalated + report.reminded
    assert duplicate not in figures.overdue_actions(now)
    assert improvements.close_blocker(p, figures.evaluate(p, now)[1]) != "还有 1 项整改措施未完成"


def test_a_problem_whose_actions_are_all_cancelled_cannot_close(branch, hq):
    p = problem(hq)
    a = actions.add_action(p.id, actions.ActionData("修订话术", today()), actor=hq)
    actions.change_action(p.id, a.id, "cancel", actor=hq, text="误建，问题另行处理")
    assert p.status == ProblemStatus.OPEN
    with pytest.raises(Conflict, match="整改措施均已撤销"):
        improvements.close_problem(p.id, actor=hq)


def test_an_action_completed_after_its_due_date_is_late_by_whole_days(branch, hq):
    now = utcnow()
    p = problem(hq)
    a = actions.add_action(
        p.id, actions.ActionData("系统改造", today() - 4 * DAY), actor=hq, now=now - 9 * DAY
    )
    assert actions.days_late(a) == 0  # not completed yet
    actions.change_action(p.id, a.id, "complete", actor=hq, text="已上线", now=now)
    assert actions.days_late(a) == 4
    on_time = actions.add_action(p.id, actions.ActionData("培训", today()), actor=hq)
    actions.change_action(p.id, on_time.id, "complete", actor=hq, text="已培训", now=now)
    assert actions.days_late(on_time) == 0


def test_suggestions_find_the_complaints_about_what_the_problem_is_about(branch, hq):
    """A problem about 非柜面转账限额 was offered recent complaints of its category about LPR,
    ATMs and fees, and none of the complaints about limits."""
    now = utcnow()
    about = [
        complaint(now - 3 * DAY, "手机银行非柜面转账每天限额五千元，做生意根本不够用。"),
        complaint(now - 9 * DAY, "转账限额太低了，给供应商付款要分好几天。"),
    ]
    for n in range(6):  # more recent, of other matters
        complaint(now - DAY, f"信用卡年费多收了三百元，要求退还（第{n}次反映）。")
    p = problem(
        hq,
        title="非柜面转账限额过低影响经营",
        description="个体户反映手机银行非柜面转账每日限额过低，无法支付货款。",
        code_business=None,
    )
    assert {"限额", "非柜面"} <= set(figures.problem_terms(p))
    offered = [s.source_id for s in figures.suggestions(p) if s.source_type == "complaint"]
    assert offered[:2] == [c.id for c in about]  # (the one sharing more words first)
    assert len(offered) == 2  # (the fee complaints share nothing with it)


def test_the_figures_scope_is_fixed_once_the_observation_has_begun(branch, hq):
    """A window shortened from 60 to 14 days after the actions were done ended the observation
    at once (head office was then offered 人工认定 on worse figures), and the history said only
    修改了问题信息."""
    now = utcnow()
    p = problem(hq)
    keep = {"root_cause": "process", "branch_code": "HZT9", "code_business": "B03.02"}
    renamed = improvements.ProblemData(title="年费告知不清（信用卡中心）", **keep)
    improvements.update_problem(p.id, renamed, actor=hq)  # before any action: anything goes
    shorter = improvements.ProblemData(title=renamed.title, window_days=30, **keep)
    improvements.update_problem(p.id, shorter, actor=hq)
    texts = [e.text for e in improvements.history(p)]
    assert "修改了问题信息：标题" in texts and "修改了问题信息：对比窗口" in texts
    finished_action(p, hq, now - 5 * DAY)
    shortest = improvements.ProblemData(title=renamed.title, window_days=14, **keep)
    with pytest.raises(Conflict, match="对比窗口已固定"):
        improvements.update_problem(p.id, shortest, actor=hq)
    other = improvements.ProblemData(
        title=renamed.title, window_days=30, **{**keep, "code_business": "B03.01"}
    )
    with pytest.raises(Conflict, match="投诉类别已固定"):
        improvements.update_problem(p.id, other, actor=hq)
    db.session.refresh(p)
    assert p.window_days == 30 and p.code_business == "B03.02"
    described = improvements.ProblemData(
        title=renamed.title, description="补充说明", window_days=30, **keep
    )
    improvements.update_problem(p.id, described, actor=hq)  # the wording stays editable


def test_owners_work_where_the_problem_is(branch, hq):
    """A 南京 manager named owner of a 杭州 action saw it on their 工作台 and could neither
    open nor start it: owners come from the problem's unit, below it or above it."""
    p = problem(hq)
    nanjing = factories.user(Role.BRANCH_MANAGER, "NJ")
    hangzhou = factories.user(Role.BRANCH_MANAGER, "HZ")  # the unit above HZT9
    db.session.commit()  # (a refused use case rolls back what is not committed)
    due = today() + 7 * DAY
    with pytest.raises(ValidationFailed, match="责任人须为测试整改支行及其下级或上级机构的员工"):
        actions.add_action(
            p.id, actions.ActionData(title="排查", due_on=due, owner_id=nanjing.id), actor=hq
        )
    kept = actions.add_action(
        p.id, actions.ActionData(title="排查", due_on=due, owner_id=hangzhou.id), actor=hq
    )
    assert kept.owner_id == hangzhou.id
    head_office = actions.add_action(
        p.id, actions.ActionData(title="复核", due_on=due, owner_id=hq.id), actor=hq
    )
    assert head_office.owner_id == hq.id
    moved = improvements.ProblemData(
        title="信用卡年费告知不清", root_cause="process", branch_code="HZT9", owner_id=nanjing.id
    )
    with pytest.raises(ValidationFailed, match="属于"):
        improvements.update_problem(p.id, moved, actor=hq)


def test_window_figures_from_the_rollup_equal_the_answers_themselves(branch, hq):
    """Whole Beijing days of a window come from the satisfaction rollup (month, week and day
    rows), its part days from the answers: the counts equal counting every answer, wherever
    the window's edges fall (mid-day, midnight, within one day, across a month's end)."""
    start = datetime(2025, 1, 27, 22, 50, tzinfo=SH).astimezone(UTC)
    for n in range(10):  # 10 answers a run, 5 minutes apart, every 12 h 35 min for 20 days
        at = start + n * timedelta(hours=12, minutes=35)
        responses(at, [(n + k) % 5 + 1 for k in range(10)])
        responses(at + timedelta(hours=3), [(n * k) % 11 for k in range(10)], "nps")
    factories.scored_responses("HZ01", start, [1] * 10)  # another unit: not the problem's
    p = problem(hq, code_business=None)
    edges = [
        (start, start + 4 * DAY),
        (start - 60 * DAY, start + 3 * DAY + timedelta(hours=5)),
        (datetime(2025, 1, 29, tzinfo=SH), datetime(2025, 2, 3, tzinfo=SH)),  # midnights
        (datetime(2025, 1, 30, 8, tzinfo=SH), datetime(2025, 1, 30, 20, tzinfo=SH)),
        (datetime(2025, 1, 29, 23, 59, tzinfo=SH), datetime(2025, 2, 2, 0, 1, tzinfo=SH)),
    ]
    for lo, hi in edges:
        counted = figures.response_figures(p, lo, hi)
        assert counted == figures._answered(p, lo, hi)
    whole = figures.response_figures(p, start - DAY, start + 8 * DAY)
    assert whole["csat_n"] == 100 and whole["nps_n"] == 100  # none of HZ01's


def test_days_from_first_case_to_verification_are_beijing_calendar_days(branch, hq):
    """18:11 on 21 August to 06:14 on 6 December (Beijing) is 107 calendar days; whole
    24-hour periods said 106."""
    before, _ = figures.overview()
    p = problem(hq)
    p.status, p.closed_at = ProblemStatus.CLOSED, utcnow()
    p.first_case_at = datetime(2026, 8, 21, 18, 11, tzinfo=SH).astimezone(UTC)
    p.verified_at = datetime(2026, 12, 6, 6, 14, tzinfo=SH).astimezone(UTC)
    db.session.commit()
    after, _ = figures.overview()
    assert sorted(after.days) == sorted([*before.days, 107])
