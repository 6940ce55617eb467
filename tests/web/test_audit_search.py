"""Searching the audit log for everything that happened to one record: by a complaint's
reference, a customer number, a staff account, an object kind and id, or a word in an entry's
reason or details (JSON, stored with Chinese as \\u escapes); the export follows the search; a
complaint's page links to its entries for whoever may read the log."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select, text

from app.models import AuditLog
from app.services import audit, audit_trail, complaints
from app.services.complaints import IntakeData
from tests import factories
from tests.web.test_audit_log import _cells, _entry, _reasons, _rows


def _complaint(content: str = "信用卡年费多收了三百元。"):
    complaint, _ = complaints.create_complaint(
        IntakeData(channel="hotline", content=content, name="周静", phone="13612345678",
                   branch_code="HZ01")
    )  # fmt: skip
    return complaint


def _found(client, query: str) -> list[str]:
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return _reasons(response.get_data(as_text=True))


def test_a_complaint_reference_finds_every_entry_about_that_complaint(client, auth, db_session):
    agent = factories.user(username="searcher1", display_name="查询坐席")
    case, other = _complaint(), _complaint("另一件投诉")
    complaints.reveal_contact(case.id, actor=agent, reason="回电核实情况")
    complaints.reveal_contact(other.id, actor=agent, reason="另一件的查看")
    # an entry whose details do not repeat the reference is found through its object
    _entry("complaint.view_unmasked", agent, object_type="complaint", object_id=case.id,
           reason="详情无编号")  # fmt: skip
    # an entry about something else that names the reference in its details
    _entry("dashboard.export", agent, object_type="dashboard_table", object_id="drill",
           reason="导出含该投诉", detail={"filters": {"q": case.reference}})  # fmt: skip
    db_session.commit()
    auth.login("admin")
    expected = ["导出含该投诉", "详情无编号", "回电核实情况"]
    assert _found(client, f"q={case.reference}") == expected
    assert _found(client, f"q=+{case.reference.lower()}+") == expected  # as typed, any case
    page = client.get(f"/admin/audit?q={case.reference}").get_data(as_text=True)
    assert f'name="q" value="{case.reference}"' in page and "共 3 条" in page


def test_customer_numbers_and_staff_accounts_are_records_too(client, auth, db_session):
    agent = factories.user(username="searcher2", display_name="查客户")
    customer = factories.customer("HZ01", name="张三丰", external_id="C55500001")
    lisi = factories.user(username="lisi55", display_name="李四")
    _entry("customer.view_unmasked", agent, object_type="customer", object_id=customer.id,
           reason="核对客户")  # fmt: skip
    _entry("customer.view_unmasked", agent, object_type="customer", reason="别的客户")
    _entry("user.disable", agent, object_type="staff_user", object_id=lisi.id, reason="停用李四")
    _entry(
        "login.failure",
        None,
        object_type="staff_user",
        reason="李四登录失败",
        detail={"username": "lisi55"},
    )  # fmt: skip  (a failed sign-in names no account id)
    db_session.commit()
    auth.login("admin")
    assert _found(client, "q=C55500001") == ["核对客户"]
    assert _found(client, "q=LiSi55") == ["李四登录失败", "停用李四"]


def test_a_word_in_the_details_or_the_reason(client, auth, db_session):
    """Details are JSON with Chinese stored as \\u escapes on both databases: a Chinese word
    is found all the same; LIKE's wildcards in the search are taken literally."""
    agent = factories.user(username="searcher3")
    _entry("customers.import", agent, object_type="customer", reason="",
           detail={"file": "杭州分行客户名单.xlsx", "created": 3})  # fmt: skip
    _entry("token.create", agent, object_type="api_token", reason="",
           detail={"name": "CoreBanking", "scopes": ["complaints:write"]})  # fmt: skip
    _entry("customer.view_unmasked", agent, object_type="customer", reason="客户来电要求核对地址")
    _entry("customer.view_unmasked", agent, object_type="customer", reason="折扣100%_返还")
    db_session.commit()
    stored = db_session.scalar(
        select(text("CAST(detail AS TEXT)"))
        .select_from(AuditLog)
        .where(AuditLog.action == "customers.import")
    )
    assert "\\u676d" in stored  # (杭: what makes the escaped look-up necessary)
    auth.login("admin")

    def actions(query: str) -> list[str]:
        html = client.get(f"/admin/audit?{query}").get_data(as_text=True)
        return [_cells(r)[2] for r in _rows(html) if len(_cells(r)) == 6]

    assert actions("q=客户名单") == ["导入客户名单"]
    assert actions("q=corebanking") == ["创建接口令牌"]
    assert _found(client, "q=核对地址") == ["客户来电要求核对地址"]
    assert _found(client, "q=100%25_") == ["折扣100%_返还"]
    assert _found(client, "q=%25") == ["折扣100%_返还"]  # not every entry
    assert _found(client, "q=无此内容") == []


def test_an_object_kind_and_id(client, auth, db_session):
    agent = factories.user(username="searcher4")
    case, other = _complaint(), _complaint("另一件投诉")
    _entry("complaint.view_unmasked", agent, object_type="complaint", object_id=case.id,
           reason="本案")  # fmt: skip
    _entry("complaint.view_unmasked", agent, object_type="complaint", object_id=other.id,
           reason="他案")  # fmt: skip
    _entry("customer.view_unmasked", agent, object_type="customer", object_id=case.id,
           reason="同号客户")  # fmt: skip
    db_session.commit()
    auth.login("admin")
    html = client.get(f"/admin/audit?object=complaint&object_id={case.id}").get_data(as_text=True)
    assert _reasons(html) == ["本案"]
    assert f"正在查看 <strong>投诉 {case.reference}</strong>（ID {case.id}）" in html
    assert '<option value="complaint" selected>投诉</option>' in html
    assert _found(client, "object=customer") == ["同号客户"]
    # each entry's object leads to all of that object's entries
    every = client.get("/admin/audit").get_data(as_text=True)
    pivot = f'href="/admin/audit?object=complaint&amp;object_id={other.id}"'
    assert pivot in every
    # an id without a kind is not guessed at
    response = client.get(f"/admin/audit?object_id={case.id}")
    body = response.get_data(as_text=True)
    assert response.status_code == 400 and "按对象ID筛选时请同时选择对象类型" in body
    assert re.search(rf'name="object_id"[^>]* value="{case.id}"[^>]*aria-invalid="true"', body)


def test_pages_and_the_export_follow_the_search(client, auth, db_session):
    agent = factories.user(username="searcher5", display_name="导出人")
    case = _complaint()
    for n in range(55):
        _entry("complaint.view_unmasked", agent, object_type="complaint", object_id=case.id,
               reason=f"第{n:02d}次")  # fmt: skip
    _entry("complaint.view_unmasked", agent, object_type="complaint", reason="=1+2 其他")
    _entry("complaint.view_unmasked", agent, object_type="complaint", object_id=case.id,
           reason='=HYPERLINK("http://x","本案")')  # fmt: skip
    db_session.commit()
    auth.login("admin")
    query = f"q={case.reference}"
    first = client.get(f"/admin/audit?{query}").get_data(as_text=True)
    assert "第 1 / 2 页，共 56 条" in first
    following = re.search(r'<a href="([^"]+)">下一页</a>', first)
    assert following and f"q={case.reference}" in following.group(1)
    link = re.search(r'href="(/admin/audit/export\.csv\?[^"]+)"', first)
    assert link and f"q={case.reference}" in link.group(1)
    response = client.get(link.group(1).replace("&amp;", "&"))
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 57 and all(r[3] == f"投诉 {case.reference}" for r in rows[1:])
    assert rows[1][5] == '\'=HYPERLINK("http://x","本案")'  # neutralised, newest first
    assert not any("其他" in r[5] for r in rows)
    logged = db_session.scalar(select(AuditLog).where(AuditLog.action == "audit.export"))
    assert logged.detail["filters"] == {"q": case.reference} and logged.detail["rows"] == 56


def test_the_object_filter_reads_the_object_index(db_session):
    """The entries of one record come from ix_audit_log_object, not a scan of the whole log."""
    f = audit_trail.parse_filter({"object": "complaint", "object_id": "7"})
    stmt = audit_trail._filtered(f).order_by(AuditLog.id.desc()).limit(50)
    bind = db_session.get_bind()
    sql = str(stmt.compile(bind, compile_kwargs={"literal_binds": True}))
    if bind.dialect.name == "sqlite":
        plan = " ".join(str(r[-1]) for r in db_session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
    else:
        db_session.execute(text("SET LOCAL enable_seqscan = off"))  # (a tiny test table)
        plan = " ".join(r[0] for r in db_session.execute(text(f"EXPLAIN {sql}")))
    assert "ix_audit_log_object" in plan, plan


def test_head_office_opens_a_complaints_audit_entries_from_its_page(client, auth, db_session):
    """Head office (consumer protection) reads the audit log: the case page links to the case's
    entries. A branch's staff do not read the log and get no link; head office sees no links to
    the administrator's pages it cannot open."""
    case = _complaint()
    db_session.commit()
    href = f"/admin/audit?object=complaint&amp;object_id={case.id}"
    auth.login("manager")
    page = client.get(f"/staff/complaints/{case.id}").get_data(as_text=True)
    assert "审计记录" not in page
    assert client.get(f"/admin/audit?object=complaint&object_id={case.id}").status_code == 403
    auth.logout()
    auth.login("hq")
    page = client.get(f"/staff/complaints/{case.id}").get_data(as_text=True)
    assert f'<a href="{href}">审计记录</a>' in page
    log = client.get(f"/admin/audit?object=complaint&object_id={case.id}")
    assert log.status_code == 200 and case.reference in log.get_data(as_text=True)
    # the filter's kind stays chosen, whether or not the log holds entries of that kind yet
    assert '<option value="complaint" selected>' in log.get_data(as_text=True)
    everything = client.get("/admin/audit").get_data(as_text=True)
    assert "/admin/users#" not in everything and "/admin/tokens#" not in everything
    # an entry about the case opens the case itself for head office (not for the administrator,
    # who cannot open a case: the reference stays text there)
    complaints.reveal_contact(case.id, actor=factories.user(), reason="回电核实情况")
    db_session.commit()
    case_link = (
        f'<a href="/staff/complaints/{case.id}" title="投诉 ID {case.id}">投诉 {case.reference}</a>'
    )
    assert case_link in client.get("/admin/audit").get_data(as_text=True)
    auth.logout()
    auth.login("admin")
    as_admin = client.get("/admin/audit").get_data(as_text=True)
    assert case.reference in as_admin and f"/staff/complaints/{case.id}" not in as_admin
    assert "/admin/users#user-" in as_admin  # (its own pages: the sign-ins' accounts)


def test_the_drop_downs_list_what_the_log_holds_without_reading_every_row(client, db_session):
    """The operation and staff drop-downs come from a loose index scan (one probe per value,
    not a DISTINCT over millions of rows on every view): the same values as a plain DISTINCT."""
    agent = factories.user(username="dropdown1", display_name="下拉坐席")
    complaints.reveal_contact(_complaint().id, actor=agent, reason="回电核实情况")
    audit.record("dashboard.export", actor=None, object_type="dashboard_table", object_id="x")
    actions = set(db_session.scalars(select(AuditLog.action).distinct()))
    actors = set(
        db_session.scalars(
            select(AuditLog.actor_id).where(AuditLog.actor_id.is_not(None)).distinct()
        )
    )
    assert len(actions) >= 2 and agent.id in actors
    assert {code for code, _ in audit_trail.action_choices()} == actions
    assert {uid for uid, _ in audit_trail.actor_choices()} == actors
