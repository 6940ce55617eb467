"""看板 · 处理人员: decisions credited to whoever made a case's first decision, reviews asked
for counted against it, follow-up satisfaction from the minimum sample, the cases each person
holds now, and the page's totals equal to the complaints page's."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Invitation, Response, SurveyVersion, utcnow
from app.services import complaint_casework, complaint_handling, dashboard_filters
from app.services import dashboard_complaints as dc
from app.services.dashboard_pages_handlers import COLUMNS, handlers
from tests import factories

pytestmark = pytest.mark.usefixtures("app")

FEE = "信用卡年费多扣了三百元，要求退还。"
DECISION = complaint_handling.Decision(
    "核实了扣费记录", "依据领用合约第十条", "退还年费三百元", ("review", "mediation"), "callback"
)


def _decided(actor, branch: str, days_ago: int = 5):
    c = factories.accepted_complaint(days_ago, FEE, branch_code=branch)
    complaint_handling.decide(c.id, actor=actor, decision=DECISION)
    complaint_handling.record_notice(
        c.id, actor=actor, method="phone", purpose="decision", outcome="reached"
    )
    return c


def _rate(complaint, csat: int, n: int) -> None:
    """A complaint-resolution follow-up about ``complaint`` answered with ``csat``."""
    _, issued = factories.survey_link(
        f"RATE{complaint.id}-{n}", survey_code="complaint-resolution", phone=f"1380000{n:04d}"
    )
    invitation = db.session.get(Invitation, issued.invitation.id)
    invitation.complaint_id = complaint.id
    version = db.session.scalar(
        select(SurveyVersion).where(SurveyVersion.survey_id == invitation.survey_id)
    )
    db.session.add(
        Response(
            survey_id=invitation.survey_id,
            version_id=version.id,
            invitation_id=invitation.id,
            channel="sms",
            answers={},
            csat=csat,
        )
    )
    db.session.flush()


def _rows(page) -> dict[str, dict]:
    return {row[0]: dict(zip(COLUMNS, row, strict=True)) for row in page.tables["handlers"].rows}


def test_handlers_figures(app, monkeypatch):
    monkeypatch.setitem(app.config, "MIN_SAMPLE_SIZE", 2)
    hz = factories.user(branch_code="HZ", display_name="杭州坐席甲")
    nj = factories.user(branch_code="NJ", display_name="南京坐席乙")
    first = _decided(hz, "HZ01")
    second = _decided(hz, "HZ02")
    third = _decided(nj, "NJ01")
    _decided(nj, "NJ03", days_ago=20)  # decided and told on day 20: past the 15 days
    today = complaint_handling.clock.local_date(utcnow())
    complaint_handling.request_review(second.id, actor=hz, requested_on=today, reason="不服决定")
    open_late = factories.accepted_complaint(20, FEE, branch_code="NJ02")  # 15 days passed
    complaint_casework.assign(open_late.id, nj.id, actor=nj)
    _rate(first, 5, 1)
    _rate(second, 2, 2)
    _rate(third, 5, 3)  # one answer: below the minimum sample of 2

    f = dashboard_filters.parse({"from": (today - timedelta(days=30)).isoformat()})
    page = handlers(f)
    rows = _rows(page)
    a, b = rows["杭州坐席甲"], rows["南京坐席乙"]
    assert (a["所属机构"], a["作出决定（件）"], a["申请核查（件）"], a["核查率（%）"]) == (
        "杭州分行",
        2,
        1,
        50.0,
    )
    assert (a["回访答卷（份）"], a["处理满意度（%）"]) == (2, 50.0)
    assert (b["作出决定（件）"], b["回访答卷（份）"], b["处理满意度（%）"]) == (2, 1, None)
    assert (b["法定时限内（件）"], b["时限内占比（%）"], b["平均处理天数"]) == (1, 50.0, 12.5)
    assert (b["当前在办（件）"], b["其中已超期（件）"]) == (1, 1)
    assert a["法定时限内（件）"] == 2 and a["平均处理天数"] == 5.0
    # every decision of the period is someone's, and they add up to the complaints page
    total = dc.total(f)
    assert sum(r["作出决定（件）"] for r in rows.values()) == total.decided
    assert sum(r["法定时限内（件）"] for r in rows.values()) == total.decided_in_time
    decided = [r["作出决定（件）"] for r in rows.values()]
    assert decided == sorted(decided, reverse=True)  # most decisions first
    assert any(c.label == "当前在办" for c in page.cards)


def test_a_branch_manager_sees_the_handlers_of_their_branch_only(app):
    hz = factories.user(branch_code="HZ", display_name="杭州坐席丙")
    nj = factories.user(branch_code="NJ", display_name="南京坐席丁")
    _decided(hz, "HZ01")
    _decided(nj, "NJ01")
    today = complaint_handling.clock.local_date(utcnow())
    nj_branch = factories.branch("NJ")
    f = dashboard_filters.parse({"from": (today - timedelta(days=30)).isoformat(), "branch": "NJ"})
    assert f.branch == nj_branch
    rows = _rows(handlers(f))
    assert "南京坐席丁" in rows and "杭州坐席丙" not in rows


def test_a_periods_decisions_are_found_through_the_first_decision_index(db_session):
    """The period filter is written as the expression of ``ix_complaint_first_decided``
    (coalesce(first_decided_at, decided_at)), so the database can read a period's decisions off
    it instead of scanning every complaint, and PostgreSQL has statistics to size a year of
    them. Asked to run through the index only (PostgreSQL: full scans priced out; SQLite:
    INDEXED BY, which walks the whole index when it cannot search it)."""
    from sqlalchemy import func, text

    from app.models import Complaint
    from app.services.dashboard_pages_handlers import _decided_in

    today = complaint_handling.clock.local_date(utcnow())
    f = dashboard_filters.parse({"from": (today - timedelta(days=30)).isoformat()})
    stmt = _decided_in(f, func.count(Complaint.id))
    conn = db_session.connection()
    sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql))
    else:
        forced = sql.replace(
            "FROM complaint", "FROM complaint INDEXED BY ix_complaint_first_decided"
        )
        plan = " ".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + forced))
    # a range of the index, not a walk through all of it (SQLite: "SCAN complaint USING INDEX")
    assert "ix_complaint_first_decided" in plan and "SCAN complaint" not in plan, plan


def test_each_persons_counts_open_onto_the_cases_behind_them(app, client, auth):
    """A count of 处理人员 is a link to its cases: the decisions a person first made in the
    period (decider=) and the cases they hold now (holder=), the same cases the figures count;
    the drill-down names the person. A branch manager given the id of someone who has nothing
    in their scope sees no cases and no name; a malformed id is said to be ignored."""
    from app.models import User
    from app.services import dashboard_drill as drill

    hz = factories.user(branch_code="HZ", display_name="杭州坐席丙")
    nj = factories.user(branch_code="NJ", display_name="南京坐席丁")
    decided = [_decided(hz, "HZ01"), _decided(hz, "HZ02", days_ago=40), _decided(nj, "NJ01")]
    # (decided today, received 5 and 40 days ago: both decisions fall in the period)
    held = factories.accepted_complaint(3, FEE, branch_code="HZ03")
    late = factories.accepted_complaint(20, FEE, branch_code="HZ04")  # its 15 days are over
    for case in (held, late):
        complaint_casework.assign(case.id, hz.id, actor=hz)
    today = complaint_handling.clock.local_date(utcnow())
    args = {"from": (today - timedelta(days=30)).isoformat()}
    f = dashboard_filters.parse(args)
    page = handlers(f)
    table = page.tables["handlers"]
    row = [r[0] for r in table.rows].index("杭州坐席丙")
    decided_at, open_at = COLUMNS.index("作出决定（件）"), COLUMNS.index("当前在办（件）")
    assert table.drills[(row, decided_at)] == {"decider": str(hz.id)}
    assert table.drills[(row, open_at)] == {"holder": str(hz.id)}

    listed = drill.complaints(f, {"decider": str(hz.id)})
    assert sorted(c.id for c in listed.items) == [decided[0].id, decided[1].id]
    assert listed.total == table.rows[row][decided_at] == 2
    before = dashboard_filters.parse({**args, "to": (today - timedelta(days=1)).isoformat()})
    assert drill.complaints(before, {"decider": str(hz.id)}).total == 0  # decided today
    holding = drill.complaints(f, {"holder": str(hz.id)})
    assert sorted(c.id for c in holding.items) == [held.id, late.id]
    assert table.rows[row][open_at] == 2
    late_at = COLUMNS.index("其中已超期（件）")
    assert table.drills[(row, late_at)] == {"holder": str(hz.id), "overdue": "1"}
    overdue = drill.complaints(f, {"holder": str(hz.id), "overdue": "1"})
    assert [c.id for c in overdue.items] == [late.id] and table.rows[row][late_at] == 1
    assert drill.extra_text({"decider": str(hz.id)}) == ["杭州坐席丙期内首次作出处理决定的投诉"]

    auth.login("hq")
    query = "&".join(f"{k}={v}" for k, v in f.args(decider=hz.id).items())
    html = client.get("/manager/dashboards/handlers?" + f.query_string()).get_data(as_text=True)
    assert f'/manager/dashboards/drill/complaints?{query}"' in unescape(html)
    # (no 查看投诉明细 under the chart: it listed the period's received complaints, not these)
    assert "查看投诉明细" not in html
    shown = client.get("/manager/dashboards/drill/complaints?" + query).get_data(as_text=True)
    assert "杭州坐席丙期内首次作出处理决定的投诉" in shown and decided[0].reference in shown
    assert decided[1].reference in shown and decided[2].reference not in shown
    bad = client.get("/manager/dashboards/drill/complaints?decider=7x&" + f.query_string())
    assert bad.status_code == 200 and "链接中的处理人员无效" in bad.get_data(as_text=True)
    huge = client.get("/manager/dashboards/drill/complaints?holder=99999999999999999999")
    assert huge.status_code == 200 and "链接中的处理人员无效" in huge.get_data(as_text=True)
    auth.logout()

    auth.login("manager")  # 杭州分行
    foreign = f"/manager/dashboards/drill/complaints?decider={nj.id}&" + f.query_string()
    text = client.get(foreign).get_data(as_text=True)
    assert "南京坐席丁" not in text and "该员工" in text and decided[2].reference not in text
    assert db.session.get(User, nj.id) is not None


def test_live_overdue_figures_reconcile_with_the_overview():
    """总览 said 当前超期未决 9 and 处理人员 其中已超期 6: the three others were unassigned or
    decided and not yet told, and neither page said so."""
    from app.services.dashboard_pages import overview

    today = complaint_handling.clock.local_date(utcnow())
    f = dashboard_filters.parse({"from": (today - timedelta(days=30)).isoformat()})
    before = dc.overdue_now_parts(f)
    agent = factories.user(branch_code="HZ", display_name="杭州坐席丙")
    held = factories.accepted_complaint(20, FEE, branch_code="HZ01")  # past its 15 days
    complaint_casework.assign(held.id, agent.id, actor=agent)
    factories.accepted_complaint(20, FEE, branch_code="HZ02")  # nobody's
    decided = factories.accepted_complaint(20, FEE, branch_code="HZ03")
    complaint_handling.decide(decided.id, actor=agent, decision=DECISION)  # (not told yet)

    parts = dc.overdue_now_parts(f)
    assert (parts.assigned, parts.unassigned, parts.decided) == (
        before.assigned + 1,
        before.unassigned + 1,
        before.decided + 1,
    )
    assert dc.overdue_now(f) == sum(parts.values())
    page = handlers(f)
    held_late = sum(row[COLUMNS.index("其中已超期（件）")] for row in page.tables["handlers"].rows)
    assert held_late == parts.assigned  # the card's "其中已超期" is the handlers' part
    cards = {c.label: c for c in page.cards}
    assert cards["当前在办"].sub == (
        f"其中已超期 {parts.assigned} 件；另有未分派 {parts.unassigned} 件、"
        f"已决定待告知或核查中 {parts.decided} 件已超期"
    )
    live = {c.label: c for c in overview(f).cards}["当前超期未决"]
    assert live.value == str(parts.assigned + parts.unassigned + parts.decided)
    assert live.sub == (
        f"实时统计，不受日期范围影响：已分派未决定 {parts.assigned} 件，"
        f"未分派 {parts.unassigned} 件，已决定待告知或核查中 {parts.decided} 件"
    )
