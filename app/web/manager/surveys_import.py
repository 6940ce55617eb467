"""Customer import page (CSV/XLSX) for survey audiences."""

from __future__ import annotations

import io

from flask import render_template, send_file
from flask_login import current_user
from flask_wtf.file import FileField

from app.models import Branch, Role
from app.services import imports
from app.web import table_upload
from app.web.access import roles_required
from app.web.manager import bp


class ImportForm(table_upload.UploadForm):
    file = FileField("客户文件（.csv 或 .xlsx）")


@bp.route("/customer-import", methods=["GET", "POST"])
@roles_required(Role.HQ_MANAGER)
def customer_import():
    form = ImportForm()
    report, bad_rows = table_upload.run_import(form, imports.import_customers)
    page = render_template(
        "manager/surveys/import.html",
        form=form,
        report=report,
        bad_rows=bad_rows,
        branch_groups=_branch_groups(imports.usable_branches(current_user)),
    )
    return page, 400 if table_upload.failed(form) else 200


@bp.get("/customer-import/template.csv")
@roles_required(Role.HQ_MANAGER)
def customer_import_template():
    """The import file to fill in: the header and one example row."""
    body = io.BytesIO(imports.customer_template(current_user))
    return send_file(
        body, mimetype="text/csv", as_attachment=True, download_name="客户导入模板.csv"
    )


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
