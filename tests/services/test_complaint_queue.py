"""The queue tabs: one counting query gives the same numbers as listing each queue."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, text

from app.extensions import db
from app.models import Complaint, Role, utcnow
from app.services import complaint_casework, complaint_clock, complaints, scope
from app.services import complaint_queue as queue
from tests import factories

pytestmark = pytest.mark.usefixtures("app")


def _complaint(branch: str, days_ago: int, text: str):
    complaint, _ = complaints.create_complaint(
        complaints.IntakeData(
            channel="hotline",
            name="许先生",
            phone="13700001234",
            branch_code=branch,
            content=text,
            received_at=utcnow() - timedelta(days=days_ago),
        )
    )
    return complaint


def test_tab_counts_equal_the_queues_they_open(db_session):
    agent = factories.user(Role.AGENT, "HZ")
    manager = factories.user(Role.BRANCH_MANAGER, "HZ")
    overdue = _complaint("HZ01", 20, "理财产品赎回到账延迟二十天，客服一直说在处理。")
    _complaint("HZ01", 12, "信用卡分期手续费与宣传不符，要求说明并退还。")
    mine = _complaint("HZ01", 0, "手机银行转账失败但扣款成功，要求尽快退回。")
    _complaint("NJ01", 0, "网点排队两个小时，只开了一个窗口。")
    before = queue.counts(agent)
    complaint_casework.assign(mine.id, agent.id, actor=manager)

    for user in (agent, manager):
        counts = queue.counts(user)
        listed = {
            name: queue.search(queue.Filters(queue=name), user).total for name in queue.QUEUES
        }
        assert counts == listed
    counts = queue.counts(agent)
    assert counts["mine"] == 1 and before["mine"] == 0
    assert counts["unassigned"] == before["unassigned"] - 1
    assert counts["open"] == before["open"] and counts["all"] >= counts["open"]
    found = queue.search(queue.Filters(queue="overdue", q=overdue.reference), agent)
    assert [c.id for c in found.items] == [overdue.id]
    # the page passes the tab's count; a narrowed list still counts its own rows
    known = queue.search(queue.Filters(queue="open"), agent, known_total=counts["open"])
    assert known.total == counts["open"] and len(known.items) == min(30, counts["open"])
    narrowed = queue.search(
        queue.Filters(queue="open", q=overdue.reference), agent, known_total=counts["open"]
    )
    assert narrowed.total == 1
    hangzhou, everywhere = queue.counts(manager)["branch"], counts["open"]
    assert 3 <= hangzhou < everywhere  # the Nanjing case is not in Hangzhou's subtree


def test_tab_counts_are_kept_for_seconds_unless_this_process_changes_a_case():
    agent = factories.user(Role.AGENT, "HZ")
    first = _complaint("HZ01", 1, "存款利息计算有误，要求核对。")
    before = queue.counts(agent)
    # a case added by another worker (no flush in this process): the tabs catch up within
    # COUNTS_TTL_SECONDS; the list itself is read live
    row = {
        c.name: getattr(first, c.name)
        for c in Complaint.__table__.columns
        if c.name not in ("id", "reference", "external_ref")
    }
    db.session.execute(insert(Complaint.__table__), {**row, "reference": "TS-OTHER-WORKER"})
    assert queue.counts(agent) == before
    assert queue.search(queue.Filters(queue="open"), agent).total == before["open"] + 1
    queue.forget_counts()  # what COUNTS_TTL_SECONDS later amounts to
    assert queue.counts(agent)["open"] == before["open"] + 1
    # a change through this process shows at once
    cached = queue.counts(agent)
    _complaint("HZ01", 0, "自助机吞卡，等了半天没人处理。")
    assert queue.counts(agent)["open"] == cached["open"] + 1


def test_queue_rows_show_the_deadline_and_masked_text():
    now = utcnow()
    overdue = _complaint("HZ01", 20, "理财产品赎回到账延迟二十天，联系电话13700005678。")
    fresh = _complaint("HZ01", 0, "网点排队两个小时，只开了一个窗口。")
    closed = _complaint("HZ01", 1, "手机银行转账失败但扣款成功。")
    decided = _complaint("HZ01", 2, "信用卡年费未按约定减免。")
    db.session.execute(
        Complaint.__table__.update().where(Complaint.id == closed.id).values(status="closed")
    )
    db.session.execute(
        Complaint.__table__.update()
        .where(Complaint.id == decided.id)
        .values(status="decided", decided_at=now, decision_notified_at=now)
    )
    db.session.expire_all()
    cases = [db.session.get(Complaint, c.id) for c in (overdue, fresh, closed, decided)]
    rows = {r.id: r for r in queue.queue_rows(cases, now)}
    late = rows[overdue.id]
    left = -complaint_clock.days_left(cases[0].due_at, now)
    assert late.band == "overdue" and late.deadline == f"超期 {left} 天" and left > 0
    assert "13700005678" not in late.summary and "137****5678" in late.summary
    assert late.deadline_class == "cp-days cp-days-overdue" and late.branch != "—"
    new = rows[fresh.id]
    assert (
        new.band == "ok"
        and new.deadline == f"剩 {complaint_clock.days_left(cases[1].due_at, now)} 天"
    )
    assert new.assignee == "待分派" and new.summary == "网点排队两个小时，只开了一个窗口。"
    assert rows[closed.id].band == "none" and rows[closed.id].deadline == "—"
    # decided and told: no clock left, only closing ("—" there read as if the date were lost)
    assert rows[decided.id].band == "none" and rows[decided.id].deadline == "已告知，待办结"
    # a decided case nobody was assigned to is not waiting for a handler: "—", not 待分派
    assert rows[closed.id].assignee == "—" and rows[decided.id].assignee == "—"


def test_queue_summary_is_cut_after_masking():
    text = "回电" + "１" * 45 + "，手机13912345678" + "很长的说明" * 30
    cut = queue.summary(text)
    assert cut.endswith("…") and len(cut) == queue.SUMMARY_CHARS + 1
    assert "1391234" not in cut
    assert queue.summary("短") == "短"


def test_among_cases_due_the_same_day_the_urgent_come_first(db_session, monkeypatch):
    """Every deadline ends at 23:59:59, so a day's intake shares one due time: a threat to go
    to the regulator sat on page 2 of 待分派 below ordinary cases due the same day."""
    agent = factories.user(Role.AGENT, "HZ")
    manager = factories.user(Role.BRANCH_MANAGER, "HZ")
    texts = (
        ("网点的宣传册印刷有错别字，建议更正。", "low"),
        ("再不解决我就打12378投诉到金融监管总局，并找律师起诉你们。", "critical"),
        ("信用卡年费被重复收取，要求退还。", None),
        ("我父亲七十多岁，在网点被误导买了理财，亏了五万元。", None),
    )
    made = [_complaint("HZ01", 1, t) for t, _ in texts]
    for case, (_, expected) in zip(made, texts, strict=True):
        if expected:
            assert case.priority == expected
    assert len({c.due_at for c in made}) == 1  # (one day's intake)
    ours = {m.id for m in made}
    monkeypatch.setattr(queue, "PAGE_SIZE", 1000)  # (one page holds them all)
    unassigned = queue.search(queue.Filters(queue="unassigned"), agent).items
    listed = [c.id for c in unassigned if c.id in ours]
    rank = {"critical": 0, "high": 1}
    expected = sorted(made, key=lambda c: (rank.get(c.priority, 2), -c.id))
    assert listed == [c.id for c in expected]
    assert made[1].id in listed[:2]  # (the threat ahead of the ordinary cases of its day)
    # a case marked major by hand is escalated like one taken in as major: first, and urgent
    complaint_casework.classify(
        made[0].id,
        actor=manager,
        code_channel=None,
        code_business=None,
        code_cause=None,
        major_reason="regulator",
    )
    assert made[0].priority == "high" and made[0].urgent_label == "紧急"
    assert queue.search(queue.Filters(queue="major"), agent).items[0].id == made[0].id
    assert made[1].urgent_label == "特急"


@pytest.mark.parametrize("queue_name", ["open", "unassigned", "overdue", "due_soon", "major"])
def test_a_queue_page_reads_its_rows_off_the_queue_order_index(db_session, queue_name):
    """The list of an in-work queue is one range of ``ix_complaint_queue_order`` (the queues'
    order, cases in work only) instead of a sort of every open case, which grew with the
    backlog. The database must be able to prove the index's predicate from the query: the
    query is asked to run through the index only (PostgreSQL: with sorting and full scans
    priced out; SQLite: INDEXED BY, which fails outright when the index does not apply)."""
    from app.models import User
    from app.models.complaint import IN_WORK_SQL

    assert queue.in_work_condition() is not None and "'review_requested'" in IN_WORK_SQL
    user = db_session.get(User, factories.user("agent", Role.AGENT).id)
    stmt = queue._queue(select(Complaint.id), queue_name, user)
    stmt = stmt.order_by(*queue.queue_order(queue_name)).limit(queue.PAGE_SIZE)
    conn = db_session.connection()
    # as the app runs it: its bound parameters stay parameters (only literal ones are inlined)
    compiled = stmt.compile(conn, compile_kwargs={"render_postcompile": True})
    sql, params = str(compiled), compiled.params
    if compiled.positiontup is not None:
        params = tuple(params[key] for key in compiled.positiontup)
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL enable_sort = off"))
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        conn.execute(text("SET LOCAL enable_bitmapscan = off"))
        numbered, ordered = _numbered(sql, params)
        conn.exec_driver_sql("PREPARE queue_page AS " + numbered)
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")  # a reused plan
        values = ", ".join(_literal(v) for v in ordered)
        explain = (
            f"EXPLAIN EXECUTE queue_page({values})" if values else "EXPLAIN EXECUTE queue_page"
        )
        plan = "\n".join(row[0] for row in conn.exec_driver_sql(explain))
        conn.exec_driver_sql("DEALLOCATE queue_page")
        assert "ix_complaint_queue_order" in plan and "Sort" not in plan.split("->")[0], plan
    else:
        forced = sql.replace(
            "FROM complaint", "FROM complaint INDEXED BY ix_complaint_queue_order", 1
        )
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + forced, params)
        plan = " ".join(row[3] for row in rows)
        assert "ix_complaint_queue_order" in plan and "ORDER BY" not in plan, plan


def _numbered(sql: str, params: dict) -> tuple[str, list]:
    """psycopg's %(name)s placeholders as PREPARE's $1, $2 …, and their values in that order."""
    names = re.findall(r"%\((\w+)\)s", sql)
    counter = itertools.count(1)
    return re.sub(r"%\((\w+)\)s", lambda _: f"${next(counter)}", sql), [params[n] for n in names]


def _literal(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "isoformat"):
        return f"'{value.isoformat()}'"
    return str(value)


def test_each_user_lists_their_own_cases_from_the_statements_kept_per_process(db_session):
    """The statements of un-narrowed lists are built once per process and used again: one kept
    for one agent's 我的 or one unit's 本机构 must never list another's cases, the branch scope
    still applies on every use, and the rows read as columns display as the cases do."""
    hangzhou, nanjing = factories.user(Role.AGENT, "HZ"), factories.user(Role.AGENT, "NJ")
    hz_manager = factories.user(Role.BRANCH_MANAGER, "HZ")
    nj_manager = factories.user(Role.BRANCH_MANAGER, "NJ")
    hz_case = _complaint("HZ01", 2, "信用卡年费未按约定减免，要求退还。")
    nj_case = _complaint("NJ01", 1, "网点排队两个小时，只开了一个窗口。")
    complaint_casework.assign(hz_case.id, hangzhou.id, actor=hz_manager)
    complaint_casework.assign(nj_case.id, nanjing.id, actor=nj_manager)

    def listed(queue_name: str, user) -> set[int]:
        scope.bind(db_session, scope.scope_for(user))  # as a web request does
        try:
            return {c.id for c in queue.search(queue.Filters(queue=queue_name), user).items}
        finally:
            scope.bind(db_session, scope.WHOLE_BANK)

    for _ in range(2):  # the second round uses the kept statements
        assert listed("mine", hangzhou) == {hz_case.id}
        assert listed("mine", nanjing) == {nj_case.id}
        assert nj_case.id not in listed("branch", hz_manager) and hz_case.id in listed(
            "branch", hz_manager
        )
        assert hz_case.id not in listed("branch", nj_manager) and nj_case.id in listed(
            "branch", nj_manager
        )
        assert nj_case.id not in listed("open", hz_manager)  # (the scope, added per use)
        assert hz_case.id not in listed("open", nj_manager)

    now = utcnow()
    page = queue.search(queue.Filters(queue="all"), hz_manager).items
    as_cases = [db_session.get(Complaint, c.id) for c in page]
    assert page and queue.queue_rows(page, now) == queue.queue_rows(as_cases, now)


def test_a_case_is_found_by_the_regulator_s_or_the_source_system_s_number(db_session):
    """Staff asked about "HL-777" by the hotline (or ZJYBJ-… by the regulator) found nothing."""
    agent = factories.user(Role.AGENT, "HZ")
    common = {"name": "许先生", "phone": "13700001234", "branch_code": "HZ01"}
    hotline, _ = complaints.create_complaint(
        complaints.IntakeData(
            channel="hotline", content="转账失败要求退款。", external_ref="HL-777", **common
        )
    )
    forwarded, _ = complaints.create_complaint(
        complaints.IntakeData(
            channel="regulator",
            content="监管转办：理财产品误导销售。",
            regulator_ref="ZJYBJ-2026-0001",
            **common,
        )
    )
    for q, case in (("HL-777", hotline), ("ZJYBJ-2026-0001", forwarded)):
        found = queue.search(queue.Filters(queue="all", q=q), agent).items
        assert [c.id for c in found] == [case.id], q
