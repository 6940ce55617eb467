"""Files from the counter and the hotline: staff entry takes a customer's letter or receipt under
the customers' form's limits, refusing a file with a Chinese message that keeps what was typed;
the case page lists the files and takes evidence brought later (open cases only, counting the
files the case has), written to the history and the audit log."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Complaint
from app.models.complaint import ComplaintEvent
from app.security.uploads import FileData
from app.services import complaint_handling, complaints
from app.services.complaint_evidence import add_attachments
from app.services.complaints import IntakeData
from app.services.errors import Conflict, ValidationFailed
from tests import factories
from tests.support import csrf_token
from tests.uploads import JPEG, LARGE_UPLOADS, MB, PDF, PNG, stored_rows

pytestmark = LARGE_UPLOADS

NAME, PHONE = "陈国华", "13812345670"
CONTENT = "客户到柜台反映：上月信用卡被重复收取年费两次，已提交手写投诉信，要求退还多收费用。"
DEMAND = "退还多收的年费"


def _enter(client, files, **extra):
    page = client.get("/staff/complaints/new").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "channel": "branch",
        "name": NAME,
        "phone": PHONE,
        "branch_code": "HZ01",
        "product_code": "",
        "major_reason": "",
        "content": CONTENT,
        "demand": DEMAND,
        "attachments": [(io.BytesIO(body), name) for name, body in files],
        **extra,
    }
    return client.post("/staff/complaints/new", data=data, content_type="multipart/form-data")


def _case(reply) -> Complaint:
    assert reply.status_code == 302, reply.get_data(as_text=True)[-800:]
    return db.session.get(Complaint, int(reply.headers["Location"].rsplit("/", 1)[1]))


def test_without_a_phone_or_e_mail_the_clerk_is_told_no_receipt_went_out(client, auth):
    """The confirmation said 受理回执已发送 while the history said none could be sent."""
    auth.login("agent")
    case = _case(_enter(client, [], phone=""))
    page = client.get(f"/staff/complaints/{case.id}").get_data(as_text=True)
    assert "受理回执已发送" not in page
    told = f"已登记投诉 {case.reference}。投诉人未留手机号码或电子邮箱，未能自动发送受理回执"
    assert told in page
    assert "无可用的联系方式，未能自动发送受理回执" in page  # (the history says the same)
    assert "cp-ev-notice cp-ev-failed" in page and "未送达" in page  # (not a green 告知)


def test_a_clerk_enters_a_complaint_with_the_scanned_letter_and_receipt(client, auth):
    auth.login("agent")
    case = _case(_enter(client, [("手写投诉信.pdf", PDF), ("收据.jpg", JPEG)]))
    files = complaints.attachments(case)
    assert [(f.filename, f.content_type, f.size) for f in files] == [
        ("手写投诉信.pdf", "application/pdf", len(PDF)),
        ("收据.jpg", "image/jpeg", len(JPEG)),
    ]
    page = client.get(f"/staff/complaints/{case.id}").get_data(as_text=True)
    # (what became of the receipt, and to whom: it said 已发送 whatever happened)
    assert f"已登记投诉 {case.reference}（附件 2 个）。受理回执已通过短信发送至 1" in page
    assert "未送达" not in page and "cp-ev-failed" not in page
    assert "附件 <span" in page and "（2 个，下载记入审计日志）" in page
    assert "手写投诉信.pdf" in page and "PDF，1 KB" in page and "JPG，2 KB" in page
    assert "补充于" not in page  # (came with the complaint)
    got = client.get(f"/staff/complaints/{case.id}/attachments/{files[1].id}")
    assert got.status_code == 200 and got.data == JPEG
    assert db.session.scalar(
        select(func.count(AuditLog.id)).where(
            AuditLog.action == "complaint.attachment_download", AuditLog.object_id == str(case.id)
        )
    )


def test_the_entry_form_offers_the_file_field_with_its_limits(client, auth):
    auth.login("agent")
    page = client.get("/staff/complaints/new").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    field = re.search(r'<input[^>]*type="file"[^>]*>', page)[0]
    assert 'data-max-files="3"' in field and f'data-max-total="{10 * MB}"' in field
    assert "最多 3 个，每个不超过 5 MB、合计不超过 10 MB，支持 JPG、PNG、PDF" in page
    assert "js/complaint_form.js" in page


def _refused(reply, before, *messages) -> str:
    """The entry form again: the messages on the file field, everything typed kept, nothing
    stored."""
    text = reply.get_data(as_text=True)
    assert reply.status_code == 400, text[-500:]
    for message in messages:
        assert message in text
    assert f'value="{NAME}"' in text and f'value="{PHONE}"' in text
    assert CONTENT in text and DEMAND in text
    assert "selected" in re.search(r'<option[^>]*value="HZ01"[^>]*>', text)[0]
    assert "selected" in re.search(r'<option[^>]*value="branch"[^>]*>', text)[0]
    assert "请重新选择符合要求的附件，再登记" in text
    assert stored_rows() == before
    return text


def test_a_refused_file_keeps_everything_typed_and_stores_nothing(client, auth):
    auth.login("agent")
    before = stored_rows()
    program = _enter(client, [("扫描件.pdf", b"MZ\x90\x00 a program")])
    _refused(program, before, "“扫描件.pdf”：文件类型不支持，仅支持 JPG、PNG、PDF 文件")
    too_many = _enter(client, [(f"{n}.png", PNG) for n in range(4)])
    _refused(too_many, before, "最多上传 3 个附件，您选择了 4 个")
    big = _enter(client, [("大图.jpg", JPEG + b"\0" * (5 * MB))])
    _refused(big, before, "“大图.jpg”：文件过大，每个附件不能超过 5 MB")


def test_another_mistake_asks_for_the_chosen_files_again_by_name(client, auth):
    auth.login("agent")
    before = stored_rows()
    reply = _enter(client, [("收据.jpg", JPEG)], name="")
    text = reply.get_data(as_text=True)
    assert reply.status_code == 400 and "请填写投诉人姓名" in text
    assert "您选择的附件（收据.jpg）尚未提交，请重新选择，再登记" in text
    assert stored_rows() == before


def test_a_request_over_the_form_limit_gets_a_413_page_in_chinese(client, auth):
    auth.login("agent")
    before = stored_rows()
    reply = _enter(client, [("录像.jpg", JPEG + b"\0" * (17 * MB))])
    text = reply.get_data(as_text=True)
    assert reply.status_code == 413 and "附件过大，未能保存" in text
    assert "合计不超过 10 MB" in text and 'href="/staff/complaints/new"' in text
    assert stored_rows() == before


def _open_case(**extra) -> Complaint:
    case, _ = complaints.create_complaint(
        IntakeData(
            channel="hotline", content=CONTENT, name=NAME, phone=PHONE, branch_code="HZ01", **extra
        )
    )
    return case


def _add(client, case, files):
    page = client.get(f"/staff/complaints/{case.id}").get_data(as_text=True)
    data = {
        "attach-csrf_token": csrf_token(page),
        "attach-version": "",
        "attach-attachments": [(io.BytesIO(body), name) for name, body in files],
    }
    return client.post(
        f"/staff/complaints/{case.id}/attach", data=data, content_type="multipart/form-data"
    )


def test_evidence_brought_later_is_added_to_the_open_case_audited_and_in_its_history(client, auth):
    case = _open_case(attachments=(FileData("来电录音摘要.pdf", "application/pdf", PDF),))
    auth.login("agent")
    page = client.get(f"/staff/complaints/{case.id}").get_data(as_text=True)
    assert "本投诉已有附件 1 个，还可添加 2 个" in page
    field = re.search(r'<input[^>]*name="attach-attachments"[^>]*>', page)[0]
    assert 'data-max-files="2"' in field and f'data-max-total="{10 * MB - len(PDF)}"' in field
    done = _add(client, case, [("补充收据.jpg", JPEG)])
    assert done.status_code == 302
    shown = client.get(f"/staff/complaints/{case.id}").get_data(as_text=True)
    assert f"{case.reference}：已补充附件" in shown
    assert "补充收据.jpg" in shown and "补充附件：补充收据.jpg（2 KB）" in shown
    names = [f.filename for f in complaints.attachments(case)]
    assert names == ["来电录音摘要.pdf", "补充收据.jpg"]
    event = db.session.scalar(
        select(ComplaintEvent).where(
            ComplaintEvent.complaint_id == case.id, ComplaintEvent.kind == "attachment"
        )
    )
    added = complaints.attachments(case)[1]
    assert event.actor_name.endswith("（agent）") and event.detail == {"attachment_ids": [added.id]}
    entry = db.session.scalar(
        select(AuditLog).where(AuditLog.action == "complaint.attachment_upload")
    )
    assert entry.actor_name == "agent" and entry.object_id == str(case.id)
    assert entry.detail["attachments"][0]["filename"] == "补充收据.jpg"
    assert entry.detail["attachments"][0]["size"] == len(JPEG)


def test_the_limits_count_the_files_the_case_already_has(client, auth):
    four = PNG + b"\0" * (4 * MB)
    case = _open_case(attachments=(FileData("1.png", "image/png", four),) * 2)
    auth.login("agent")
    before = stored_rows()
    over = _add(client, case, [("3.png", four)])  # 12 MB with the two on the case
    text = over.get_data(as_text=True)
    assert over.status_code == 400 and "“3.png”：附件合计不能超过 10 MB" in text
    assert 'id="act-attach" open' in text  # (the refused action stays open)
    many = _add(client, case, [("a.png", PNG), ("b.png", PNG)])
    assert many.status_code == 400
    assert "每件投诉最多 3 个附件，本投诉已有 2 个，最多还能添加 1 个" in many.get_data(
        as_text=True
    )
    assert stored_rows() == before
    assert _add(client, case, [("c.png", PNG)]).status_code == 302
    full = client.get(f"/staff/complaints/{case.id}").get_data(as_text=True)
    assert "本投诉已有 3 个附件，已达上限，不能再添加" in full
    assert 'name="attach-attachments"' not in full
    with pytest.raises(ValidationFailed) as refused:
        add_attachments(case.id, [FileData("d.png", "image/png", PNG)], actor=None)
    assert "本投诉已有 3 个" in refused.value.fields["attachments"]


def test_a_closed_case_takes_no_more_files(client, auth):
    case = _open_case()
    agent = factories.user(branch_code="HZ")
    complaint_handling.withdraw(case.id, actor=agent, reason="客户主动撤回")
    auth.login("agent")
    page = client.get(f"/staff/complaints/{case.id}").get_data(as_text=True)
    assert 'id="act-attach"' not in page
    before = stored_rows()
    events = db.session.scalar(
        select(func.count(ComplaintEvent.id)).where(ComplaintEvent.complaint_id == case.id)
    )
    refused = _add(client, case, [("收据.jpg", JPEG)])
    assert refused.status_code == 409
    assert "该投诉已撤回，不能再补充附件" in refused.get_data(as_text=True)
    with pytest.raises(Conflict, match="不能再补充附件"):
        add_attachments(case.id, [FileData("收据.jpg", "image/jpeg", JPEG)], actor=agent)
    assert stored_rows() == before
    assert events == db.session.scalar(
        select(func.count(ComplaintEvent.id)).where(ComplaintEvent.complaint_id == case.id)
    )
    assert not db.session.scalar(
        select(func.count(AuditLog.id)).where(AuditLog.action == "complaint.attachment_upload")
    )


def test_adding_without_a_file_or_with_a_bad_one_is_explained(client, auth):
    case = _open_case()
    auth.login("agent")
    before = stored_rows()
    empty = _add(client, case, [])
    assert empty.status_code == 400 and "请选择要上传的附件" in empty.get_data(as_text=True)
    bad = _add(client, case, [("说明.html", b"<html><script>alert(1)</script></html>")])
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "“说明.html”：文件类型不支持" in text
    assert "请重新选择符合要求的附件，再上传" in text
    assert stored_rows() == before


def test_another_branch_cannot_add_to_a_case(client, auth):
    case = _open_case()
    auth.login("agent_nj")
    page = client.get("/staff/complaints").get_data(as_text=True)
    reply = client.post(
        f"/staff/complaints/{case.id}/attach",
        data={
            "attach-csrf_token": csrf_token(page),
            "attach-attachments": (io.BytesIO(PNG), "a.png"),
        },
        content_type="multipart/form-data",
    )
    assert reply.status_code == 404
    assert complaints.attachments(case) == []


def test_an_add_over_the_form_limit_gets_the_case_pages_413(client, auth):
    case = _open_case()
    auth.login("agent")
    reply = _add(client, case, [("录像.jpg", JPEG + b"\0" * (17 * MB))])
    text = reply.get_data(as_text=True)
    assert reply.status_code == 413 and "附件过大，未能保存" in text
    assert f'href="/staff/complaints/{case.id}"' in text and "返回投诉详情" in text
    assert complaints.attachments(case) == []
