"""Attachments on the customers' complaint form: stored with the complaint in one transaction,
shown to and downloaded by staff (audited), refused with a Chinese message that keeps what the
customer typed: wrong type (by content), too large, too many, an archive, a request too large."""

from __future__ import annotations

import io
import re
import zipfile
from html import unescape

import pytest
from sqlalchemy import select

from app.models import AuditLog, Complaint
from app.security import uploads
from app.security.uploads import FileData
from app.services import complaints
from app.services.complaints import IntakeData
from app.services.errors import ValidationFailed
from tests.support import csrf_token
from tests.uploads import JPEG, LARGE_UPLOADS, MB, PDF, PNG, stored_rows

pytestmark = LARGE_UPLOADS

NAME, PHONE = "吴敏", "13700001234"
CONTENT = "手机银行转账时页面报错，钱已扣款但对方未收到，已等待三天仍无人处理。"
DEMAND = "尽快退回扣款并说明原因"


def _submit(client, files, **extra):
    page = client.get("/complaint").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "name": NAME,
        "phone": PHONE,
        "branch_code": "HZ01",
        "content": CONTENT,
        "demand": DEMAND,
        "consent": "y",
        "attachments": [(io.BytesIO(body), name) for name, body in files],
        **extra,
    }
    return client.post("/complaint", data=data, content_type="multipart/form-data")


def _refused(db_session, reply, before, *messages) -> str:
    """The form again with the messages, what the customer typed still in it, nothing stored."""
    text = reply.get_data(as_text=True)
    assert reply.status_code == 400, text[-500:]
    for message in messages:
        assert message in text
    assert f'value="{NAME}"' in text and f'value="{PHONE}"' in text
    assert CONTENT in text and DEMAND in text
    assert "selected" in re.search(r'<option[^>]*value="HZ01"[^>]*>', text)[0]
    assert "请重新选择符合要求的附件" in text  # (a browser never keeps chosen files)
    assert stored_rows() == before
    return text


def _reference(reply) -> str:
    return reply.get_data(as_text=True).split('pc-ref mono">')[1].split("<")[0]


def test_customer_files_are_stored_with_the_complaint_and_staff_download_them(
    client, auth, db_session
):
    done = _submit(client, [("转账失败截图.jpg", JPEG), ("对账单.pdf", PDF)])
    page = done.get_data(as_text=True)
    assert done.status_code == 201, page[-500:]
    assert "附件 2 个：转账失败截图.jpg、对账单.pdf" in page
    c = db_session.scalar(select(Complaint).where(Complaint.reference == _reference(done)))
    files = complaints.attachments(c)
    assert [(f.filename, f.content_type, f.size, f.data) for f in files] == [
        ("转账失败截图.jpg", "image/jpeg", len(JPEG), JPEG),
        ("对账单.pdf", "application/pdf", len(PDF), PDF),
    ]

    auth.login("agent")
    detail = client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
    assert "转账失败截图.jpg" in detail and "对账单.pdf" in detail
    got = client.get(f"/staff/complaints/{c.id}/attachments/{files[0].id}")
    assert got.status_code == 200 and got.data == JPEG
    assert got.mimetype == "application/octet-stream"
    saved_as = f"attachment-{files[0].id}.jpg"  # (never the name the customer sent)
    assert got.headers["Content-Disposition"] == f"attachment; filename={saved_as}"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    entry = db_session.scalar(
        select(AuditLog).where(AuditLog.action == "complaint.attachment_download")
    )
    assert entry.actor_name == "agent" and entry.object_id == str(c.id)
    assert entry.detail["filename"] == "转账失败截图.jpg"


def test_a_file_of_the_wrong_kind_is_refused_by_its_content(client, db_session):
    before = stored_rows()
    reply = _submit(client, [("截图.jpg", JPEG), ("对账单.pdf", b"MZ\x90\x00 a program")])
    _refused(db_session, reply, before, "“对账单.pdf”：文件类型不支持，仅支持 JPG、PNG、PDF 文件")
    page = _submit(client, [("说明.html", b"<html><script>alert(1)</script></html>")])
    _refused(db_session, page, before, "“说明.html”：文件类型不支持")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (20 * MB))
    archived = _submit(client, [("截图.png", bomb.getvalue())])
    _refused(db_session, archived, before, "“截图.png”：不能上传压缩包")


def test_a_file_too_large_is_refused_with_the_limit(client, db_session):
    before = stored_rows()
    big = JPEG + b"\0" * (5 * MB)
    reply = _submit(client, [("照片.jpg", big)])
    _refused(db_session, reply, before, "“照片.jpg”：文件过大，每个附件不能超过 5 MB")
    # Three files each under 5 MB, together over 10 MB (a body over the app's 10 MB limit):
    # the form's own message, not a 413 page.
    four = PNG + b"\0" * (4 * MB)
    reply = _submit(client, [("1.png", four), ("2.png", four), ("3.png", four)])
    _refused(db_session, reply, before, "“3.png”：附件合计不能超过 10 MB")


def test_more_files_than_allowed_are_refused(client, db_session):
    before = stored_rows()
    reply = _submit(client, [(f"{n}.png", PNG) for n in range(1, 5)])
    _refused(db_session, reply, before, "最多上传 3 个附件，您选择了 4 个")


def test_other_mistakes_ask_for_the_files_again_by_name(client, db_session):
    before = stored_rows()
    reply = _submit(client, [("截图.png", PNG)], phone="123")
    text = reply.get_data(as_text=True)
    assert reply.status_code == 400 and "请填写 11 位手机号码" in text
    assert "您选择的附件（截图.png）尚未提交，请重新选择" in text
    assert stored_rows() == before
    # the list at the top asks for them too: it said "请修改以下 1 项" (the number), and the
    # customer who fixed that one sent the complaint without the screenshot
    summary = unescape(text).split('id="pc-errors"', 1)[1].split("</div>", 1)[0]
    assert "请修改以下 2 项" in summary
    asked = "附件：您选择的文件（截图.png）尚未提交，请重新选择"
    assert f'<a href="#attachments">{asked}</a>' in summary
    assert summary.index("#phone") < summary.index("#attachments")  # (in the form's order)


def test_a_form_from_an_expired_page_asks_for_its_files_again_at_the_top(client, db_session):
    before = stored_rows()
    reply = _submit(client, [("截图.png", PNG)], csrf_token="expired-token")
    summary = unescape(reply.get_data(as_text=True)).split('id="pc-errors"', 1)[1]
    summary = summary.split("</div>", 1)[0]
    assert reply.status_code == 400 and "安全校验失败（页面停留时间过长）" in summary
    assert "请修改以下 1 项" in summary and "附件：您选择的文件（截图.png）尚未提交" in summary
    assert stored_rows() == before


def test_file_names_are_display_text_only(client, auth, db_session):
    done = _submit(client, [("../../etc/<script>alert(1)</script>.png", PNG), ("..", PDF)])
    assert done.status_code == 201
    c = db_session.scalar(select(Complaint).where(Complaint.reference == _reference(done)))
    names = [f.filename for f in complaints.attachments(c)]
    assert names == ["script_.png", "附件"]
    auth.login("agent")
    detail = client.get(f"/staff/complaints/{c.id}").get_data(as_text=True)
    assert "script_.png" in detail and "<script>alert" not in detail


def test_a_request_over_the_form_limit_gets_a_413_page_in_chinese(client, db_session):
    before = stored_rows()
    huge = JPEG + b"\0" * (17 * MB)
    reply = _submit(client, [("视频.jpg", huge)])
    text = reply.get_data(as_text=True)
    assert reply.status_code == 413 and "附件过大，投诉未提交" in text
    assert "每个不超过 5 MB" in text and 'href="/complaint"' in text
    assert stored_rows() == before


def test_files_without_the_csrf_token_store_nothing(client, db_session):
    before = stored_rows()
    reply = _submit(client, [("截图.png", PNG)], csrf_token="")
    assert reply.status_code == 400 and "安全校验失败" in reply.get_data(as_text=True)
    assert stored_rows() == before


def test_the_intake_service_refuses_a_bad_file_before_writing_anything(db_session):
    """The same limits hold for any caller of the service, not only the form; a refused file
    leaves no complaint, customer or attachment behind."""
    before = stored_rows()
    data = IntakeData(
        channel="web",
        content=CONTENT,
        name=NAME,
        phone=PHONE,
        attachments=(
            FileData("截图.png", "image/png", PNG),
            FileData("伪装.png", "image/png", b"MZ\x90\x00"),
        ),
    )
    with pytest.raises(ValidationFailed) as refused:
        complaints.create_complaint(data)
    assert refused.value.fields == {"attachments": "“伪装.png”：文件内容与类型不符"}
    assert stored_rows() == before


def test_display_names_and_content_types():
    assert uploads.display_name("C:\\Users\\客户\\收据.jpg") == "收据.jpg"
    assert uploads.display_name("\u202egpj.exe") == "_gpj.exe"  # (read as "exe.jpg" otherwise)
    assert uploads.display_name("a\x00b\r\n.pdf") == "a_b__.pdf"
    assert uploads.display_name(".htaccess") == "htaccess"
    long = uploads.display_name("长" * 300 + ".pdf")
    assert len(long) == 200 and long.endswith("长.pdf")
    assert uploads.sniff(JPEG) == "image/jpeg" and uploads.sniff(PNG) == "image/png"
    assert uploads.sniff(PDF) == "application/pdf" and uploads.sniff(b"MZ") is None
