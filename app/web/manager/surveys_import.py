"""Customer import page (CSV/XLSX) for survey audiences."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user
from flask_wtf.file import FileField

from app.models import Role
from app.services import imports
from app.services.errors import ServiceError, ValidationFailed
from app.web.access import roles_required
from app.web.forms import BaseForm
from app.web.manager import bp

MAX_BYTES = 8 * 1024 * 1024


class ImportForm(BaseForm):
    file = FileField("客户文件（.csv 或 .xlsx）")


@bp.route("/customer-import", methods=["GET", "POST"])
@roles_required(Role.HQ_MANAGER)
def customer_import():
    form, report, bad_rows, status = ImportForm(), None, [], 200
    if form.validate_on_submit():
        upload = request.files.get("file")
        data = upload.read(MAX_BYTES + 1) if upload else b""
        try:
            if not upload or not upload.filename:
                raise ValidationFailed("请选择要上传的文件", field="file")
            if len(data) > MAX_BYTES:
                raise ValidationFailed("文件不能超过 8 MB", field="file")
            report = imports.import_customers(upload.filename, data, actor=current_user)
        except imports.ImportRejected as err:
            form.attach(err)
            bad_rows = err.report.errors
        except ServiceError as err:
            form.attach(err)
    if form.errors or form.form_errors:
        status = 400
    page = render_template(
        "manager/surveys/import.html", form=form, report=report, bad_rows=bad_rows
    )
    return page, status
