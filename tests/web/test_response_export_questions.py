"""The answers export filtered to one survey: a column per question (per matrix item), across
the survey's versions, masked and formula-neutralised like the summary columns."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Response
from app.services import surveys
from app.services.responses_query import EXPORT_HEADER
from tests import factories
from tests.support import csrf_token

V1 = """code: exp-q
questions:
  - {id: overall, type: rating, metric: csat, title: 总体满意度}
  - id: visit
    type: single
    title: 本次办理业务的渠道
    options: [{value: counter, label: 柜台}, {value: app, label: 手机银行}]
  - {id: retired, type: text, required: false, title: 旧版的意见题}
  - id: aspects
    type: matrix
    scale: rating
    title: 服务评价
    items: [{id: attitude, label: 服务态度}, {id: speed, label: 办理速度}]
  - id: improve
    type: multiple
    title: 最需要改进的方面
    show_if: {question: overall, op: lte, value: 3}
    options:
      - {value: wait, label: 等候时间}
      - {value: staff, label: 员工态度}
      - {value: other, label: 其他, other: true}
  - {id: comment, type: text, required: false, title: 您还有什么建议}
"""
# v2: the first title reworded, the old free-text question gone, an effort question added
V2 = (
    V1.replace("title: 总体满意度", "title: 总体而言您是否满意").replace(
        "  - {id: retired, type: text, required: false, title: 旧版的意见题}\n", ""
    )
    + "  - {id: effort, type: ces, title: 办理很轻松}\n"
)
QUESTION_HEADERS = [
    "Q1 总体而言您是否满意",
    "Q2 本次办理业务的渠道",
    "Q3 服务评价 - 服务态度",
    "Q3 服务评价 - 办理速度",
    "Q4 最需要改进的方面",
    "Q5 您还有什么建议",
    "Q6 办理很轻松",
    "第1版 Q3 旧版的意见题",
]
FIRST = {  # a detractor of version 1: sees the improvement question
    "q_overall": "2",
    "q_visit": "counter",
    "q_retired": "旧问题的回答，电话13812345678",
    "q_aspects__attitude": "2",
    "q_aspects__speed": "3",
    "q_improve": ["wait", "other"],
    "q_improve__other": "取号机坏了，请回电13912345678",
    "q_comment": '=HYPERLINK("http://evil","点我") 我的电话13812345678',
}
SECOND = {  # version 2, satisfied: the improvement question is skipped
    "q_overall": "5",
    "q_visit": "app",
    "q_aspects__attitude": "5",
    "q_aspects__speed": "4",
    "q_effort": "6",
    "q_comment": "+86 很好",
}


def _publish(survey_id: int, text: str) -> None:
    survey = surveys.get_survey(survey_id)
    surveys.update_draft(survey_id, title=survey.title, description="", text=text)
    surveys.publish(survey_id, actor=None)


def _answer(client, external_id: str, data: dict) -> Response:
    token, issued = factories.survey_link(external_id, survey_code="exp-q")
    reply = client.post(f"/s/{token}", data=data)
    assert reply.status_code == 200, reply.get_data(as_text=True)[:500]
    return db.session.scalar(select(Response).where(Response.invitation_id == issued.invitation.id))


@pytest.fixture
def two_versions(client):
    survey = surveys.create_from_template("branch-service", code="exp-q", actor=None)
    _publish(survey.id, V1)
    first = _answer(client, "EXPQ001", FIRST)
    surveys.reopen_draft(survey.id)
    _publish(survey.id, V2)
    second = _answer(client, "EXPQ002", SECOND)
    assert (first.version.number, second.version.number) == (1, 2)
    return survey, first, second


def _export(client, fmt: str, query: str = "") -> list[list]:
    token = csrf_token(client.get(f"/staff/responses{query}").get_data(as_text=True))
    reply = client.post(
        f"/staff/responses/export{query}", data={"csrf_token": token, "format": fmt}
    )
    assert reply.status_code == 200
    if fmt == "csv":
        assert reply.data.startswith("\ufeff".encode())
        return list(csv.reader(io.StringIO(reply.data.decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(reply.data)).active
    return [[c.value for c in row] for row in sheet.iter_rows()]


def _by_id(table: list[list], response: Response) -> dict:
    header, rows = table[0], table[1:]
    row = next(r for r in rows if str(r[0]) == str(response.id))
    return dict(zip(header, row, strict=True))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_one_survey_export_has_a_column_per_question(client, auth, two_versions, fmt):
    survey, first, second = two_versions
    auth.login("hq")
    table = _export(client, fmt, f"?survey_id={survey.id}")
    assert table[0] == EXPORT_HEADER + QUESTION_HEADERS
    assert len(table) == 3
    empty = "" if fmt == "csv" else None
    number = str if fmt == "csv" else int
    old = _by_id(table, first)
    assert old["Q1 总体而言您是否满意"] == number(2)
    assert old["Q2 本次办理业务的渠道"] == "柜台"
    assert old["Q3 服务评价 - 服务态度"] == number(2)
    assert old["Q3 服务评价 - 办理速度"] == number(3)
    assert old["Q4 最需要改进的方面"] == "等候时间；其他（取号机坏了，请回电139****5678）"
    assert old["Q5 您还有什么建议"] == '\'=HYPERLINK("http://evil","点我") 我的电话138****5678'
    assert old["Q6 办理很轻松"] == empty  # not asked in version 1
    assert old["第1版 Q3 旧版的意见题"] == "旧问题的回答，电话138****5678"
    new = _by_id(table, second)
    assert new["Q2 本次办理业务的渠道"] == "手机银行"
    assert new["Q4 最需要改进的方面"] == empty  # skipped: satisfied customers are not asked
    assert new["Q5 您还有什么建议"] == "'+86 很好"
    assert new["Q6 办理很轻松"] == number(6)
    assert new["第1版 Q3 旧版的意见题"] == empty
    cells = [str(v) for row in table for v in row if v is not None]
    assert not any(p in v for v in cells for p in ("13812345678", "13912345678"))
    audit = db.session.scalar(
        select(AuditLog).where(AuditLog.action == "responses.export").order_by(AuditLog.id.desc())
    )
    assert audit.detail["question_columns"] == len(QUESTION_HEADERS)
    assert audit.detail["filter"] == {"survey_id": str(survey.id)} and audit.detail["rows"] == 2


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_without_one_survey_the_export_keeps_its_summary_columns(client, auth, two_versions, fmt):
    auth.login("hq")
    table = _export(client, fmt, "?detractors=1")
    assert table[0] == EXPORT_HEADER
    assert any(str(row[0]) == str(two_versions[1].id) for row in table[1:])


def test_the_page_says_what_one_survey_adds_and_scope_still_holds(client, auth, two_versions):
    survey = two_versions[0]
    auth.login("manager_nj")  # another branch: the HZ01 answers stay out, columns or not
    assert "选择单个问卷后，导出文件将为每道题增加一列" in client.get("/staff/responses").text
    assert "按题目顺序每题一列" in client.get(f"/staff/responses?survey_id={survey.id}").text
    table = _export(client, "csv", f"?survey_id={survey.id}")
    assert table == [EXPORT_HEADER + QUESTION_HEADERS]
