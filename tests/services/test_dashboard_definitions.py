"""Definitions behind dashboard figures: timeliness counts overdue open cases, follow-up calls
reach the rollups, labels are Chinese, charts use round ticks, improvement figures read right."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.extensions import db
from app.models import Complaint, FollowUp, Product, Survey
from app.models.complaint import CLOCK_RUNNING
from app.services import dashboard_complaints as dc
from app.services import dashboard_filters, dashboard_pages, dashboard_pages_more, metrics, rollups
from app.services import dashboard_followups as dfu
from app.services import improvement_figures as figures
from app.services import improvement_verification as rule
from app.services.complaints import IntakeData, create_complaint
from app.services.followups import record_attempt
from app.services.rollup_rows import followup_counts
from app.services.tx import transactional
from app.web.manager import dashboards_charts
from tests import factories

SH = ZoneInfo("Asia/Shanghai")


def _local(y: int, m: int, d: int, hh: int = 10) -> datetime:
    return datetime(y, m, d, hh, tzinfo=SH).astimezone(UTC)


def _complaint(received_at: datetime) -> Complaint:
    complaint, _ = create_complaint(
        IntakeData(
            channel="hotline",
            content="信用卡年费扣款有争议，要求退还年费，客服说无法处理。",
            name="王芳",
            phone="13800138000",
            branch_code="NJ01",
            received_at=received_at,
        )
    )
    return complaint


def _raw_overdue(start: datetime, end: datetime) -> int:
    return db.session.scalar(
        select(func.count(Complaint.id)).where(
            Complaint.status.in_([str(s) for s in CLOCK_RUNNING]),
            Complaint.decided_at.is_(None),
            Complaint.due_at >= start,
            Complaint.due_at < min(end, datetime.now(UTC)),
        )
    )


def test_counts_rate_divides_by_decided_plus_open_overdue():
    c = dc.Counts()
    c.add({"decided": 3, "decided_in_time": 3, "overdue_open": 1})
    assert c.due == 4
    assert c.in_time_share == 0.75
    assert dc.Counts().in_time_share is None


def test_an_open_case_past_its_deadline_lowers_the_timeliness_rate(app):
    f = dashboard_filters.parse({"from": "2024-03-01", "to": "2024-05-31", "branch": "NJ"})
    before = dc.total(f)
    complaint = _complaint(_local(2024, 3, 4))
    assert complaint.due_at is not None and complaint.decided_at is None
    after = dc.total(f)
    assert after.overdue_open == before.overdue_open + 1
    assert after.decided == before.decided
    assert after.in_time_share == after.decided_in_time / (after.decided + after.overdue_open)
    assert after.in_time_share < 1.0  # never 100 % while a case is overdue
    # the same case in every view the pages read: trend, heat map rows, JR/T 0169 codes
    assert sum(c.overdue_open for _, c in dc.trend(f)) == after.overdue_open
    assert sum(c.overdue_open for c in dc.by_child(f).values()) == after.overdue_open
    assert sum(c.overdue_open for *_, c in dc.by_dimension(f, "code_business")) == (
        after.overdue_open
    )
    everything = dashboard_filters.parse({"from": "2024-03-01", "to": "2024-05-31"})
    assert dc.total(everything).overdue_open == _raw_overdue(
        _local(2024, 3, 1, 0), _local(2024, 6, 1, 0)
    )
    card = next(c for c in dashboard_pages.overview(f).cards if c.label == "法定时限内处理")
    assert f"超期未决 {after.overdue_open} 件" in card.sub


def test_a_decision_told_after_the_deadline_is_not_in_time(app):
    """The timeliness rate counts decisions made *and communicated* by the deadline (Art. 18):
    decided on day 10 and told on day 20 was counted in time."""
    from app.services import complaint_handling as handling
    from app.services.complaint_clock import local_date

    agent = factories.user("agent", "HZ")
    manager = factories.user("hq_manager", "HO")
    f = dashboard_filters.parse({"from": "2024-03-01", "to": "2024-05-31", "branch": "NJ"})
    before = dc.total(f)
    late, prompt = _complaint(_local(2024, 3, 4)), _complaint(_local(2024, 3, 5))
    for case, told_after in ((late, 16), (prompt, 12)):
        handling.accept(case.id, actor=agent)
        handling.decide(
            case.id,
            actor=agent,
            decision=handling.Decision(
                "核实了扣费记录", "依据收费标准", "退还年费", ("review",), "callback"
            ),
        )
        _backdate(case.id, case.received_at + timedelta(days=10))
        handling.record_notice(
            case.id,
            actor=manager,  # (a letter entered long after it was posted: a manager's 补登)
            method="letter",
            purpose="decision",
            posted_on=local_date(case.received_at + timedelta(days=told_after)),
        )
    after = dc.total(f)
    assert after.decided == before.decided + 2
    assert after.decided_in_time == before.decided_in_time + 1  # the prompt one only
    rollups.rebuild(("complaint",))  # a full rebuild reads the same
    assert dc.total(f).decided_in_time == after.decided_in_time


@transactional
def _backdate(complaint_id: int, decided_at: datetime) -> None:
    db.session.get(Complaint, complaint_id).decided_at = decided_at


def test_a_case_still_within_its_deadline_is_not_counted(app):
    now = datetime.now(UTC)
    today = now.astimezone(SH).date()
    f = dashboard_filters.parse(
        {"from": (today - timedelta(days=3)).isoformat(), "to": today.isoformat(), "branch": "NJ"}
    )
    before = dc.total(f).overdue_open
    _complaint(now - timedelta(hours=2))
    assert dc.total(f).overdue_open == before


@transactional
def _task(created_at: datetime) -> int:
    survey = db.session.scalar(select(Survey).where(Survey.code == "branch-service"))
    customer = factories.customer("HZ01")
    task = FollowUp(
        customer_id=customer.id,
        survey_id=survey.id,
        version_id=survey.latest_version.id,
        branch_id=customer.branch_id,
        reason="detractor",
        note="测试回访",
        due_at=created_at,
        created_at=created_at,
    )
    db.session.add(task)
    db.session.flush()
    return task.id


def test_recorded_calls_reach_the_followup_figures(app, monkeypatch):
    from app.services import followups

    # the calls are made in calling hours (at night 无人接听 is refused)
    monkeypatch.setattr(followups, "utcnow", lambda: followups.in_calling_hours(datetime.now(UTC)))
    created = datetime.now(UTC) - timedelta(hours=1)
    day = created.astimezone(SH).date().isoformat()
    f = dashboard_filters.parse({"from": day, "to": day, "branch": "HZ"})
    before = dfu.total(f)
    task_id = _task(created)
    agent = factories.user(branch_code="HZ")
    record_attempt(task_id, "no_answer", agent=agent)
    db.session.get(FollowUp, task_id).due_at = datetime.now(UTC)  # (the retry time has come)
    record_attempt(task_id, "busy", agent=agent)
    after = dfu.total(f)
    assert after["tasks"] == before["tasks"] + 1
    assert after["attempts"] == before["attempts"] + 2
    page = dashboard_pages_more.PAGES["followups"](f)
    calls = next(c for c in page.cards if c.label == "拨打次数")
    assert int(calls.value) == after["attempts"] > 0
    chart = next(c for c in page.charts if c.id == "chart-followups")
    assert chart.y_range == (0, 100) and "%" in chart.y_title


def test_followup_figures_follow_the_survey_and_product_filters(app):
    """The 回访 page showed the whole bank's tasks under a questionnaire or product filter (the
    header naming it): the rollup had neither. A channel filter is said not to apply."""
    created = datetime.now(UTC) - timedelta(hours=1)
    day = created.astimezone(SH).date().isoformat()
    base = {"from": day, "to": day, "branch": "HZ"}
    product = db.session.scalars(select(Product).order_by(Product.id)).first()
    filters = {
        "all": {},
        "survey": {"survey": "branch-service"},
        "other": {"survey": "loan-followup"},
        "product": {"product": product.code},
    }

    def tasks() -> dict[str, int]:
        return {
            key: dfu.total(dashboard_filters.parse({**base, **extra}))["tasks"]
            for key, extra in filters.items()
        }

    before = tasks()
    task = db.session.get(FollowUp, _task(created))
    task.product_id = product.id
    db.session.flush()
    rollups.rebuild(["followup"])
    after = tasks()
    assert {k: after[k] - before[k] for k in after} == {
        "all": 1,
        "survey": 1,
        "other": 0,
        "product": 1,
    }
    by_channel = dashboard_pages_more.PAGES["followups"](
        dashboard_filters.parse({**base, "channel": "sms"})
    )
    assert any("所选渠道未用于本页" in note for note in by_channel.notes)


def test_reach_rate_counts_called_tasks_and_callback_rate_tasks_past_their_48_hours(app):
    """A task waiting for its first call is neither reached nor unreached, and a detractor task
    still inside its 48 hours has not missed them: neither pulls the rates down."""
    now = datetime.now(UTC)
    today = now.astimezone(SH).date()
    f = dashboard_filters.parse(
        {"from": (today - timedelta(days=20)).isoformat(), "to": today.isoformat(), "branch": "HZ"}
    )
    before = dfu.total(f)
    agent = factories.user(branch_code="HZ")
    _task(now - timedelta(days=10))  # never called, its 48 hours long over
    _task(now - timedelta(hours=3))  # not called yet, still inside its 48 hours
    reached = _task(now - timedelta(days=12))
    record_attempt(reached, "reached", agent=agent, now=now - timedelta(days=12, hours=-2))
    after = dfu.total(f)
    delta = {k: after[k] - before[k] for k in after}
    assert (delta["tasks"], delta["called"], delta["reached"]) == (3, 1, 1)
    assert (delta["detractor_tasks"], delta["detractor_due"], delta["detractor_due_in_48h"]) == (
        3,
        2,
        1,
    )
    assert dfu.reach_rate(delta) == 1.0 and dfu.callback_rate(delta) == 0.5
    # a period whose only task was never called: no reach rate (not 0 %); its 48 hours missed
    _task(_local(2024, 2, 5))
    quiet = dashboard_filters.parse({"from": "2024-02-05", "to": "2024-02-05", "branch": "HZ"})
    cards = {c.label: c for c in dashboard_pages_more.PAGES["followups"](quiet).cards}
    assert cards["接通率"].value == "—" and cards["低分客户 48 小时内回访"].value == "0.0%"
    row = dashboard_pages_more.PAGES["followups"](quiet).tables["followup_trend"].rows[0]
    assert row[1:3] == [1, 0] and row[5] is None


def test_callback_rate_counts_recent_tasks_once_their_48_hours_are_over(app):
    """Detractor tasks of the last three days were left out even when their 48 hours were
    over (the rollup's day rows cannot tell), so the current month read 5 of 5 where 6 of 7
    were called back in time."""
    now = datetime.now(UTC)
    today = now.astimezone(SH).date()
    f = dashboard_filters.parse(
        {"from": (today - timedelta(days=5)).isoformat(), "to": today.isoformat(), "branch": "HZ"}
    )
    earlier = dashboard_filters.parse(
        {
            "from": (today - timedelta(days=30)).isoformat(),
            "to": (today - timedelta(days=4)).isoformat(),
            "branch": "HZ",
        }
    )
    before, before_earlier = dfu.total(f), dfu.total(earlier)
    agent = factories.user(branch_code="HZ")
    late = _task(now - timedelta(hours=50))  # over, reached after 49 hours: late
    record_attempt(late, "reached", agent=agent, now=now - timedelta(hours=1))
    in_time = _task(now - timedelta(hours=49))  # over, reached within the first hour
    record_attempt(in_time, "reached", agent=agent, now=now - timedelta(hours=48, minutes=30))
    _task(now - timedelta(hours=49))  # over, never reached
    _task(now - timedelta(hours=20))  # still inside its 48 hours: not counted yet
    after = dfu.total(f)
    delta = {k: after[k] - before[k] for k in after}
    assert (delta["detractor_due"], delta["detractor_due_in_48h"]) == (3, 1)
    trend = {p: c for p, c in dfu.trend(f)}
    assert sum(c["detractor_due"] for c in trend.values()) == after["detractor_due"]
    # a range ending before those days does not count them
    assert dfu.total(earlier) == before_earlier
    reason = dict(dfu.by_reason(f))
    assert sum(c["detractor_due"] for c in reason.values()) == after["detractor_due"]


def test_settled_tasks_without_a_call_log_are_counted_from_the_task():
    created = datetime(2026, 3, 1, 2, tzinfo=UTC)
    done = SimpleNamespace(
        reason="detractor",
        status="done",
        attempts=1,
        closed_at=created + timedelta(hours=30),
        created_at=created,
    )
    counts = followup_counts(done, [])
    assert counts["attempts"] == 1 and counts["reached"] == 1 and counts["called"] == 1
    assert counts["detractor_within_48h"] == 1
    unreachable = SimpleNamespace(
        reason="detractor", status="unreachable", attempts=3, closed_at=created, created_at=created
    )
    counts = followup_counts(unreachable, [])
    assert counts["attempts"] == 3 and counts["reached"] == 0 and counts["closed"] == 1
    # a call log wins over the task's counter (which only counts failed calls)
    logged = followup_counts(done, [("no_answer", created), ("reached", created)])
    assert logged["attempts"] == 2 and logged["reached"] == 1
    # the customer answered and declined, or asked to be called later: 接通 all the same
    for answered in ("refused", "callback"):
        counts = followup_counts(
            done, [("busy", created), (answered, created + timedelta(hours=5))]
        )
        assert counts["reached"] == 1 and counts["detractor_within_48h"] == 1
    silent = followup_counts(done, [("busy", created), ("invalid_number", created)])
    assert silent["reached"] == 0 and silent["detractor_within_48h"] == 0
    waiting = SimpleNamespace(
        reason="detractor", status="open", attempts=0, closed_at=None, created_at=created
    )
    assert followup_counts(waiting, [])["called"] == 0


@transactional
def _settle_without_calls(task_id: int, closed_at: datetime) -> None:
    task = db.session.get(FollowUp, task_id)
    task.status, task.attempts, task.closed_at = "done", 1, closed_at


def test_rebuild_counts_tasks_settled_without_calls(app):
    created = _local(2024, 2, 5)
    task_id = _task(created)
    _settle_without_calls(task_id, created + timedelta(hours=20))
    rollups.rebuild(["followup"])
    f = dashboard_filters.parse({"from": "2024-02-05", "to": "2024-02-05", "branch": "HZ"})
    total = dfu.total(f)
    assert total["tasks"] == 1 and total["attempts"] == 1 and total["reached"] == 1
    assert total["detractor_within_48h"] == 1


def test_question_table_shows_chinese_question_text_and_scale_names(app):
    from tests.services.test_dashboard_figures import _save_responses

    plan = [("HZ01", _local(2024, 1, 10 + i), 4, 9) for i in range(3)]
    _save_responses(plan)
    f = dashboard_filters.parse({"from": "2024-01-01", "to": "2024-01-31"})
    table = dashboard_pages_more.products_channels(f).tables["questions"]
    assert table.rows
    for row in table.rows:
        _, question, scale, *_ = row
        # with its range: a CES mean (1–7) is not read on the 1–5 scale
        assert scale in ("满意度 1–5 分", "省力度 CES 1–7 分", "推荐度 NPS 0–10 分")
        assert isinstance(row[4], float), row  # the mean is a number in the export
        assert not re.fullmatch(r"[a-z_0-9]+(\.[a-z_0-9]+)?", question), row
        assert any("\u4e00" <= ch <= "\u9fff" for ch in question), row


def test_count_axes_use_round_ticks():
    assert dashboards_charts.nice_step(171) == 50
    assert dashboards_charts.nice_step(23) == 5
    assert dashboards_charts.nice_step(3) == 1
    axis = dashboards_charts.count_axis([29, 77, 124, 171])
    assert axis["tickmode"] == "linear" and axis["dtick"] == 50 and axis["range"][0] == 0
    assert axis["range"][1] % 50 == 0 and axis["automargin"]


def test_followup_chart_rates_on_a_percent_axis_and_counts_on_round_ticks():
    chart = dashboard_pages.Chart(
        "c",
        "t",
        "件；折线为 %",
        "t",
        x=["2026-01", "2026-02"],
        series=[
            dashboard_pages.Series("任务", [29, 171], "bar", "y2"),
            dashboard_pages.Series("接通率（%）", [50.0, 75.0]),
        ],
        y_title="比率（%）",
        y_range=(0, 100),
    )
    figure = dashboards_charts._xy(chart)
    layout = figure["layout"]
    # the rate line on the overlaying axis (drawn above the bars), on the left as its scale
    assert [t["yaxis"] for t in figure["data"]] == ["y", "y2"]
    assert layout["yaxis2"]["range"] == [0, 100] and layout["yaxis2"]["side"] == "left"
    assert layout["yaxis"]["tickmode"] == "linear" and layout["yaxis"]["dtick"] == 50
    assert layout["yaxis"]["side"] == "right"
    assert layout["xaxis"]["automargin"] is True
    # the counts span five of their steps as the rates do (0–250 by 50 beside 0–100 by 20):
    # every right-hand tick on a left-hand gridline, not 0–200 beside 0–100
    assert layout["yaxis"]["range"] == [0, 250]


def test_a_percentage_on_the_right_axis_ends_at_100_and_shares_the_grid():
    """处理人员: the right axis 时限内占比（%） ran 0–120 on ticks of its own."""
    chart = dashboard_pages.Chart(
        "c",
        "t",
        "件（柱）；%（点，右轴）",
        "t",
        x=["甲", "乙"],
        series=[
            dashboard_pages.Series("作出决定", [276, 71], "bar"),
            dashboard_pages.Series("时限内占比", [98.2, 95.8], "dot", axis="y2"),
        ],
        y_title="件",
        y2_title="时限内占比（%）",
        y2_range=(0, 105),
    )
    layout = dashboards_charts._xy(chart)["layout"]
    right, left = layout["yaxis2"], layout["yaxis"]
    assert right["range"] == [0, 105] and right["dtick"] == 20  # ticks 0 … 100
    assert left["dtick"] * 5.25 == left["range"][1] and left["range"][1] >= 276


def test_a_cut_last_period_is_drawn_dashed_to_a_hollow_point():
    """ "2026-12（至6日）" held six days of mentions, drawn on the line as a collapse."""
    note = "本期仅含 6 天（全期 31 天），次数不宜与整期比较"
    chart = dashboard_pages.Chart(
        "c",
        "前五话题趋势",
        "提及次数",
        "t",
        x=["2026-10", "2026-11", "2026-12（至6日）"],
        series=[dashboard_pages.Series("年费", [40, 44, 9])],
        partial_last=note,
    )
    data = dashboards_charts._xy(chart)["data"]
    whole, dashed, last, legend = data
    assert whole["y"] == [40, 44, None] and whole.get("showlegend") is not False
    assert dashed["y"] == [44, 9] and dashed["line"]["dash"] == "dash"
    assert dashed["hoverinfo"] == "skip" and dashed["showlegend"] is False
    assert last["y"] == [9] and note in last["hovertemplate"]  # the figure itself unchanged
    assert legend["name"] == dashboards_charts.PARTIAL_LEGEND and legend["x"] == [None]
    colors = {whole["line"]["color"], dashed["line"]["color"], last["marker"]["line"]["color"]}
    assert len(colors) == 1
    f = dashboard_filters.Filters(start=date(2026, 10, 1), end=date(2026, 12, 6))
    assert metrics.cut_last_period(f) == note
    whole_months = dashboard_filters.Filters(start=date(2026, 10, 1), end=date(2026, 11, 30))
    assert metrics.cut_last_period(whole_months) == ""


def _signal(name: str, usable: bool, change: str) -> rule.Signal:
    return rule.Signal(name, name, 33.0, 20.0, 33, 20, usable, change)


def test_improvement_figures_show_counts_as_integers_and_neutral_when_too_small():
    small = _signal("complaints", False, "better")
    assert figures.shown(small, 33.0) == "33"
    assert figures.shown(_signal("csat", True, "better"), 81.5) == "81.5"
    assert figures.shown(small, None) == "—"
    assert figures.after_color(small) == figures.NEUTRAL_COLOR
    assert figures.after_color(_signal("complaints", True, "better")) == "#15803d"
    assert figures.after_color(_signal("complaints", True, "worse")) == "#c2410c"
    assert figures.after_color(_signal("complaints", True, "same")) == figures.NEUTRAL_COLOR


def test_section_tables_show_their_heading_once_and_ranking_gets_full_width(client, auth):
    auth.login("hq")
    html = client.get("/manager/dashboards/followups?from=2026-01-01&to=2026-01-31").get_data(
        as_text=True
    )
    assert html.count("<h2>按回访原因</h2>") == 1
    assert '<caption class="visually-hidden">按回访原因</caption>' in html
    html = client.get("/manager/dashboards/branches?from=2026-01-01&to=2026-01-31").get_data(
        as_text=True
    )
    assert 'id="section-branch_ranking"' in html and 'href="#section-branch_ranking"' in html


def test_improvement_chart_without_signals_still_builds():
    empty = rule.Verification(rule.Verdict.INSUFFICIENT, "尚无已完成的整改措施")
    chart = figures.chart(None, None, empty)
    assert chart["data"] == [] and "yaxis" in chart["layout"]
    full = rule.Verification(
        rule.Verdict.INSUFFICIENT, "样本不足", (_signal("complaints", False, "better"),)
    )
    chart = figures.chart(None, None, full)
    assert chart["data"][1]["marker"]["color"] == figures.NEUTRAL_COLOR
    assert chart["data"][1]["text"] == ["20"]  # a count is its own sample: no "20 n=20"
    assert chart["data"][1]["textposition"] == "outside" and chart["data"][1]["textangle"] == 0
    nps = rule.Signal("nps", "净推荐值（NPS）", 14.3, 0.0, 14, 20, False, "worse")
    verdict = rule.Verification(rule.Verdict.INSUFFICIENT, "样本不足", (nps,))
    rate = figures.chart(None, None, verdict)
    before, after = rate["data"]
    assert before["text"] == ["14.3<br><span style='font-size:10px'>n=14</span>"]
    assert "line" not in before["marker"] and after["marker"]["line"]["width"] > 0  # 0, not no data
    assert chart["layout"]["yaxis"]["tickformat"] == ",d"


def test_improvement_count_axes_tick_whole_numbers():
    """A top of 2 with automatic ticks read 0, 1, 1, 2, 2 once formatted as integers."""
    few = rule.Signal("complaints", "同类投诉量", 2.0, 1.0, 2, 1, False, "better")
    axis = figures.chart(
        None, None, rule.Verification(rule.Verdict.INSUFFICIENT, "样本不足", (few,))
    )["layout"]["yaxis"]
    assert axis["tickmode"] == "linear" and axis["tick0"] == 0 and axis["dtick"] == 1
    many = rule.Signal("complaints", "同类投诉量", 33.0, 20.0, 33, 20, True, "better")
    axis = figures.chart(None, None, rule.Verification(rule.Verdict.PASSED, "改善", (many,)))[
        "layout"
    ]["yaxis"]
    assert axis["dtick"] == 7 and axis["tickformat"] == ",d"


def test_improvement_chart_titles_sit_over_their_own_bars_with_the_unit_below():
    """On a 390 px phone the three titles (满意度（CSAT，%） 样本不足 ...) ran into one another:
    each is centred on its own plot area, the unit on a second line."""
    signals = (
        rule.Signal("complaints", "同类投诉量", 5.0, 1.0, 5, 1, False, "better"),
        rule.Signal("csat", "满意度（CSAT，%）", 76.5, 66.7, 34, 9, False, "same"),
        rule.Signal("nps", "净推荐值（NPS）", 29.4, -11.1, 34, 9, False, "same"),
    )
    layout = figures.chart(
        None, None, rule.Verification(rule.Verdict.INSUFFICIENT, "样本不足", signals)
    )["layout"]
    notes = layout["annotations"]
    assert [a["xref"] for a in notes] == ["x domain", "x2 domain", "x3 domain"]
    assert all(a["x"] == 0.5 for a in notes)
    assert notes[1]["text"].startswith("<b>满意度<br>（CSAT，%）</b>")
    assert "样本不足" in notes[2]["text"] and notes[0]["text"].startswith("<b>同类投诉量</b>")


def test_names_typed_by_staff_are_drawn_as_typed_not_as_plotly_markup():
    """Plotly reads chart text as markup: a topic named <b>粗</b> was drawn bold, <br> broke the
    axis, <a> drew a link. Titles, categories, rows and series names go as entities (Plotly
    draws them as the characters); the figure's own markup (hover line breaks) stays."""
    import json

    from app.services.dashboard_pages import Chart, Series

    chart = Chart(
        id="t",
        title="问题 <i>斜</i>",
        unit="件",
        table="t",
        kind="hbar",
        y=["<b>粗</b>", "R&D 部"],
        series=[Series(name='<a href="x">链</a>', values=[3, 4], kind="bar")],
        counts=True,
    )
    figure = json.loads(dashboards_charts.figure_json(chart))
    text = json.dumps(figure, ensure_ascii=False)
    assert "<b>粗" not in text and "<i>" not in text and "<a " not in text
    assert figure["data"][0]["y"] == ["&lt;b&gt;粗&lt;/b&gt;", "R&amp;D 部"]
    assert figure["layout"]["title"]["text"] == "问题 &lt;i&gt;斜&lt;/i&gt;"
    assert "<br>" in figure["data"][0]["hovertemplate"]  # (its own markup is kept)
    assert chart.y[0] == "<b>粗</b>"  # (the page's tables still get the name as typed)
