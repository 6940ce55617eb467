"""The administrator's audit log: objects by the names staff know them by, filters by operation,
staff member and Beijing dates, pages that keep the filters, an export with the same filters.

The compliance officer's question: who looked at this customer's full data, when, why, from
where."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from openpyxl import load_workbook
from sqlalchemy import event, select

from app.extensions import db
from app.models import AuditLog, Survey, User
from app.models.base import MAX_ROW_ID, utcnow
from app.services import complaints, improvements, tokens
from app.services.complaints import IntakeData
from tests import factories


def _entry(action: str, actor: User | None = None, *, at: datetime | None = None, **fields):
    object_id = fields.pop("object_id", None)
    row = AuditLog(
        at=at or utcnow(),
        actor_id=actor.id if actor else None,
        actor_name=actor.username if actor else "system",
        action=action,
        object_id=None if object_id is None else str(object_id),
        ip=fields.pop("ip", "10.8.0.15"),
        detail=fields.pop("detail", {}),
        **fields,
    )
    db.session.add(row)
    return row


def _rows(html: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    assert body, "no table"
    return re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)


def _cells(row: str) -> list[str]:
    """The cells' text, without the object cell's link to all of its object's entries."""
    row = re.sub(r'<a class="small audit-pivot".*?</a>', "", row, flags=re.S)
    return [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


def _reasons(html: str) -> list[str]:
    return [_cells(r)[4] for r in _rows(html) if len(_cells(r)) == 6]


def _officer(name: str = "合规官", username: str = "compliance1") -> User:
    return factories.user(username=username, display_name=name)


def test_objects_are_named_as_staff_know_them_not_by_id(client, auth, db_session):
    agent = _officer("孙坐席", "sunagent")
    colleague = _officer("李四", "lisi")
    customer = factories.customer("HZ01", name="张三丰", external_id="C20260417")
    complaint, _ = complaints.create_complaint(
        IntakeData(channel="hotline", content="信用卡年费多收了三百元。", name="周静",
                   phone="13612345678", branch_code="HZ01")
    )  # fmt: skip
    hq = db_session.scalar(select(User).where(User.username == "hq"))
    problem = improvements.create_problem(
        improvements.ProblemData(title="排队时间过长", root_cause="process", branch_code="HZ"),
        actor=hq,
    )
    token = tokens.create_token("核心系统对接", None).token
    survey = db_session.scalars(select(Survey).order_by(Survey.id)).first()
    gone = MAX_ROW_ID - 7
    for object_type, object_id, reason in (
        ("customer", customer.id, "核对客户联系方式"),
        ("complaint", complaint.id, "回复投诉核实地址"),
        ("staff_user", colleague.id, "账号变更"),
        ("problem", problem.id, "人工认定"),
        ("api_token", token.id, "令牌维护"),
        ("survey", survey.id, "问卷核查"),
        ("customer", gone, "已删客户"),
    ):
        _entry(f"{object_type}.view_unmasked", agent, object_type=object_type,
               object_id=object_id, reason=reason)  # fmt: skip
    db_session.commit()
    auth.login("admin")
    html = client.get("/admin/audit").get_data(as_text=True)
    by_reason = {_cells(r)[4]: (r, _cells(r)) for r in _rows(html)}

    row, cells = by_reason["核对客户联系方式"]
    assert cells[1] == "孙坐席 · sunagent"  # the actor by name too
    assert cells[3] == "客户 C20260417（张*丰）" and "张三丰" not in html
    assert f'title="客户 ID {customer.id}"' in row  # the id stays at hand
    assert by_reason["回复投诉核实地址"][1][3] == f"投诉 {complaint.reference}"
    assert complaint.reference.startswith("TS")
    row, cells = by_reason["账号变更"]
    assert cells[3] == "员工账号 李四 · lisi"
    assert f'href="/admin/users#user-{colleague.id}"' in row  # a page the admin may open
    assert by_reason["人工认定"][1][3] == "整改问题 排队时间过长"
    row, cells = by_reason["令牌维护"]
    assert cells[3] == "接口令牌 核心系统对接" and f'href="/admin/tokens#token-{token.id}"' in row
    assert by_reason["问卷核查"][1][3] == f"问卷 {survey.title}"
    assert by_reason["已删客户"][1][3] == f"客户 #{gone}（已删除）"
    shown = [c[3] for _, c in by_reason.values()]
    assert not any(re.search(r"#\d+$", s) for s in shown), shown  # no bare "#id" left
    # the rows they link to carry the anchors
    users_page = client.get("/admin/users").get_data(as_text=True)
    assert f'id="user-{colleague.id}"' in users_page
    assert f'id="token-{token.id}"' in client.get("/admin/tokens").get_data(as_text=True)


def test_anonymised_customers_and_failed_sign_ins_read_sensibly(client, auth, db_session):
    agent = _officer()
    customer = factories.customer("HZ01", name="张三丰", external_id="C20260418")
    _entry("customer.view_unmasked", agent, object_type="customer", object_id=customer.id,
           reason="匿名化前查看")  # fmt: skip
    customer.name, customer.external_id, customer.anonymised = "匿名", f"anon-{customer.id}", True
    db_session.commit()
    auth.login("no-such-person", "Wrong#Password1")
    auth.login("admin")
    html = client.get("/admin/audit").get_data(as_text=True)
    cells = {_cells(r)[4] or _cells(r)[2]: _cells(r) for r in _rows(html)}
    assert cells["匿名化前查看"][3] == f"客户 #{customer.id}（已匿名化）"
    assert "C20260418" not in html and "张*丰" not in html  # retention is respected
    failed = cells["登录失败"]
    assert failed[1] == "未登录" and failed[3] == "员工账号 no-such-person"


def test_a_page_names_its_objects_in_a_fixed_number_of_queries(client, auth, db_session):
    """No query per row: one page of 2 entries and one of 24 cost the same SELECTs."""
    agent = _officer()
    people = [factories.customer("HZ01", name=f"客户{i}") for i in range(12)]
    auth.login("admin")
    engine = db_session.get_bind().engine
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    counts = []
    for batch in (people[:1], people[1:]):
        for c in batch:
            _entry("customer.view_unmasked", agent, object_type="customer", object_id=c.id,
                   reason="核对信息")  # fmt: skip
            other = factories.user(display_name=f"同事{c.id}")
            _entry("user.enable", other, object_type="staff_user", object_id=other.id)
        db_session.commit()
        statements.clear()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            html = client.get("/admin/audit").get_data(as_text=True)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert f"客户 {batch[-1].external_id}" in html and f"员工账号 同事{batch[-1].id} · " in html
        counts.append(sum(s.lstrip().upper().startswith("SELECT") for s in statements))
    assert counts[0] == counts[1], counts


def _options(html: str, name: str) -> dict[str, str]:
    select_ = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select_, f"no drop-down {name}"
    return dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select_.group(1)))


def test_filter_by_the_staff_member_who_acted(client, auth, db_session):
    first, second = _officer("王一", "wangyi"), _officer("刘二", "liuer")
    never = _officer("未出现", "absent")
    _entry("customer.view_unmasked", first, object_type="customer", reason="王一查看")
    _entry("customer.view_unmasked", second, object_type="customer", reason="刘二查看")
    db_session.commit()
    auth.login("admin")
    html = client.get("/admin/audit").get_data(as_text=True)
    actors = _options(html, "actor")
    assert actors[str(first.id)] == "王一 · wangyi" and actors[str(second.id)] == "刘二 · liuer"
    assert str(never.id) not in actors and actors[""] == "全部人员"
    html = client.get(f"/admin/audit?actor={first.id}").get_data(as_text=True)
    assert _reasons(html) == ["王一查看"]
    assert f'<option value="{first.id}" selected>' in html
    combined = f"/admin/audit?actor={first.id}&action=login.success"
    assert _reasons(client.get(combined).get_data(as_text=True)) == []  # with the operation


def test_dates_are_beijing_calendar_days(client, auth, db_session):
    """23:30 on 10 March in Beijing is 15:30 UTC: it belongs to 10 March, not to the 11th."""
    agent = _officer()
    for at, reason in (
        (datetime(2026, 3, 9, 15, 59, tzinfo=UTC), "九日深夜"),  # 03-09 23:59 Beijing
        (datetime(2026, 3, 10, 15, 30, tzinfo=UTC), "十日深夜"),  # 03-10 23:30 Beijing
        (datetime(2026, 3, 10, 16, 30, tzinfo=UTC), "十一日凌晨"),  # 03-11 00:30 Beijing
    ):
        _entry("customer.view_unmasked", agent, at=at, object_type="customer", reason=reason)
    db_session.commit()
    auth.login("admin")

    def reasons(query: str) -> list[str]:
        response = client.get(f"/admin/audit?actor={agent.id}&{query}")
        assert response.status_code == 200
        return _reasons(response.get_data(as_text=True))

    assert reasons("from=2026-03-10&to=2026-03-10") == ["十日深夜"]
    assert reasons("from=2026-03-11") == ["十一日凌晨"]
    assert reasons("to=2026-03-10") == ["十日深夜", "九日深夜"]
    assert reasons("from=2026-03-09&to=2026-03-11") == ["十一日凌晨", "十日深夜", "九日深夜"]
    page = client.get("/admin/audit?from=2026-03-10&to=2026-03-10").get_data(as_text=True)
    assert 'name="from" value="2026-03-10"' in page and 'name="to" value="2026-03-10"' in page


def test_bad_filters_get_a_chinese_message_not_an_error_page(client, auth, db_session):
    auth.login("admin")
    for query, message in (
        ("from=2026-13-01", "开始日期应为 2026-01-31 这样的“年-月-日”"),
        ("to=yesterday", "结束日期应为 2026-01-31 这样的“年-月-日”"),
        ("from=2026-03-11&to=2026-03-10", "开始日期不能晚于结束日期"),
        ("from=1900-01-01", "开始日期须在 2000-01-01 至 2099-12-31 之间"),
        ("actor=abc", "操作人取值无效"),
        ("actor=99999999999999999999", "操作人取值无效"),
    ):
        response = client.get(f"/admin/audit?{query}")
        html = response.get_data(as_text=True)
        assert response.status_code == 400, query
        assert message in html and 'role="alert"' in html, query
        assert "aria-invalid" in html, query
        assert _reasons(html) == [] and "筛选条件有误，未查询" in html, query
    both = client.get("/admin/audit?from=x&to=y").get_data(as_text=True)
    assert "开始日期应为" in both and "结束日期应为" in both  # every problem at once
    typed = client.get("/admin/audit?from=2026-13-01").get_data(as_text=True)
    assert 'value="2026-13-01"' in typed  # what was typed stays, to be corrected
    export = client.get("/admin/audit/export.csv?from=2026-13-01")
    assert export.status_code == 302 and "/admin/audit?" in export.headers["Location"]
    assert "from=2026-13-01" in export.headers["Location"]


def test_pages_keep_the_filters(client, auth, db_session):
    agent, other = _officer(), _officer("别人", "other1")
    day = datetime(2026, 5, 20, 2, 0, tzinfo=UTC)
    for n in range(60):
        _entry("customer.view_unmasked", agent, at=day, object_type="customer",
               reason=f"事由{n:02d}")  # fmt: skip
    _entry("customer.view_unmasked", other, at=day, object_type="customer", reason="别人的")
    _entry("customer.view_unmasked", agent, at=datetime(2026, 5, 22, tzinfo=UTC),
           object_type="customer", reason="范围外")  # fmt: skip
    db_session.commit()
    auth.login("admin")
    query = f"action=customer.view_unmasked&actor={agent.id}&from=2026-05-20&to=2026-05-20"
    first = client.get(f"/admin/audit?{query}").get_data(as_text=True)
    assert "第 1 / 2 页，共 60 条" in first and len(_reasons(first)) == 50
    following = re.search(r'<a href="([^"]+)">下一页</a>', first)
    assert following, "no next page link"
    link = following.group(1).replace("&amp;", "&")
    for part in query.split("&"):
        assert part in link, (part, link)
    second = client.get(link).get_data(as_text=True)
    assert "第 2 / 2 页，共 60 条" in second
    assert sorted(_reasons(first) + _reasons(second)) == [f"事由{n:02d}" for n in range(60)]
    assert f'<option value="{agent.id}" selected>' in second
    assert 'name="from" value="2026-05-20"' in second


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_export_has_the_filters_neutralises_formulas_and_is_audited(client, auth, db_session):
    agent, other = _officer("钱坐席", "qianagent"), _officer("别人", "other2")
    customer = factories.customer("HZ01", name="欧阳娜娜", external_id="C88880001")
    day = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)
    _entry("customer.view_unmasked", agent, at=day, object_type="customer",
           object_id=customer.id, reason='=HYPERLINK("http://evil","核对")')  # fmt: skip
    _entry("customer.view_unmasked", other, at=day, object_type="customer", reason="别人的")
    db_session.commit()
    auth.login("admin")
    query = f"actor={agent.id}&from=2026-06-01&to=2026-06-01"
    page = client.get(f"/admin/audit?{query}").get_data(as_text=True)
    link = re.search(r'href="(/admin/audit/export\.csv\?[^"]+)"', page)
    assert link and all(p in link.group(1).replace("&amp;", "&") for p in query.split("&"))
    response = client.get(f"/admin/audit/export.csv?{query}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert rows[0][:4] == ["时间（北京时间）", "操作人", "操作", "对象"]
    assert len(rows) == 2  # the other staff member's entry is not in it
    assert rows[1][:4] == [
        "2026-06-01 11:00:00",
        "钱坐席 · qianagent",
        "查看客户完整个人信息",
        "客户 C88880001（欧**娜）",
    ]
    assert rows[1][5].startswith("'=HYPERLINK")  # a spreadsheet will not run it
    xlsx = client.get(f"/admin/audit/export.xlsx?{query}")
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert len(values) == 2 and values[1][5].startswith("'=")
    exports = db_session.scalars(
        select(AuditLog).where(AuditLog.action == "audit.export").order_by(AuditLog.id)
    ).all()
    assert [e.detail["format"] for e in exports] == ["csv", "xlsx"]
    assert exports[0].detail["filters"] == {
        "actor": str(agent.id),
        "from": "2026-06-01",
        "to": "2026-06-01",
    }
    assert exports[0].detail["rows"] == 1 and exports[0].actor_name == "admin"
    log = client.get("/admin/audit?action=audit.export").get_data(as_text=True)
    assert "导出审计日志" in log


def test_an_export_too_large_is_refused_with_a_message(client, auth, db_session, monkeypatch):
    from app.services import audit_trail

    agent = _officer()
    for n in range(3):
        _entry("customer.view_unmasked", agent, object_type="customer", reason=f"事由{n}")
    db_session.commit()
    monkeypatch.setattr(audit_trail, "EXPORT_LIMIT", 2)
    auth.login("admin")
    response = client.get(f"/admin/audit/export.csv?actor={agent.id}", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "超过单次导出上限 2 条，请缩小日期范围" in html
    assert f'<option value="{agent.id}" selected>' in html  # back on the same filters
    assert client.get(f"/admin/audit/export.csv?actor={agent.id}&to=2000-01-01").status_code == 200


def test_the_log_stays_read_only_for_the_administrator_and_head_office(client, auth, db_session):
    auth.login("admin")
    assert client.post("/admin/audit").status_code == 405
    assert client.post("/admin/audit/export.csv").status_code == 405
    auth.logout()
    auth.login("hq")
    assert client.get("/admin/audit").status_code == 200
    assert client.post("/admin/audit").status_code == 405
    auth.logout()
    auth.login("manager")
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit/export.csv").status_code == 403


def test_a_recorded_survey_opt_out_reads_in_words(client, auth, db_session):
    from app.services import customers

    agent = _officer("孙坐席", "sunagent")
    customer = factories.customer("HZ01", external_id="C77770001")
    customers.set_opt_out(customer.id, actor=agent, everything=True, channels=set(), note="电话")
    db_session.commit()
    auth.login("admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert re.search(r'<option value="customer\.opt_out"[^>]*>登记调查退订', page)
    filtered = client.get("/admin/audit?action=customer.opt_out").get_data(as_text=True)
    assert ["登记调查退订" in _cells(r)[2] for r in _rows(filtered)] == [True]
    rows = _csv(client.get("/admin/audit/export.csv?action=customer.opt_out"))
    assert [r[2] for r in rows[1:]] == ["登记调查退订"]
