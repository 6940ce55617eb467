"""The spreadsheet upload of the import pages (customers, the branch tree, products): one file,
CSV (UTF-8 or GBK) or XLSX, read at most one byte past the size limit and handed to an import
use case; every bad line it reports comes back for the page to list."""

from __future__ import annotations

from collections.abc import Callable

from flask import request
from flask_login import current_user
from flask_wtf.file import FileField

from app.security import uploads
from app.services.errors import ServiceError, ValidationFailed
from app.services.imports import ImportRejected, ImportReport
from app.web.forms import BaseForm

# Under MAX_CONTENT_LENGTH (10 MB), so a file just too large gets the page's own message; only
# a larger body gets the 413 page.
MAX_BYTES = 8 * 1024 * 1024
ACCEPT = ".csv,.xlsx"

Load = Callable[..., ImportReport]  # load(filename, data, *, actor) -> report


class UploadForm(BaseForm):
    """The upload form; each page names its file in the label."""

    file = FileField("文件（.csv 或 .xlsx）")


def run_import(form: UploadForm, load: Load) -> tuple[ImportReport | None, list[tuple[int, str]]]:
    """``load(name, data, actor=current_user)`` on the file of ``form`` once it is submitted and
    valid: its report, or None with the refusal attached to the form and the file's bad lines
    (line number, problem), nothing stored."""
    if not form.validate_on_submit():
        return None, []
    upload = request.files.get("file")
    data = upload.read(MAX_BYTES + 1) if upload else b""
    try:
        if not upload or not upload.filename:
            raise ValidationFailed("请选择要上传的文件", field="file")
        if len(data) > MAX_BYTES:
            raise ValidationFailed(f"文件不能超过 {uploads.mb(MAX_BYTES)}", field="file")
        return load(uploads.display_name(upload.filename), data, actor=current_user), []
    except ImportRejected as err:
        form.attach(err)
        return None, err.report.errors
    except ServiceError as err:
        form.attach(err)
        return None, []


def failed(form: UploadForm) -> bool:
    """Whether the submitted upload was refused (the page answers 400)."""
    return bool(form.errors or form.form_errors)
