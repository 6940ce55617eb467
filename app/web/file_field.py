"""The file field of the complaint forms (the customers' form, staff entry, 补充附件 on a case):
the service's limits (``complaint_files``), checked with the form's other fields, and written on
the input for the browser's own check (static/js/complaint_form.js)."""

from __future__ import annotations

from collections.abc import Sequence

from flask import render_template
from flask_wtf.file import MultipleFileField
from wtforms.validators import ValidationError

from app.security import uploads
from app.security.uploads import FileData
from app.services.complaint_files import (
    MAX_UPLOADS,
    UPLOAD_TYPES,
    attachment_problems,
    uploaded_file,
)

# A form's request may carry its largest allowed files plus the text: a file over a limit is
# then refused with the form's own message (the text kept), and only a larger body gets 413.
FORM_MAX_BYTES = MAX_UPLOADS * uploads.ATTACHMENT_MAX_BYTES + 1024 * 1024
KINDS = uploads.kinds(UPLOAD_TYPES)
EACH = uploads.mb(uploads.ATTACHMENT_MAX_BYTES)
TOTAL = uploads.mb(uploads.ATTACHMENT_MAX_TOTAL)
LIMITS = f"最多 {MAX_UPLOADS} 个，每个不超过 {EACH}、合计不超过 {TOTAL}"


def attachment_field(label: str, hint: str) -> MultipleFileField:
    """A file input for up to ``MAX_UPLOADS`` files, its limits on it for the browser."""
    return MultipleFileField(
        label,
        description=hint,
        render_kw={
            "accept": ",".join([*sorted(UPLOAD_TYPES), ".jpg", ".jpeg", ".png", ".pdf"]),
            "data-max-files": MAX_UPLOADS,
            "data-max-bytes": uploads.ATTACHMENT_MAX_BYTES,
            "data-max-total": uploads.ATTACHMENT_MAX_TOTAL,
            "data-kinds": KINDS,
        },
    )


class WithFiles:
    """For a form with an ``attachments`` field (``attachment_field``): the files chosen, and
    their check as the form's validation of that field. ``kept``: the sizes of the files the
    case already has (adding to a case), counted in the limits; ``files_required``: a form
    that is only its files."""

    kept: Sequence[int] = ()
    files_required = False
    _files: tuple[FileData, ...] | None = None

    @property
    def files(self) -> tuple[FileData, ...]:
        """The files chosen (an empty file input sends one part without a name), each read at
        most one byte past the size limit: enough to refuse it, never a whole large body."""
        if self._files is None:
            chosen = [f for f in self.attachments.data or () if getattr(f, "filename", "")]
            self._files = tuple(
                uploaded_file(f.filename, f.stream.read(uploads.ATTACHMENT_MAX_BYTES + 1))
                for f in chosen
            )
        return self._files

    @property
    def file_names(self) -> str:
        return "、".join(uploads.display_name(f.filename) for f in self.files)

    def validate_attachments(self, field) -> None:
        if self.files_required and not self.files:
            raise ValidationError("请选择要上传的附件")
        problems = attachment_problems(self.files, kept=self.kept)
        if problems:
            field.errors = [*field.errors, *problems[:-1]]
            raise ValidationError(problems[-1])


def too_large_page(
    title: str, text: str, *, back_url: str, back_label: str = "", customer: bool = False
):
    """The 413 page of a form whose request was larger than ``FORM_MAX_BYTES``."""
    page = render_template(
        "errors/error.html",
        status=413,
        title=title,
        text=text,
        customer=customer,
        back_url=back_url,
        back_label=back_label,
    )
    return page, 413
