"""Files added to a case after intake: evidence the customer brings later (a receipt, a letter),
under the limits every complaint's files have, counting those the case already keeps."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from app.extensions import db
from app.models import User, utcnow
from app.models.complaint import ComplaintAttachment
from app.security import uploads
from app.services import audit
from app.services.complaint_files import FileData, attachment_problems, attachment_row
from app.services.complaint_handling import guarded, load
from app.services.complaints import record_event
from app.services.errors import Conflict, ValidationFailed
from app.services.tx import transactional


def kept_sizes(complaint_id: int) -> list[int]:
    """The sizes of the files a case keeps (their content is not read)."""
    stmt = select(ComplaintAttachment.size).where(ComplaintAttachment.complaint_id == complaint_id)
    return list(db.session.scalars(stmt))


@transactional
@guarded
def add_attachments(
    complaint_id: int, files: Sequence[FileData], *, actor: User
) -> list[ComplaintAttachment]:
    """Keep ``files`` with an open case (the case page's 补充附件): checked like the intake's
    files together with those the case has, written to its history and to the audit log.

    Raises Conflict for a closed, declined or withdrawn case (also one closed while the page was
    open, or files added by someone else at the same moment) and ValidationFailed (field
    ``attachments``) for files it may not keep; then nothing is stored."""
    complaint = load(complaint_id, None)
    if not complaint.is_open:
        raise Conflict(f"该投诉{complaint.status_label}，不能再补充附件", field="attachments")
    if not files:
        raise ValidationFailed("请选择要上传的附件", field="attachments")
    problems = attachment_problems(files, kept=kept_sizes(complaint.id))
    if problems:
        raise ValidationFailed("；".join(problems), field="attachments")
    rows = [attachment_row(complaint.id, item) for item in files]
    db.session.add_all(rows)
    # (a new version: someone adding files at the same moment gets Conflict, so the limits
    # hold for the two together)
    complaint.updated_at = utcnow()
    db.session.flush()
    record_event(
        complaint,
        actor,
        "attachment",
        "补充附件：" + "、".join(f"{r.filename}（{uploads.size_text(r.size)}）" for r in rows),
        detail={"attachment_ids": [r.id for r in rows]},
    )
    audit.record(
        "complaint.attachment_upload",
        actor=actor,
        object_type="complaint",
        object_id=complaint.id,
        detail={
            "reference": complaint.reference,
            "attachments": [
                {"id": r.id, "filename": r.filename, "size": r.size, "sha256": r.sha256}
                for r in rows
            ],
        },
    )
    return rows
