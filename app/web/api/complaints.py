"""Complaint endpoints of /api/v1: intake from the app, WeChat and other systems; status reads."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import date, datetime
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, Field, field_validator

import nlp
from app.models import row_id
from app.models.complaint import Complaint, ComplaintAttachment, ComplaintEvent, first_decision
from app.security import uploads
from app.services import complaint_clock as clock
from app.services import complaint_decisions as decisions
from app.services import complaints
from app.services.complaint_files import MAX_UPLOADS, UPLOAD_TYPES, uploaded_file
from app.services.complaints import IntakeData
from app.services.errors import NotFound
from app.services.tx import keep_loaded
from app.web.api.registry import Moment, endpoint
from app.web.api.schemas import (
    Email,
    ErrorBody,
    NoNul,
    Phone,
    Strict,
    customer_fields,
    known_customer_name,
)

ERRORS = {401: ErrorBody, 403: ErrorBody}
ChannelName = Literal["web", "hotline", "branch", "email", "app", "wechat", "regulator", "survey"]


class ComplainantIn(Strict):
    external_id: str | None = Field(default=None, max_length=64, pattern=NoNul)
    name: str | None = known_customer_name()
    phone: str | None = Field(default=None, max_length=30, pattern=Phone)
    email: str | None = Field(default=None, max_length=254, pattern=Email)


FILE_LIMITS = (
    f"at most {MAX_UPLOADS} files ({', '.join(sorted(UPLOAD_TYPES))}, the type read from the "
    f"content), {uploads.mb(uploads.ATTACHMENT_MAX_BYTES)} each and "
    f"{uploads.mb(uploads.ATTACHMENT_MAX_TOTAL)} together"
)


class AttachmentIn(Strict):
    filename: str = Field(
        min_length=1,
        max_length=255,
        pattern=NoNul,
        description="display text only (kept without path, control or direction characters)",
    )
    content_type: str | None = Field(
        default=None,
        max_length=100,
        pattern=NoNul,
        description="optional; when given, the content must be of this type",
    )
    content_base64: str = Field(
        min_length=1,
        pattern=r"^[A-Za-z0-9+/]*={0,2}$",
        description="the file, standard Base64 (RFC 4648) without line breaks",
        json_schema_extra={"contentEncoding": "base64"},
    )

    @field_validator("content_base64")
    @classmethod
    def check_base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as err:
            raise ValueError("不是有效的 Base64 编码（RFC 4648，不含换行）") from err
        return value

    @cached_property
    def data(self) -> bytes:
        return base64.b64decode(self.content_base64, validate=True)


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int = Field(description="bytes")


class ComplaintIn(Strict):
    channel: ChannelName
    content: str = Field(min_length=1, max_length=5000, pattern=NoNul)
    customer: ComplainantIn
    branch_code: str | None = Field(default=None, max_length=32, pattern=NoNul)
    product_code: str | None = Field(default=None, max_length=32, pattern=NoNul)
    received_at: Moment | None = None
    external_ref: str | None = Field(default=None, max_length=100, pattern=NoNul)
    demand: str | None = Field(default=None, max_length=2000, pattern=NoNul)
    regulator_ref: str | None = Field(default=None, max_length=100, pattern=NoNul)
    regulator_received_on: date | None = None
    group_size: int | None = Field(default=None, ge=1, le=100000)
    attachments: list[AttachmentIn] | None = Field(
        default=None, max_length=MAX_UPLOADS, description=FILE_LIMITS
    )


class HistoryItem(BaseModel):
    at: datetime
    kind: str
    from_status: str | None
    to_status: str | None
    actor: str
    text: str | None


class PauseOut(BaseModel):
    start: date = Field(description="the first day not counted")
    end: date | None = Field(description="the day counting resumed; null while paused")


class DecisionOut(BaseModel):
    verified: str | None = Field(description="what was verified (personal data masked)")
    basis: str | None = Field(description="the basis and reasons (personal data masked)")
    text: str | None = Field(description="the decision (personal data masked)")
    remedies: list[str] = Field(
        description="remedies the customer was told of: review, mediation, arbitration, litigation"
    )


class ComplaintOut(BaseModel):
    id: int
    reference: str
    status: str
    status_label: str = Field(description="the status in Chinese, as staff pages show it")
    channel: str
    external_ref: str | None
    content: str = Field(description="the complaint text, personal data masked")
    demand: str | None = Field(description="what the customer asks for, personal data masked")
    received_at: datetime
    due_at: datetime | None = Field(
        description="end of the last day, Asia/Shanghai; null while paused"
    )
    days_left: int | None
    branch_code: str | None
    product_code: str | None
    customer_external_id: str | None
    code_channel: str | None
    code_business: str | None
    code_cause: str | None
    priority: str
    is_major: bool
    decided_at: datetime | None = Field(
        description="the latest decision: a review's (核查) once it is decided"
    )
    first_decided_at: datetime | None = Field(
        description="the first decision, what the figures count (days to decision, decided in "
        "time); the same as decided_at unless a review has decided since"
    )
    decision_notified_at: datetime | None = Field(
        description="when the decision was proven to reach the customer (call answered, letter "
        "posted or handed over, message accepted by its gateway); until then the deadline runs"
    )
    closed_at: datetime | None
    regulator_ref: str | None = Field(description="the regulator's reference of a forwarded case")
    regulator_received_on: date | None
    group_size: int | None
    major_reason: str | None
    identity_check: str | None = Field(
        description="how the complainant's identity was checked (Art. 22): caller_number, "
        "callback, id_document, online_login, mandate or kinship; null until recorded (no "
        "decision is made before)"
    )
    extension_level: int = Field(description="0: 15 days; 1: extended to 30; 2: to 60 (approved)")
    period_days: int = Field(
        description="the period that applies: 15, 30 or 60 days from receipt; 30 from "
        "review_requested_on once a review (核查) is requested (due_at follows it)"
    )
    pauses: list[PauseOut] = Field(description="outside appraisal or mediation: days not counted")
    review_requested_on: date | None = Field(description="the day a review (核查) was requested")
    merged_into: str | None = Field(description="the reference of the case this repeat joined")
    decision: DecisionOut | None = Field(description="the latest decision (a review's once made)")
    original_decision: DecisionOut | None = Field(
        description="the first decision (原处理决定) once a review (核查) has decided, as it was "
        "made (`decision` is then the review's); null until then. For a case reviewed before "
        "decisions were kept in full, `verified`, `basis` are null and `remedies` empty",
    )
    attachments: list[AttachmentOut] = Field(description="the files' metadata, never the content")
    history: list[HistoryItem]


def _masked(text: str | None) -> str | None:
    """Free text with phone, ID and card numbers and e-mail addresses masked (what staff pages
    show until an audited reveal)."""
    return nlp.redact(text).text if text else text


def _local(value: datetime | None) -> datetime | None:
    return value.astimezone(clock.TZ) if value else None


def complaint_out(
    complaint: Complaint,
    history: Sequence[ComplaintEvent] | None = None,
    files: Sequence[ComplaintAttachment] | None = None,
) -> ComplaintOut:
    """The API's view of a case; ``history``, ``files``: its entries and files when the caller
    has them all."""
    from app.models import utcnow

    running = complaint.deadline_running
    events = complaints.history(complaint) if history is None else history
    original = decisions.original_if_reviewed(events)
    return ComplaintOut(
        id=complaint.id,
        reference=complaint.reference,
        status=complaint.status,
        status_label=complaint.status_label,
        channel=complaint.channel,
        external_ref=complaint.external_ref,
        content=_masked(complaint.content),
        demand=_masked(complaint.demand),
        received_at=_local(complaint.received_at),
        due_at=_local(complaint.due_at),
        days_left=clock.days_left(complaint.due_at, utcnow()) if running else None,
        branch_code=complaint.branch.code if complaint.branch else None,
        product_code=complaint.product.code if complaint.product else None,
        customer_external_id=complaint.customer.external_id if complaint.customer else None,
        code_channel=complaint.code_channel,
        code_business=complaint.code_business,
        code_cause=complaint.code_cause,
        priority=complaint.priority,
        is_major=complaint.is_major,
        decided_at=_local(complaint.decided_at),
        first_decided_at=_local(first_decision(complaint).decided),
        decision_notified_at=_local(complaint.decision_notified_at),
        closed_at=_local(complaint.closed_at),
        regulator_ref=complaint.regulator_ref,
        regulator_received_on=complaint.regulator_received_on,
        group_size=complaint.group_size,
        major_reason=complaint.major_reason,
        identity_check=complaint.identity_check,
        extension_level=complaint.extension_level,
        period_days=clock.REVIEW_DAYS
        if complaint.review_requested_on is not None
        else clock.PERIOD_DAYS[complaint.extension_level],
        pauses=[PauseOut(start=start, end=end) for start, end in complaint.pauses or []],
        review_requested_on=complaint.review_requested_on,
        merged_into=complaints.reference_of(complaint.merged_into_id),
        decision=None
        if complaint.decision_text is None
        else DecisionOut(
            verified=_masked(complaint.decision_verified),
            basis=_masked(complaint.decision_basis),
            text=_masked(complaint.decision_text),
            remedies=list(complaint.remedies or []),
        ),
        original_decision=None
        if original is None
        else DecisionOut(
            verified=_masked(original.verified),
            basis=_masked(original.basis),
            text=_masked(original.text),
            remedies=list(original.remedies),
        ),
        attachments=[
            AttachmentOut(id=f.id, filename=f.filename, content_type=f.content_type, size=f.size)
            for f in (complaints.attachments(complaint) if files is None else files)
        ],
        history=[
            HistoryItem(
                at=_local(e.at),
                kind=e.kind,
                from_status=e.from_status,
                to_status=e.to_status,
                actor=e.actor_name,
                text=None if e.kind == "note" else _masked(e.text),
            )
            for e in events
        ],
    )


@endpoint(
    "/v1/complaints",
    "POST",
    summary="登记投诉（同一渠道 + external_ref 重复提交返回首次登记的投诉）",
    scope="complaints:write",
    body=ComplaintIn,
    responses={200: ComplaintOut, 201: ComplaintOut, 409: ErrorBody, 422: ErrorBody, **ERRORS},
    tags=["complaints"],
    # the files' Base64 (4 characters for every 3 bytes, each file padded) beyond the JSON
    body_allowance=uploads.base64_size(uploads.ATTACHMENT_MAX_TOTAL) + 4 * MAX_UPLOADS,
)
def create_complaint(body: ComplaintIn):
    """Register a complaint; a retry with the same channel and external_ref returns the first
    (and stores none of the retry's attachments again). The same key with another customer
    (customer number, else phone, else name) is a 409 and nothing is stored. A `regulator`
    case sent without external_ref is keyed by its regulator_ref the same way.

    `attachments`: files in standard Base64 under the limits the field states (a
    `content_type` given must match the content). A file refused, or Base64 that does not
    decode, is a 422 and nothing is stored; a larger body than stated below is a 413."""
    data = IntakeData(
        channel=body.channel,
        content=body.content,
        name=body.customer.name or "",
        external_id=body.customer.external_id,
        phone=body.customer.phone,
        email=body.customer.email,
        branch_code=body.branch_code,
        product_code=body.product_code,
        received_at=body.received_at,
        external_ref=body.external_ref,
        demand=body.demand,
        regulator_ref=body.regulator_ref,
        regulator_received_on=body.regulator_received_on,
        group_size=body.group_size,
        attachments=tuple(
            uploaded_file(item.filename, item.data, item.content_type)
            for item in body.attachments or ()
        ),
    )
    with keep_loaded(), customer_fields(body.customer):
        done = complaints.register(data)
    return (
        complaint_out(done.complaint, done.history, done.attachments),
        201 if done.created else 200,
    )


@endpoint(
    "/v1/complaints/<complaint_id>",
    "GET",
    summary="查询投诉及其处理记录",
    scope="complaints:read",
    responses={200: ComplaintOut, 404: ErrorBody, **ERRORS},
    tags=["complaints"],
)
def get_complaint(complaint_id: str):
    """One complaint with its status history (internal notes are left out)."""
    found = row_id(complaint_id)
    if found is None:
        raise NotFound("投诉不存在")
    return complaint_out(complaints.get_complaint(found))
