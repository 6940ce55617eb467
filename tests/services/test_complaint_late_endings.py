"""Ending a case after its deadline does not make it timely (regulation audit, Art. 15, 18, 21):
a decision never told stays late when the case is withdrawn (or closed as unreachable) only
after the deadline, and a case with no decision withdrawn or declined after its deadline stays
among the overdue undecided. Ended by the deadline, the notice is excused as before."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Complaint, Role, utcnow
from app.models.complaint import first_decided_in_time_clause
from app.services import complaint_clock as clock
from app.services import complaint_handling as handling
from app.services import complaint_ledger, dashboard_filters, regulator_report, rollups
from app.services import dashboard_complaints as dc
from tests import factories
from tests.services.test_complaint_reviews import _cell
from tests.services.test_complaints import decide, new


def _decided_untold(agent, received_days_ago: int) -> Complaint:
    """Received ``received_days_ago`` days ago, decided five days after (in time), never told."""
    c = new(received_at=utcnow() - timedelta(days=received_days_ago))
    handling.accept(c.id, actor=agent)
    decide(c, agent)
    c.decided_at = c.received_at + timedelta(days=5)
    db.session.commit()
    return c


def _in_time_everywhere(c: Complaint) -> tuple:
    """(ledger, regulator report, SQL clause, rollup cell of the decision day) for one case."""
    now = utcnow()
    rollups.rebuild(["complaint"])
    clause = db.session.scalar(select(first_decided_in_time_clause()).where(Complaint.id == c.id))
    return (
        complaint_ledger._in_time(c, now),
        regulator_report._in_time(c, now),
        clause,
        _cell(clock.local_date(c.decided_at), c.branch_id)[1],
    )


def test_a_decision_never_told_stays_late_when_the_case_is_withdrawn_after_the_deadline(
    db_session,
):
    agent = factories.user(Role.AGENT, "HZ")
    late = _decided_untold(agent, received_days_ago=30)  # due 15 days ago
    *_, cell = _in_time_everywhere(late)  # (the day's cell holds the demo bank's cases too)
    handling.withdraw(late.id, actor=agent, reason="客户来电撤回投诉")  # today
    assert _in_time_everywhere(late) == ("否", "否", 0, cell)
    early = _decided_untold(agent, received_days_ago=32)
    *_, cell = _in_time_everywhere(early)
    on = clock.local_date(early.received_at) + timedelta(days=10)  # before its deadline
    handling.withdraw(early.id, actor=agent, reason="客户来信撤回投诉", on=on)
    assert _in_time_everywhere(early) == ("是", "是", 1, cell + 1)


def test_a_case_without_a_decision_withdrawn_after_its_deadline_stays_overdue(db_session):
    agent = factories.user(Role.AGENT, "HZ")
    c = new(received_at=utcnow() - timedelta(days=25))  # due 10 days ago, no decision
    handling.accept(c.id, actor=agent)
    due_day = clock.local_date(c.due_at)
    f = dashboard_filters.parse({"from": due_day.isoformat(), "to": due_day.isoformat()})
    before = sum(dc.overdue_open(f).values())
    assert before >= 1
    handling.withdraw(c.id, actor=agent, reason="客户来电撤回投诉")
    assert sum(dc.overdue_open(f).values()) == before  # still counted as overdue undecided
    from app.services import dashboard_drill

    listed = dashboard_drill.complaints(f, {"overdue": "1"}, limit=500).items
    assert c.id in {x.id for x in listed}  # (the drill-down behind the figure lists it)
    assert complaint_ledger._in_time(c, utcnow()) == "超时未决（超期后撤回）"
    assert regulator_report._in_time(c, utcnow()).startswith("否")
    # withdrawn by its deadline, it is no longer overdue
    ontime = new(received_at=utcnow() - timedelta(days=25))
    handling.accept(ontime.id, actor=agent)
    on = clock.local_date(ontime.received_at) + timedelta(days=3)
    handling.withdraw(ontime.id, actor=agent, reason="客户来信撤回投诉", on=on)
    assert sum(dc.overdue_open(f).values()) == before
    assert complaint_ledger._in_time(ontime, utcnow()) == "不适用"


def test_a_merged_repeat_is_not_counted_as_a_second_complaint(db_session):
    """Art. 18: a repeat merged into the first complaint is that complaint; it was counted as
    a second one received (and a case closed with no decision) in every figure."""
    from app.services import complaint_casework as casework
    from app.services import dashboard_drill

    agent = factories.user(Role.AGENT, "HZ")
    first = new(received_at=utcnow() - timedelta(days=3))
    repeat = new(received_at=utcnow() - timedelta(days=2))
    day = clock.local_date(repeat.received_at)
    f = dashboard_filters.parse({"from": day.isoformat(), "to": day.isoformat()})
    before = dc.total(f)
    drilled = dashboard_drill.complaints(f, {}).total
    casework.merge(repeat.id, first.id, actor=agent, new_facts=False, note="同一事项")
    db.session.commit()
    after = dc.total(f)
    assert (after.received, after.closed) == (before.received - 1, before.closed)
    assert dashboard_drill.complaints(f, {}).total == drilled - 1
    rollups.rebuild(["complaint"])  # a full rebuild reads the same
    assert dc.total(f).received == after.received


def test_a_forwarded_complaint_merged_into_an_earlier_one_reports_that_cases_handling(db_session):
    """The regulator counts its forwarded numbers (Art. 33, 37): merged into the customer's
    earlier complaint, the forwarded one read 不适用（未作决定即终结） with no link to the case
    that carries its handling."""
    from app.services import complaint_casework as casework

    agent = factories.user(Role.AGENT, "HZ")
    first = new(received_at=utcnow() - timedelta(days=4))
    forwarded = new(
        channel="regulator",
        received_at=utcnow() - timedelta(days=2),
        regulator_ref="JR-DUP-1",
    )
    casework.merge(forwarded.id, first.id, actor=agent, new_facts=False, note="同一事项")
    handling.accept(first.id, actor=agent)
    decide(first, agent)
    db.session.commit()
    day = clock.local_date(forwarded.received_at)
    f = dashboard_filters.parse({"from": day.isoformat(), "to": day.isoformat()})
    _, columns, rows, _ = regulator_report._regulator_sheet(f, regulator_report._branch_names())
    (row,) = [dict(zip(columns, r, strict=True)) for r in rows if r[1] == "JR-DUP-1"]
    assert row["状态"].startswith(f"已并入 {first.reference}")
    assert row["作出决定时间"] and row["是否在法定时限内"] == regulator_report._in_time(
        first, utcnow()
    )
