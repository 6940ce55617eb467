"""Administration of the branch tree (机构管理) and the product catalogue (产品管理), one item
at a time or from a file (批量导入: the command line's import, for an administrator without a
shell on the server).

Administrators only, like every page of this blueprint: the master data decides whose records
each branch manager sees. Head-office managers see the tree, read-only, on their 管理概览.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from wtforms import SelectChoice

from app.models import Branch, BranchKind, Role
from app.services import org, org_branches, org_import, org_products
from app.services.errors import ServiceError
from app.web import table_upload
from app.web.access import roles_required
from app.web.admin import bp
from app.web.admin.forms import EmptyForm
from app.web.admin.org_forms import (
    KIND_CHOICES,
    BranchEditForm,
    BranchForm,
    BranchUploadForm,
    MoveForm,
    ProductFieldsForm,
    ProductForm,
    ProductUploadForm,
)


def _submit(form, use_case: Callable[[], Any], done: Callable[[Any], tuple[str, str]]):
    """A redirect once the valid form's use case succeeded (``done(result)``: the message and
    the address), or None with its refusal attached to the form."""
    if not form.validate_on_submit():
        return None
    try:
        result = use_case()
    except ServiceError as err:
        form.attach(err)
        return None
    message, target = done(result)
    flash(message, "success")
    return redirect(target)


def _at_row(endpoint: str, anchor: str, ident: int) -> str:
    return url_for(endpoint) + f"#{anchor}-{ident}"


def _choice(b: Branch) -> SelectChoice:
    return SelectChoice(b.code, f"{b.option_label}（{b.code}）")


def _branch_form(*, submitted: bool) -> BranchForm:
    """A new unit's form; on an empty tree it opens on the head office, which has no parent."""
    parents = org.list_branches(active_only=True)
    if submitted:
        form = BranchForm()
    elif parents:
        form = BranchForm(formdata=None)
    else:
        form = BranchForm(formdata=None, kind=BranchKind.HEAD_OFFICE.value)
    blank = "（请选择）" if parents else "（无：总行没有上级机构）"
    form.parent.choices = [SelectChoice("", blank), *map(_choice, parents)]
    return form


@bp.route("/branches", methods=["GET", "POST"], endpoint="branches")
@roles_required(Role.ADMIN)
def branches_page():
    """The tree with its counts and status, the form for a new unit and the file upload."""
    form = _branch_form(submitted=request.method == "POST")
    data = org_branches.BranchData(
        code=form.code.data,
        name=form.name.data,
        kind=form.kind.data,
        parent_code=form.parent.data or None,
        city=form.city.data,
        address=form.address.data,
    )
    done = _submit(
        form,
        lambda: org_branches.create_branch(data, actor=current_user),
        lambda b: (f"已新建机构 {b.name}（{b.code}）", _at_row("admin.branches", "branch", b.id)),
    )
    return done or _list_page("branches", form, BranchUploadForm(formdata=None))


def _move_form(branch: Branch, *, submitted: bool) -> MoveForm:
    """The units ``branch`` may move under (not its own subtree, nor a lower level)."""
    form = MoveForm() if submitted else MoveForm(formdata=None, parent=branch.parent.code)
    targets = [b for b in org.list_branches() if not org_branches.move_problem(branch, b)]
    form.parent.choices = [_choice(b) for b in targets]
    return form


def _edit_form(branch: Branch, *, submitted: bool) -> BranchEditForm:
    """As submitted, or as the unit is; the head office alone is of the head-office level."""
    if submitted:
        form = BranchEditForm()
    else:
        form = BranchEditForm(formdata=None, obj=branch, kind=str(branch.kind))
    root = branch.parent_id is None
    form.kind.choices = [c for c in KIND_CHOICES if (c.value == BranchKind.HEAD_OFFICE) == root]
    return form


def _branch_page(branch: Branch, form: BranchEditForm, move: MoveForm | None):
    (row,) = org_branches.branch_tree(branch)
    return render_template(
        "admin/branch.html",
        row=row,
        branch=branch,
        form=form,
        move_form=move,
        toggle=EmptyForm(),
        blockers=org_branches.deactivation_blockers(branch) if branch.active else [],
        units=len(org_branches.subtree_ids(branch)) - 1,
    ), 400 if form.errors or (move and move.errors) else 200


def _movable(branch: Branch, *, submitted: bool = False) -> MoveForm | None:
    return _move_form(branch, submitted=submitted) if branch.parent_id else None


@bp.route("/branches/<int:branch_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def branch_edit(branch_id: int):
    """One unit: its name, level, city, address and registered customer count."""
    branch = org_branches.get_branch(branch_id)
    form = _edit_form(branch, submitted=request.method == "POST")
    done = _submit(
        form,
        lambda: org_branches.update_branch(
            branch.id,
            name=form.name.data,
            kind=form.kind.data,
            city=form.city.data,
            address=form.address.data,
            customer_count=form.customer_count.data,
            actor=current_user,
        ),
        lambda b: (f"机构 {b.code} 已保存", _at_row("admin.branches", "branch", b.id)),
    )
    return done or _branch_page(branch, form, _movable(branch))


@bp.post("/branches/<int:branch_id>/move")
@roles_required(Role.ADMIN)
def branch_move(branch_id: int):
    """The unit and its whole subtree under another parent."""
    branch = org_branches.get_branch(branch_id)
    form = _movable(branch, submitted=True)
    if form is None:  # (the head office has no move form)
        return redirect(url_for("admin.branch_edit", branch_id=branch.id))
    done = _submit(
        form,
        lambda: org_branches.move_branch(branch.id, form.parent.data, actor=current_user),
        lambda b: (
            f"已将 {b.name} 及其下级机构调整到 {b.parent.name} 之下",
            _at_row("admin.branches", "branch", b.id),
        ),
    )
    return done or _branch_page(branch, _edit_form(branch, submitted=False), form)


def _back(endpoint: str, anchor: str, ident: int, *, refused: bool = False):
    """Back to the page the button was on: the list at the row (at its top when refused, where
    the message is), or the item's own page."""
    if request.form.get("back") == "item":
        return redirect(url_for(f"admin.{anchor}_edit", **{f"{anchor}_id": ident}))
    return redirect(url_for(endpoint) if refused else _at_row(endpoint, anchor, ident))


@bp.post("/branches/<int:branch_id>/active")
@roles_required(Role.ADMIN)
def branch_active(branch_id: int):
    refused = False
    if EmptyForm().validate_on_submit():
        active = request.form.get("active") == "1"
        try:
            branch = org_branches.set_branch_active(branch_id, active, actor=current_user)
        except ServiceError as err:
            flash(err.message, "error")
            refused = True
        else:
            flash(f"机构 {branch.name} 已{'启用' if branch.active else '停用'}", "success")
    return _back("admin.branches", "branch", branch_id, refused=refused)


@bp.route("/products", methods=["GET", "POST"], endpoint="products")
@roles_required(Role.ADMIN)
def products_page():
    """The catalogue and the form for a new product."""
    form = ProductForm()
    done = _submit(
        form,
        lambda: org_products.create_product(
            form.code.data, form.name.data, form.category.data, actor=current_user
        ),
        lambda p: (f"已新建产品 {p.name}（{p.code}）", _at_row("admin.products", "product", p.id)),
    )
    return done or _list_page("products", form, ProductUploadForm(formdata=None))


@bp.route("/products/<int:product_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def product_edit(product_id: int):
    product = org_products.get_product(product_id)
    if request.method == "POST":
        form = ProductFieldsForm()
    else:
        form = ProductFieldsForm(formdata=None, obj=product, category=str(product.category))
    done = _submit(
        form,
        lambda: org_products.update_product(
            product.id, name=form.name.data, category=form.category.data, actor=current_user
        ),
        lambda p: (f"产品 {p.code} 已保存", _at_row("admin.products", "product", p.id)),
    )
    return done or (
        render_template("admin/product.html", product=product, form=form, toggle=EmptyForm()),
        400 if form.errors else 200,
    )


@bp.post("/products/<int:product_id>/active")
@roles_required(Role.ADMIN)
def product_active(product_id: int):
    if EmptyForm().validate_on_submit():
        active = request.form.get("active") == "1"
        product = org_products.set_product_active(product_id, active, actor=current_user)
        flash(f"产品 {product.name} 已{'启用' if product.active else '停用'}", "success")
    return _back("admin.products", "product", product_id)


@dataclass(frozen=True)
class ListPage:
    """机构管理 or 产品管理: its list (as the template names it), a blank form for a new item,
    and its 批量导入 (the file's form, the import, the template file)."""

    listed: tuple[str, Callable[[], list]]
    new_form: Callable[[], Any]
    upload: type[table_upload.UploadForm]
    load: table_upload.Load
    template: Callable[[], bytes]
    template_name: str


PAGES = {
    "branches": ListPage(
        ("rows", org_branches.branch_tree),
        functools.partial(_branch_form, submitted=False),
        BranchUploadForm,
        org_import.import_branches,
        org_import.branch_template,
        "机构导入模板.csv",
    ),
    "products": ListPage(
        ("products", org.list_products),
        functools.partial(ProductForm, formdata=None),
        ProductUploadForm,
        org_import.import_products,
        org_import.product_template,
        "产品导入模板.csv",
    ),
}


def _list_page(name: str, form, upload: table_upload.UploadForm, bad_rows=()):
    """The page ``name`` with its list, the form for a new item and the upload (with the
    file's bad lines)."""
    key, listed = PAGES[name].listed
    page = render_template(
        f"admin/{name}.html",
        form=form,
        toggle=EmptyForm(),
        upload=upload,
        bad_rows=bad_rows,
        **{key: listed()},
    )
    return page, 400 if form.errors or table_upload.failed(upload) else 200


@bp.post("/<any(branches, products):name>/import")
@roles_required(Role.ADMIN)
def org_upload(name: str):
    """Create or update units or products from an uploaded file, all rows or none (as
    ``flask branches import`` / ``products import``): the list with what the file changed, or
    the page with the refusal and every bad line (nothing stored)."""
    page = PAGES[name]
    upload = page.upload()
    report, bad_rows = table_upload.run_import(upload, page.load)
    if report is None:
        return _list_page(name, page.new_form(), upload, bad_rows)
    flash(f"导入完成。{org_import.summary(report)}。", "success")
    return redirect(url_for(f"admin.{name}"))


@bp.get("/<any(branches, products):name>/import-template.csv")
@roles_required(Role.ADMIN)
def org_template(name: str):
    """The page's import file to fill in: the header and one example row."""
    page = PAGES[name]
    body, filename = io.BytesIO(page.template()), page.template_name
    return send_file(body, mimetype="text/csv", as_attachment=True, download_name=filename)
