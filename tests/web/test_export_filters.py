"""Exports never deliver a file for something other than what was asked: a filter that is not
one (a bad, out-of-range or reversed date, a branch outside the viewer's scope, a malformed
quarter) gives a Chinese message instead, and nothing is recorded as exported; too many rows
are refused, never silently cut; raw input never reaches the Content-Disposition header."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from html import unescape

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Branch
from app.services import responses_query
from tests import factories
from tests.support import csrf_token

pytestmark = pytest.mark.usefixtures("app")


def _audited(action: str) -> int:
    return db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.action == action))


def _text(reply) -> str:
    return unescape(reply.get_data(as_text=True))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("received_from=2026-09-31&received_to=2026-09-30", "收到日期起应为 2026-01-31 这样的"),
        ("received_to=0001-01-01", "收到日期止须在 2000-01-01 至 2099-12-31 之间"),
        ("received_from=2026-10-01&received_to=2026-09-30", "收到日期止早于收到日期起"),
    ],
)
def test_a_ledger_export_with_a_bad_date_goes_back_to_the_list_saying_why(
    client, auth, query, message
):
    auth.login("manager")
    reply = client.get(f"/staff/complaints/export.csv?queue=all&{query}")
    assert reply.status_code == 302 and "/staff/complaints?" in reply.headers["Location"]
    page = _text(client.get(reply.headers["Location"]))
    assert message in page and "未导出" in page
    assert _audited("complaints.export") == 0
    fine = client.get("/staff/complaints/export.csv?queue=all&received_from=2026-09-01")
    assert fine.status_code == 200 and _audited("complaints.export") == 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-09-01&to=2026-09-31", "结束日期应为 2026-01-31 这样的“年-月-日”"),
        ("from=2026-10-01&to=2026-09-30", "开始日期不能晚于结束日期"),
        ("branch=NJ", "无权查看该机构的数据"),
        ("decider=abc", "链接中的处理人员无效"),
    ],
)
@pytest.mark.parametrize("kind", ["complaints", "responses"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_drill_export_with_a_bad_filter_is_a_422_that_says_why(
    client, auth, query, message, kind, fmt
):
    auth.login("manager")  # (杭州分行)
    reply = client.get(f"/manager/dashboards/drill/{kind}?{query}&format={fmt}")
    assert reply.status_code == 422 and "Content-Disposition" not in reply.headers
    assert message in _text(reply) and "未导出" in _text(reply)
    assert _audited("dashboard.export") == 0
    # the list still shows (the default range, saying so): a refused filter is a 422 as on
    # the dashboards; a person link that is no staff id is dropped with a notice
    page = client.get(f"/manager/dashboards/drill/{kind}?{query}")
    assert page.status_code == (200 if query.startswith("decider") else 422)
    assert message in _text(page) and "共 " in _text(page)


def test_a_table_export_422_names_the_problem(client, auth):
    auth.login("hq")
    url = "/manager/dashboards/complaints/export/complaint_trend.csv?from=2026-09-01&to=2026-09-31"
    reply = client.get(url)
    assert reply.status_code == 422 and "结束日期应为 2026-01-31 这样的“年-月-日”" in _text(reply)
    assert _audited("dashboard.export") == 0


def _export_responses(client, query: str = "", fmt: str = "csv"):
    token = csrf_token(client.get("/staff/responses").get_data(as_text=True))
    return client.post(f"/staff/responses/export{query}", data={"csrf_token": token, "format": fmt})


def test_too_many_responses_are_refused_with_the_count_never_cut(client, auth, monkeypatch):
    """52,780 answers gave a file of the 50,000 oldest, without a word."""
    factories.scored_responses("HZ01", datetime(2026, 9, 1, tzinfo=UTC), [5, 4, 2])
    auth.login("hq")
    whole = _export_responses(client)
    rows = list(csv.reader(io.StringIO(whole.data.decode("utf-8-sig"))))[1:]
    listed = responses_query.list_responses(responses_query.ResponseFilter()).total
    assert whole.status_code == 200 and len(rows) == listed
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "responses.export"))
    assert entry.detail["rows"] == listed
    assert listed >= 3
    monkeypatch.setattr(responses_query, "EXPORT_LIMIT", listed - 1)
    refused = _export_responses(client, "?channel=")
    assert refused.status_code == 302 and "channel=" in refused.headers["Location"]
    page = _text(client.get(refused.headers["Location"]))
    assert f"符合条件的答卷超过单次导出上限 {listed - 1} 份" in page
    assert _audited("responses.export") == 1


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?from=2026-09-31", "起始日期应为 2026-01-31 这样的“年-月-日”"),
        ("?from=2026-10-01&to=2026-09-30", "截止日期早于起始日期"),
        ("?to=9999-12-31", "截止日期须在 2000-01-01 至 2099-12-31 之间"),
    ],
)
def test_a_responses_export_with_a_bad_date_is_refused(client, auth, query, message):
    auth.login("manager")
    reply = _export_responses(client, query, "xlsx")
    assert reply.status_code == 302
    page = _text(client.get(reply.headers["Location"]))
    assert message in page and "未导出" in page
    assert _audited("responses.export") == 0


def test_a_responses_export_of_another_branch_is_refused(client, auth):
    auth.login("manager")  # (杭州分行)
    nanjing = db.session.scalar(select(Branch.id).where(Branch.code == "NJ"))
    reply = _export_responses(client, f"?branch_id={nanjing}")
    assert reply.status_code == 302
    assert "无权查看该机构的数据" in _text(client.get(reply.headers["Location"]))
    assert _audited("responses.export") == 0


@pytest.mark.parametrize(
    ("quarter", "message"),
    [
        ("0000Q1", "季度须在 2000Q1 至 2099Q4 之间"),
        ("2100Q1", "季度须在 2000Q1 至 2099Q4 之间"),
        ("2026Q1%0A", "季度格式应为"),
        ("%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96Q1", "季度格式应为"),  # full-width ２０２６
        ("%202026Q1%20", "季度格式应为"),
        ("2026Q5", "季度格式应为"),
    ],
)
@pytest.mark.parametrize("download", ["", "&download=1"])
def test_a_malformed_quarter_is_a_422_in_chinese(client, auth, quarter, message, download):
    auth.login("hq")
    reply = client.get(f"/manager/dashboards/regulator-report?quarter={quarter}{download}")
    assert reply.status_code == 422 and message in _text(reply)
    assert "Content-Disposition" not in reply.headers
    assert _audited("dashboard.export") == 0


def test_the_report_file_is_named_from_the_parsed_quarter(client, auth):
    auth.login("hq")
    reply = client.get("/manager/dashboards/regulator-report?quarter=2026Q1&download=1")
    assert reply.status_code == 200
    assert reply.headers["Content-Disposition"] == (
        'attachment; filename="kesheng-complaints-2026Q1.xlsx"'
    )


def test_a_download_name_outside_ascii_is_sent_as_rfc_5987(app):
    from app.web.support import download

    with app.test_request_context():
        chinese = download(b"x", "xlsx", "消费投诉统计季报-2026Q3")
        odd = download(b"x", "csv", 'a"b\nc')
    header = chinese.headers["Content-Disposition"]
    assert header.isascii() and 'filename="________-2026Q3.xlsx"' in header
    assert "filename*=UTF-8''%E6%B6%88%E8%B4%B9" in header
    assert odd.headers["Content-Disposition"].startswith('attachment; filename="a_b_c.csv"')
