"""Attachments through POST /api/v1/complaints: Base64 files under the forms' limits, stored with
the complaint in one transaction or not at all (422), never twice on a retry, listed by metadata
on the case; a body of 10 MB of files is read, a larger one is a JSON 413."""

from __future__ import annotations

import base64
import io
import json

from app.extensions import db
from app.models import Complaint
from app.security import uploads
from app.services import complaints
from tests import factories
from tests.uploads import MB, PDF, PNG, stored_rows

BODY = {
    "channel": "app",
    "content": "手机银行转账显示成功但对方一直没有到账，附上转账截图和回单。",
    "customer": {"external_id": "C00000003", "name": "王芳", "phone": "13912345678"},
    "branch_code": "HZ01",
    "external_ref": "APP-FILES-0001",
}


def _file(name: str, data: bytes, content_type: str | None = None) -> dict:
    item = {"filename": name, "content_base64": base64.b64encode(data).decode()}
    return item | ({"content_type": content_type} if content_type else {})


def _headers(scopes: str = "complaints:write,complaints:read") -> dict[str, str]:
    _, secret = factories.api_token(scopes)
    return {"Authorization": f"Bearer {secret}"}


def test_files_are_stored_and_listed_by_their_metadata_only(client):
    headers = _headers()
    body = {
        **BODY,
        "attachments": [_file("截图.png", PNG), _file("回单.pdf", PDF, "application/pdf")],
    }
    created = client.post("/api/v1/complaints", json=body, headers=headers)
    assert created.status_code == 201, created.get_json()
    listed = created.get_json()["attachments"]
    assert [(a["filename"], a["content_type"], a["size"]) for a in listed] == [
        ("截图.png", "image/png", len(PNG)),
        ("回单.pdf", "application/pdf", len(PDF)),
    ]
    assert all(set(a) == {"id", "filename", "content_type", "size"} for a in listed)
    case = db.session.get(Complaint, created.get_json()["id"])
    assert [f.data for f in complaints.attachments(case)] == [PNG, PDF]
    read = client.get(f"/api/v1/complaints/{case.id}", headers=headers)
    assert read.get_json() == created.get_json()  # (the answer to the POST is what a read shows)
    assert base64.b64encode(PNG).decode()[:40] not in read.get_data(as_text=True)


def test_a_retry_returns_the_first_complaint_without_storing_the_files_again(client):
    headers = _headers()
    body = {**BODY, "attachments": [_file("截图.png", PNG)]}
    first = client.post("/api/v1/complaints", json=body, headers=headers)
    before = stored_rows()
    again = client.post("/api/v1/complaints", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["attachments"] == first.get_json()["attachments"]
    assert stored_rows() == before


def _refused(client, headers, attachments, *, field: str, message: str) -> dict:
    before = stored_rows()
    body = {**BODY, "external_ref": "APP-FILES-BAD", "attachments": attachments}
    reply = client.post("/api/v1/complaints", json=body, headers=headers)
    assert reply.status_code == 422, reply.get_data(as_text=True)[:500]
    assert reply.mimetype == "application/json"
    error = reply.get_json()["error"]
    assert error["code"] == "validation_failed" and message in error["fields"][field]
    assert stored_rows() == before  # no complaint, customer or file half-written
    return error


def test_bad_files_are_a_422_and_store_nothing(client):
    headers = _headers()
    good = _file("截图.png", PNG)
    _refused(
        client,
        headers,
        [good, {"filename": "b.png", "content_base64": "iVBORw0KGgo"}],  # (padding missing)
        field="attachments.1.content_base64",
        message="不是有效的 Base64 编码",
    )
    _refused(
        client,
        headers,
        [{"filename": "b.png", "content_base64": "iVBO Rw0K\nGgo="}],
        field="attachments.0.content_base64",
        message="格式不正确",
    )
    program = _refused(
        client,
        headers,
        [good, _file("发票.pdf", b"MZ\x90\x00 a program")],
        field="attachments",
        message="“发票.pdf”：文件类型不支持，仅支持 JPG、PNG、PDF 文件",
    )
    assert program["message"] == program["fields"]["attachments"]
    _refused(
        client,
        headers,
        [_file("截图.jpg", PNG, "image/jpeg")],
        field="attachments",
        message="“截图.jpg”：文件内容与类型不符",
    )
    _refused(
        client,
        headers,
        [_file("说明.docx", b"PK\x03\x04 a zip", "application/vnd.ms-word")],
        field="attachments",
        message="不能上传压缩包",
    )
    _refused(client, headers, [good] * 4, field="attachments", message="项数过多")
    _refused(
        client,
        headers,
        [_file("大图.png", PNG + b"\0" * (5 * MB))],
        field="attachments",
        message="“大图.png”：文件过大，每个附件不能超过 5 MB",
    )
    # (10 MB and 50 KB together: a body within the limit, files over theirs)
    five, almost, small = (PNG + b"\0" * (n - len(PNG)) for n in (5 * MB, 5 * MB - 50_000, 100_000))
    _refused(
        client,
        headers,
        [_file("1.png", five), _file("2.png", almost), _file("3.png", small)],
        field="attachments",
        message="“3.png”：附件合计不能超过 10 MB",
    )


def test_ten_mb_of_files_are_read_and_a_larger_body_gets_a_json_413(app, client):
    headers = _headers()
    five = PNG + b"\0" * (5 * MB - len(PNG))
    full = {**BODY, "attachments": [_file("1.png", five), _file("2.png", five)]}
    raw = json.dumps(full).encode()
    assert len(raw) > 13 * MB  # (Base64: 4 bytes for every 3)
    stored = client.post(
        "/api/v1/complaints", data=raw, content_type="application/json", headers=headers
    )
    assert stored.status_code == 201, stored.get_data(as_text=True)[:500]
    assert sum(a["size"] for a in stored.get_json()["attachments"]) == uploads.ATTACHMENT_MAX_TOTAL

    before = stored_rows()
    limit = app.config["API_MAX_JSON_BYTES"] + uploads.base64_size(10 * MB) + 12
    padded = {**full, "external_ref": "APP-FILES-BIG", "demand": ""}
    over = json.dumps(padded).encode()
    over = over[:-1] + b" " * (limit + 1 - len(over)) + b"}"  # (whitespace JSON allows)
    assert len(over) == limit + 1
    reply = client.post(
        "/api/v1/complaints", data=over, content_type="application/json", headers=headers
    )
    assert reply.status_code == 413 and reply.mimetype == "application/json"
    assert reply.get_json()["error"]["code"] == "payload_too_large"
    # sent in chunks (no Content-Length): read up to the same limit, then the same JSON 413
    chunked = client.post(
        "/api/v1/complaints",
        input_stream=io.BytesIO(over),
        content_type="application/json",
        headers=headers,
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert chunked.status_code == 413 and chunked.get_json()["error"]["code"] == "payload_too_large"
    assert stored_rows() == before
    # every other endpoint keeps the JSON limit
    big_event = client.post(
        "/api/v1/events",
        data=b'{"type": "x"' + b" " * (app.config["API_MAX_JSON_BYTES"] + 1) + b"}",
        content_type="application/json",
        headers=_headers("events:write"),
    )
    assert big_event.status_code == 413 and big_event.mimetype == "application/json"
    # (the limit as people read it: 256 KB was "上限 0.2 MB")
    assert app.config["API_MAX_JSON_BYTES"] == 256 * 1024
    assert big_event.get_json()["error"]["message"] == "请求内容过大（上限 256 KB）"


def test_the_openapi_document_describes_the_files(client):
    doc = client.get("/api/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    files_in = schemas["ComplaintIn"]["properties"]["attachments"]
    assert files_in["anyOf"][0]["maxItems"] == 3
    assert "5 MB each and 10 MB together" in files_in["description"]
    assert schemas["AttachmentIn"]["required"] == ["filename", "content_base64"]
    assert set(schemas["AttachmentOut"]["properties"]) == {"id", "filename", "content_type", "size"}
    post = doc["paths"]["/api/v1/complaints"]["post"]
    assert "413" in post["responses"] and "请求体不超过" in post["description"]
