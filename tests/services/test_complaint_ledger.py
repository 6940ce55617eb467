"""投诉台账: the cases the list's filters select, one row each, in the viewer's scope, masked,
with whether the first decision was made and told in time; the export is audited (both
databases)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Role, utcnow
from app.services import complaint_casework as casework
from app.services import complaint_clock as clock
from app.services import complaint_handling as handling
from app.services import complaint_ledger as ledger
from app.services import complaint_queue as queue
from app.services import complaints, scope
from app.services.complaints import IntakeData
from app.services.errors import ValidationFailed
from tests import factories
from tests.services.test_complaints import decide

BEIJING_NOON = 12


def _case(branch: str, received: datetime, phone: str = "13812345678", **kw):
    c, _ = complaints.create_complaint(
        IntakeData(
            channel="hotline",
            content="（台账核对）信用卡年费被多收了三百元，联系电话13812345678，请尽快退还。",
            name="王小明",
            phone=phone,
            branch_code=branch,
            received_at=received,
            **kw,
        )
    )
    return c


def _day(days_ago: int, hour: int = BEIJING_NOON) -> datetime:
    today = clock.local_date(utcnow())
    return datetime.combine(
        today - timedelta(days=days_ago), datetime.min.time().replace(hour=hour), clock.TZ
    )


def _columns(row: list[str]) -> dict[str, str]:
    return dict(zip(ledger.COLUMNS, row, strict=True))


def _sheet(body: bytes) -> list[list[str]]:
    """The rows of an exported workbook (its heading checked), blank cells as ""."""
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    heading, *rows = sheet.iter_rows(values_only=True)
    assert heading == ledger.COLUMNS and sheet.title == "投诉台账"
    return [["" if v is None else v for v in row] for row in rows]


def test_the_ledger_lists_the_received_days_asked_in_scope_masked_and_timed(db_session):
    agent = factories.user(Role.AGENT, "HZ", display_name="钱处理")
    manager = factories.user(Role.BRANCH_MANAGER, "HZ")
    # the first minute and the last of the asked days, and one each side of them
    early = _case("HZ01", _day(10, 0).replace(minute=0))
    late = _case("HZ01", _day(8, 23).replace(minute=59))
    _case("HZ01", _day(11, 23).replace(minute=59))
    _case("HZ01", _day(7, 0).replace(minute=0))
    _case("NJ01", _day(9))  # another branch's: not in this manager's scope
    casework.assign(early.id, agent.id, actor=manager)
    handling.accept(early.id, actor=agent)
    decide(early, agent)
    handling.record_notice(
        early.id, actor=agent, method="phone", purpose="decision", outcome="reached"
    )
    today = clock.local_date(utcnow())
    asked = queue.Filters(
        queue="all",
        q="台账核对",  # (the seeded bank's own cases of those days aside)
        received_from=today - timedelta(days=10),
        received_to=today - timedelta(days=8),
    )
    scope.bind(db_session, scope.scope_for(manager))  # as a web request does
    try:
        table = [_columns(r) for r in _sheet(ledger.export(asked, manager, "xlsx"))]
    finally:
        scope.bind(db_session, scope.WHOLE_BANK)
    assert [r["投诉编号"] for r in table] == [early.reference, late.reference]
    first, second = table
    assert first["投诉人"] == "王*明" and first["联系电话"] == "138****5678"
    assert "13812345678" not in first["投诉摘要"] and "王小明" not in str(table)
    assert first["处理人"] == "钱处理" and first["按时办结"] == "是"
    assert first["状态"] == "已作出处理决定" and first["处理决定时间"]
    assert first["业务类别"].startswith("B") and first["受理渠道"] == "客服热线"
    assert second["按时办结"] == "未到期" and second["处理决定时间"] == ""
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "complaints.export"))
    assert entry.actor_id == manager.id and entry.detail["rows"] == 2
    assert entry.detail["filters"]["received_from"] == str(today - timedelta(days=10))


def test_past_its_deadline_without_a_decision_reads_overdue_and_too_many_rows_are_refused(
    db_session, monkeypatch
):
    manager = factories.user(Role.HQ_MANAGER, "HO")
    old = _case("HZ02", _day(40))
    rows = [_columns(r) for r in ledger.rows(queue.Filters(queue="all", q=old.reference), manager)]
    assert [r["按时办结"] for r in rows] == ["超时未决"]
    monkeypatch.setattr(ledger, "MAX_ROWS", 0)
    with pytest.raises(ValidationFailed, match="超过单次导出上限 0 条"):
        ledger.export(queue.Filters(queue="all"), manager, "csv")
    assert not db.session.scalar(select(AuditLog).where(AuditLog.action == "complaints.export"))


def test_a_merged_repeat_names_the_case_it_went_into(db_session):
    agent = factories.user(Role.AGENT, "HZ")
    first = _case("HZ01", _day(3))
    repeat = _case("HZ01", _day(2))
    casework.merge(repeat.id, first.id, actor=agent, new_facts=False, note="同一事项")
    db.session.commit()
    manager = factories.user(Role.HQ_MANAGER, "HO")
    found = ledger.rows(queue.Filters(queue="all", q=repeat.reference), manager)
    (row,) = [_columns(r) for r in found]
    assert row["状态"] == f"已办结（已并入 {first.reference}）" and row["按时办结"] == "不适用"


def test_both_files_hold_the_same_masked_neutralised_rows_and_are_audited_once_built(
    db_session, monkeypatch
):
    """The Excel ledger is streamed row by row (exports.stream_xlsx): ~48,000 rows outlasted
    the worker timeout. Same columns, masking and formula neutralisation as the CSV; the audit
    entry is written only once the file exists (a failed export was logged as delivered)."""
    c, _ = complaints.create_complaint(
        IntakeData(
            channel="hotline",
            content='=HYPERLINK("http://evil.example") 柜台服务态度差，电话13812345678',
            name="王小明",
            phone="13812345678",
            branch_code="HZ01",
            received_at=_day(2),
        )
    )
    manager = factories.user(Role.HQ_MANAGER, "HO")
    asked = queue.Filters(queue="all", q=c.reference)
    (xlsx_row,) = _sheet(ledger.export(asked, manager, "xlsx"))
    body = ledger.export(asked, manager, "csv").decode("utf-8-sig")
    heading, csv_row = csv.reader(io.StringIO(body))
    assert tuple(heading) == ledger.COLUMNS and csv_row == xlsx_row
    row = _columns(xlsx_row)
    assert row["投诉摘要"].startswith("'=HYPERLINK") and "13812345678" not in row["投诉摘要"]
    assert row["投诉人"] == "王*明" and row["联系电话"] == "138****5678"
    entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "complaints.export"))
    assert sorted((e.detail["format"], e.detail["rows"]) for e in entries) == [
        ("csv", 1),
        ("xlsx", 1),
    ]

    def broken(*args, **kwargs):
        raise MemoryError("the workbook could not be built")

    monkeypatch.setattr(ledger.exports, "stream_xlsx", broken)
    with pytest.raises(MemoryError):
        ledger.export(asked, manager, "xlsx")
    entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "complaints.export"))
    assert len(list(entries)) == 2  # (no third entry: no file was made)


def test_the_business_code_filter_takes_percent_and_underscore_literally(db_session):
    """code_business=B0_ listed B01…B08 and % every classified case: LIKE wildcards."""
    manager = factories.user(Role.HQ_MANAGER, "HO")
    c = _case("HZ01", _day(1))
    db.session.get(type(c), c.id).code_business = "B03"
    db.session.flush()
    assert queue.count(queue.Filters(queue="all", code_business="B03"), manager) >= 1
    assert queue.count(queue.Filters(queue="all", code_business="B0"), manager) >= 1
    for typed in ("B0_", "%", "B%", "_03"):
        assert queue.count(queue.Filters(queue="all", code_business=typed), manager) == 0, typed
