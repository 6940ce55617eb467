"""The files a complaint keeps: which a complaint may take from each kind of intake, and the row
each becomes. The sizes and the checks of a file's content are ``app.security.uploads``'s, the
same for every channel; this module adds how many and which kinds.

Files live in the database (``complaint_attachment``): they commit or roll back with the
complaint, follow it into backups and to every app server, and need no shared disk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from app.models.complaint import ComplaintAttachment
from app.security import uploads
from app.security.uploads import FileData


@dataclass(frozen=True)
class FileRules:
    """Which files a complaint may keep: their kinds, and how many at most (None: any number
    within the sizes)."""

    types: frozenset[str]
    max_files: int | None


# Files uploaded by a person or a system (the customers' form, staff entering a complaint or
# adding evidence to a case, the API): a few photos, scans or PDFs, their type read from their
# content.
UPLOAD_TYPES = frozenset({"image/jpeg", "image/png", "application/pdf"})
MAX_UPLOADS = 3
UPLOADED = FileRules(UPLOAD_TYPES, MAX_UPLOADS)
# The complaint mailbox keeps what customers attach (also Word, Excel, text, GIF).
MAILED = FileRules(uploads.ATTACHMENT_TYPES, None)


def uploaded_file(filename: str | None, data: bytes, claimed: str | None = None) -> FileData:
    """A file someone uploaded. Its type is what its content shows (JPEG, PNG, PDF, GIF), never
    the name or the browser's word for it; a type the sender states (``claimed``, the API's
    ``content_type``) is kept as a claim that the checks hold against the content.
    Unrecognised content with no claim claims no type."""
    claimed = (claimed or "").split(";")[0].strip().lower()
    return FileData(
        filename or "", claimed or uploads.sniff(data) or "application/octet-stream", data
    )


def attachment_problems(
    files: Sequence[FileData], *, rules: FileRules = UPLOADED, kept: Sequence[int] = ()
) -> list[str]:
    """Why a complaint may not keep these files besides those it has (``kept``: their sizes),
    one Chinese sentence per problem (none when it may): how many, the size of each and of
    all together, the kind (checked against the content)."""
    most = rules.max_files
    if most is not None and len(kept) + len(files) > most:
        if kept:
            return [
                f"每件投诉最多 {most} 个附件，本投诉已有 {len(kept)} 个"
                + (f"，最多还能添加 {most - len(kept)} 个" if len(kept) < most else "")
            ]
        return [f"最多上传 {most} 个附件，您选择了 {len(files)} 个"]
    problems, stored = [], sum(kept)
    for item in files:
        reason = uploads.attachment_refusal(
            item.content_type, item.data, allowed=rules.types, stored=stored
        )
        if reason:
            problems.append(f"“{uploads.display_name(item.filename)}”：{reason}")
        else:
            stored += len(item.data)
    return problems


def attachment_row(complaint_id: int, item: FileData) -> ComplaintAttachment:
    """The row a checked file becomes (not added to the session)."""
    return ComplaintAttachment(
        complaint_id=complaint_id,
        # Display text only: a client's "../../x" never reaches a path (files live in the DB).
        filename=uploads.display_name(item.filename),
        content_type=item.content_type[:100],
        size=len(item.data),
        sha256=hashlib.sha256(item.data).hexdigest(),
        data=item.data,
    )
