"""Spreadsheet formula injection in every export, and upload limits: size, type, path
traversal in file names, zip bombs refused before openpyxl inflates them."""

from __future__ import annotations

import csv
import gc
import io
import re
import zipfile
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.models import ActionAttachment, ComplaintAttachment, Customer, utcnow
from app.services import complaints
from app.services import improvement_actions as actions
from app.services.complaints import IntakeData
from tests.security import records
from tests.security.helpers import page_csrf, sign_in
from tests.support import csrf_token
from tests.uploads import xlsx

FORMULAS = ["=HYPERLINK(\"http://evil\",\"点我\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)",
            "\t=1+1", "\r=1+1"]  # fmt: skip
# Werkzeug spools large uploads to temporary files and leaves some of them to the garbage
# collector; they are collected after each test here, where those warnings are expected.
pytestmark = [
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]


@pytest.fixture(autouse=True)
def _collect_spooled_uploads():
    yield
    gc.collect()


DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _bad_csv_cells(data: bytes) -> list[str]:
    text = data.decode("utf-8-sig")
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    return [c for c in cells if c.startswith(DANGEROUS_START) and not NUMBER.match(c)]


def _bad_xlsx_cells(data: bytes) -> list[str]:
    book = load_workbook(io.BytesIO(data))
    bad = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    bad.append(f"formula {cell.coordinate}: {cell.value}")
                elif isinstance(cell.value, str) and cell.value.startswith(DANGEROUS_START):
                    bad.append(f"{cell.coordinate}: {cell.value!r}")
    return bad


def _bad(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    if response.data[:2] == b"PK":
        return _bad_xlsx_cells(response.data)
    return _bad_csv_cells(response.data)


@pytest.fixture
def hostile_rows(client):
    for n, formula in enumerate(FORMULAS):
        records.answered(client, "HZ01", ext=f"CSV{n:03d}", name=formula, comment=formula)
        records.complaint("HZ01", text=f"{formula} 年费问题", name=formula)
    return FORMULAS


def _export_urls(client) -> list[str]:
    urls = set()
    for name in ("overview", "branches", "products", "complaints", "voice", "followups"):
        page = client.get(f"/manager/dashboards/{name}")
        if page.status_code != 200:
            continue
        urls |= set(re.findall(r'href="(/manager/dashboards/[^"]+/export/[^"]+)"', page.text))
    return sorted(u.replace("&amp;", "&") for u in urls)


def test_every_export_neutralises_formulas(client, hostile_rows):
    sign_in(client, "hq")
    token = page_csrf(client)
    problems = []
    for fmt in ("csv", "xlsx"):
        reply = client.post("/staff/responses/export", data={"csrf_token": token, "format": fmt})
        problems += [f"responses.{fmt}: {c}" for c in _bad(reply)]
        for kind in ("responses", "complaints"):
            reply = client.get(f"/manager/dashboards/drill/{kind}?format={fmt}")
            problems += [f"drill {kind}.{fmt}: {c}" for c in _bad(reply)]
    report = client.get("/manager/dashboards/regulator-report?download=1")
    problems += [f"regulator: {c}" for c in _bad(report)]
    exports = _export_urls(client)
    assert len(exports) >= 5
    for url in exports:
        problems += [f"{url}: {c}" for c in _bad(client.get(url))]
    assert not problems, "\n".join(problems)


def test_control_characters_from_an_integrator_do_not_break_the_exports(client):
    """Names and references that came in through the API or e-mail with a control character
    (which a worksheet cannot hold): every export still answers, the text without it."""
    records.answered(client, "HZ01", ext="CTL\x01001", name="\x02冯默风")
    records.complaint("HZ01", name="\x01冯默风", text="扫码支付\x0b重复扣款两笔")
    complaints.create_complaint(
        IntakeData(channel="regulator", content="转办：贷款利率纠纷", name="冯默风",
                   external_ref="YJ\x01-2026-001", branch_code="HZ01")
    )  # fmt: skip
    sign_in(client, "hq")
    token = page_csrf(client)
    books = [client.post("/staff/responses/export", data={"csrf_token": token, "format": "xlsx"})]
    for kind in ("responses", "complaints"):
        books.append(client.get(f"/manager/dashboards/drill/{kind}?format=xlsx"))
    books.append(client.get("/manager/dashboards/regulator-report?download=1"))
    assert [b.status_code for b in books] == [200] * 4
    cells = [
        str(cell.value)
        for book in books
        for sheet in load_workbook(io.BytesIO(book.data)).worksheets
        for row in sheet.iter_rows()
        for cell in row
    ]
    # (names lose the control character at intake: masked as any three-character name)
    assert "CTL001" in cells and "YJ-2026-001" in cells and "冯*风" in cells


def test_the_hostile_text_is_in_the_export_but_quoted(client, hostile_rows):
    sign_in(client, "hq")
    reply = client.post(
        "/staff/responses/export", data={"csrf_token": page_csrf(client), "format": "csv"}
    )
    text = reply.data.decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "'@SUM(1,2)" in text


# Uploads -------------------------------------------------------------------------------------


def _import(client, filename: str, data: bytes):
    page = client.get("/manager/customer-import")
    return client.post(
        "/manager/customer-import",
        data={"csrf_token": csrf_token(page.text), "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def test_customer_import_refuses_zip_bombs_before_parsing(client):
    sign_in(client, "hq")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (30 * 1024 * 1024))
    assert len(bomb.getvalue()) < 200 * 1024
    reply = _import(client, "客户.xlsx", bomb.getvalue())
    assert reply.status_code == 400 and "压缩炸弹" in reply.text


def test_customer_import_size_and_type_limits(client):
    sign_in(client, "hq")
    too_big = _import(client, "客户.csv", b"external_id,name\n" + b"x" * (9 * 1024 * 1024))
    assert too_big.status_code == 400 and "不能超过" in too_big.text
    for name, data in (("客户.exe", b"MZ\x90\x00"), ("客户.xlsx", b"not a zip"), ("客户", b"a")):
        reply = _import(client, name, data)
        assert reply.status_code == 400, name
        assert "xlsx" in reply.text or "Excel" in reply.text


def test_requests_over_the_size_limit_get_413_in_chinese(client):
    sign_in(client, "hq")
    reply = _import(client, "客户.csv", b"x" * (11 * 1024 * 1024))
    assert reply.status_code == 413 and "内容过大" in reply.text


def test_customer_import_ignores_path_traversal_in_the_file_name(client):
    sign_in(client, "hq")
    data = xlsx([["客户号", "姓名", "手机号", "机构"], ["TRAV01", "钱一", "13800001234", "HZ01"]])
    reply = _import(client, "../../../../etc/passwd.xlsx", data)
    assert reply.status_code == 200, reply.text[-400:]
    assert db.session.scalar(select(Customer).where(Customer.external_id == "TRAV01"))


def test_evidence_uploads_keep_only_a_base_name_and_allowed_types(client):
    problem = records.problem("HZ")
    action = actions.add_action(
        problem.id,
        actions.ActionData("张贴收费公示", utcnow().date() + timedelta(days=1)),
        actor=records.hq(),
    )
    sign_in(client, "manager")
    token = csrf_token(client.get(f"/manager/improvements/{problem.id}").text)

    def upload(name, data=b"\x89PNG photo"):
        return client.post(
            f"/manager/improvements/{problem.id}/actions/{action.id}/complete",
            data={"csrf_token": token, f"change-{action.id}-text": "已张贴",
                  f"change-{action.id}-files": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )  # fmt: skip

    refused = upload("payload.html", b"<script>alert(1)</script>")
    assert refused.status_code in (400, 409, 422) and "类型不支持" in refused.text
    too_big = upload("photo.png", b"x" * (6 * 1024 * 1024))
    assert too_big.status_code in (400, 422) and "附件不能超过 5 MB" in too_big.text
    assert upload("../../../公示照片.png").status_code == 302
    stored = db.session.scalar(
        select(ActionAttachment).where(ActionAttachment.action_id == action.id)
    )
    assert stored.filename == "公示照片.png"
    got = client.get(f"/manager/improvements/{problem.id}/actions/{action.id}/files/{stored.id}")
    assert got.mimetype == "application/octet-stream"
    # saved under its number and accepted extension, never the uploader's name
    assert got.headers["Content-Disposition"] == f"attachment; filename=evidence-{stored.id}.png"


def test_complaint_attachments_keep_only_a_base_name(client):
    complaint = records.complaint(filename="../../../etc/passwd.pdf")
    stored = db.session.scalar(
        select(ComplaintAttachment).where(ComplaintAttachment.complaint_id == complaint.id)
    )
    assert stored.filename == "passwd.pdf"
    sign_in(client, "agent")
    got = client.get(f"/staff/complaints/{complaint.id}/attachments/{stored.id}")
    assert (
        got.mimetype == "application/octet-stream"
        and "attachment" in got.headers["Content-Disposition"]
    )
