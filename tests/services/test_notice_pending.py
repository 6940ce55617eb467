"""A decision made but not yet told to the customer, with its deadline still ahead, is not due
yet: neither on time nor late. The 处理时效 sheet, its 监管转办 sheet, the ledger's 按时办结,
the dashboards' on-time share and the handlers page all leave it out until the notice is
recorded (then it is on time) or the deadline passes untold (then it is late). It counted as
late on the day of the decision (85.7 % instead of 100 %)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.models import utcnow
from app.services import complaint_clock as clock
from app.services import complaint_handling, complaint_ledger, dashboard_filters, regulator_report
from app.services import complaint_queue as queue
from app.services import dashboard_complaints as dc
from app.services.dashboard_pages_handlers import COLUMNS, handlers
from tests import factories

pytestmark = pytest.mark.usefixtures("app")

FEE = "信用卡年费多扣了三百元，要求退还。"
DECISION = complaint_handling.Decision(
    "核实了扣费记录", "依据领用合约第十条", "退还年费三百元", ("review", "mediation"), "callback"
)


def test_the_pure_predicate():
    now = utcnow()
    due = now + timedelta(days=5)
    decided = now - timedelta(hours=1)
    assert clock.notice_pending(due, decided, None, now=now)
    assert clock.notice_pending(due, decided, decided - timedelta(days=1), now=now)  # (earlier)
    assert not clock.notice_pending(due, decided, now, now=now)  # told
    assert not clock.notice_pending(due, decided, None, excused=True, now=now)
    assert not clock.notice_pending(now - timedelta(seconds=1), decided, None, now=now)  # passed
    assert not clock.notice_pending(due, due + timedelta(seconds=1), None, now=now)  # late anyway
    assert not clock.notice_pending(None, decided, None, now=now)
    assert not clock.notice_pending(due, None, None, now=now)


def _timeliness_row(code: str) -> dict:
    columns, rows = regulator_report.timeliness(regulator_report.current_quarter())
    return dict(zip(columns, next(r for r in rows if r[0] == code), strict=True))


def _figures(f) -> tuple:
    c = dc.total(f)
    return c.decided, c.decided_in_time, c.notice_pending, c.due


def test_a_decision_not_yet_told_is_not_due_until_told_or_late(monkeypatch):
    today = clock.local_date(utcnow())
    f = dashboard_filters.parse(
        {"from": (today - timedelta(days=30)).isoformat(), "branch": "NJ03"}
    )
    decided, in_time, pending, due = _figures(f)  # (the seeded bank's own cases)
    assert pending == 0
    agent = factories.user(branch_code="NJ", display_name="南京待告知甲")
    told = factories.accepted_complaint(4, FEE, branch_code="NJ03")
    complaint_handling.decide(told.id, actor=agent, decision=DECISION)
    complaint_handling.record_notice(
        told.id, actor=agent, method="phone", purpose="decision", outcome="reached"
    )
    untold = factories.accepted_complaint(3, FEE, branch_code="NJ03")
    complaint_handling.decide(untold.id, actor=agent, decision=DECISION)
    now = utcnow()
    assert untold.awaiting_notice and untold.due_at > now
    # the told one is due and on time; the untold one is decided but not due
    assert _figures(f) == (decided + 2, in_time + 1, 1, due + 1)
    total = dc.total(f)
    assert total.in_time_share == (in_time + 1) / (due + 1)  # (was over due + 2)
    assert sum(c.notice_pending for _, c in dc.trend(f)) == 1
    row = _timeliness_row("NJ03")
    assert row["已决定待告知（未到期）（件）"] == 1
    counted = row["作出决定（件）"] - 1 + row["超期未决（件）"]
    share = 100 * row["法定时限内决定并告知（件）"] / counted
    assert row["时限内占比（%）"] == pytest.approx(share, abs=0.05)
    assert regulator_report._in_time(untold, now) == "已作出决定，待告知客户（未到期）"
    manager = factories.user(branch_code="NJ")
    ledger = {
        c.reference: dict(zip(complaint_ledger.COLUMNS, row, strict=True))
        for c in (told, untold)
        for row in complaint_ledger.rows(queue.Filters(queue="all", q=c.reference), manager)
    }
    assert ledger[told.reference]["按时办结"] == "是"
    assert ledger[untold.reference]["按时办结"] == "未到期（待告知）"
    person = next(r for r in handlers(f).tables["handlers"].rows if r[0] == "南京待告知甲")
    person = dict(zip(COLUMNS, person, strict=True))
    assert (person["作出决定（件）"], person["时限内占比（%）"]) == (2, 100.0)

    # the deadline passes untold: late everywhere
    later = untold.due_at + timedelta(seconds=1)
    monkeypatch.setattr(dc, "utcnow", lambda: later)
    assert dc.notice_pending(f) == {}
    assert dc.total(f).due == due + 2  # (late: decided, not on time)
    assert complaint_ledger._in_time(untold, later) == "否"
    assert regulator_report._in_time(untold, later) == "否（处理决定未在时限内告知客户）"


def test_told_in_time_it_counts_on_time():
    agent = factories.user(branch_code="NJ")
    c = factories.accepted_complaint(3, FEE, branch_code="NJ03")
    complaint_handling.decide(c.id, actor=agent, decision=DECISION)
    today = clock.local_date(utcnow())
    args = {"from": (today - timedelta(days=30)).isoformat(), "branch": "NJ03"}
    decided, in_time, pending, due = _figures(dashboard_filters.parse(args))
    assert pending == 1
    complaint_handling.record_notice(
        c.id, actor=agent, method="phone", purpose="decision", outcome="reached"
    )
    assert _figures(dashboard_filters.parse(args)) == (decided, in_time + 1, 0, due + 1)
