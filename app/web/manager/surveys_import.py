"""Customer import page (CSV/XLSX) for survey audiences."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user
from flask_wtf.file import FileField

from app.models import Branch, Role
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
        "manager/surveys/import.html",
        form=form,
        report=report,
        bad_rows=bad_rows,
        branch_groups=_branch_groups(imports.usable_branches(current_user)),
    )
    return page, status


def _branch_groups(branches: list[Branch]) -> list[list[tuple[Branch, int]]]:
    """The usable branches (in tree order) as columns: the top of the scope on its own, then
    each unit below it with its sub-branches; each branch with its indent inside its column."""
    top = min((b.depth for b in branches), default=0)
    groups: list[list[tuple[Branch, int]]] = []
    for branch in branches:
        if branch.depth <= top + 1:
            groups.append([])
        groups[-1].append((branch, max(branch.depth - top - 1, 0)))
    return groups
