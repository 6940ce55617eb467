"""Administration views."""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import partial

from flask import (
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user
from wtforms import SelectChoice

from app.models import Role
from app.services import audit_trail, org, system_status, tokens, user_import, users
from app.services.errors import ServiceError, ValidationFailed
from app.services.paging import Page
from app.web import table_upload
from app.web.access import AUDIT_READERS, roles_required
from app.web.admin import bp
from app.web.admin.forms import (
    WHOLE_BANK,
    EmptyForm,
    PasswordForm,
    PlacementForm,
    TokenForm,
    UserForm,
    UsersUploadForm,
)
from app.web.support import download


def _with_branches(form: PlacementForm, current=None) -> PlacementForm:
    """The active units to place an account at (and the account's own, if since closed)."""
    branches = [b for b in org.list_branches() if b.active or b is current]
    form.branch.choices = [
        SelectChoice("", "（请选择）"),
        SelectChoice(WHOLE_BANK, "全行（不指定机构）"),
    ] + [SelectChoice(b.code, f"{b.option_label}（{b.code}）") for b in branches]
    return form


def _placement(form: PlacementForm) -> dict[str, str | None]:
    """What the form says of an account's role, branch and name, as the service takes it."""
    return {
        "role": form.role.data,
        "branch_code": None if form.branch.data == WHOLE_BANK else form.branch.data,
        "display_name": form.display_name.data,
    }


def _user_form() -> UserForm:
    # (the branch opens on （请选择）: see PlacementForm.branch)
    return _with_branches(UserForm())


def _setup_steps(accounts: list) -> list[tuple[bool, str, str, str]]:
    """A new installation's first steps (done, what, where, how), shown on the administrator's
    landing page until they are all done: a first administrator met an empty accounts page, and
    an agent refused for want of a branch, with nothing saying where to begin."""
    staff = [u for u in accounts if u.active and u.role != Role.ADMIN]
    steps = [
        (
            bool(org.list_branches(active_only=True)),  # (a bank of one office has only 总行)
            "建立机构",
            url_for("admin.branches"),
            "在“机构管理”中新建或批量导入分行、支行和网点（坐席和机构负责人须属于某一机构）",
        ),
        (
            bool(org.list_products(active_only=True)),
            "建立产品",
            url_for("admin.products"),
            "在“产品管理”中新建或导入产品，供投诉、问卷和看板按产品统计",
        ),
        (
            any(u.role == Role.HQ_MANAGER for u in staff),
            "新建总分行管理账号",
            url_for("admin.users"),
            "问卷设计、调查活动、触发规则和看板由总分行管理人员使用；系统管理员账号不办理业务",
        ),
        (
            any(u.role in (Role.AGENT, Role.BRANCH_MANAGER) for u in staff),
            "新建坐席和机构负责人账号",
            url_for("admin.users"),
            "坐席处理投诉和回访，机构负责人查看本机构的看板",
        ),
    ]
    return [] if all(done for done, *_ in steps) else steps


@bp.route("/users", methods=["GET", "POST"], endpoint="users")
@roles_required(Role.ADMIN)
def users_page():
    form = _user_form()
    if form.validate_on_submit():
        try:
            user = users.create_user(
                form.username.data,
                password=form.password.data,
                actor=current_user,
                **_placement(form),
            )
        except ServiceError as err:
            form.attach(err)
        else:
            flash(f"已创建账号 {user.username}", "success")
            return redirect(url_for("admin.users"))
    return _users_page(form, UsersUploadForm())


def _users_page(form: UserForm, upload: UsersUploadForm, bad_rows=()):
    accounts = users.list_users()
    failed = form.errors or table_upload.failed(upload)
    return render_template(
        "admin/users.html",
        form=form,
        upload=upload,
        bad_rows=bad_rows,
        users=accounts,
        setup=_setup_steps(accounts),
        workloads=users.workloads(),
        no_work=users.Workload(),
        toggle=EmptyForm(),
    ), 400 if failed else 200


@bp.post("/users/import", endpoint="users_import")
@roles_required(Role.ADMIN)
def users_import():
    """Staff accounts from a file, all rows or none: the new accounts with their initial
    passwords, shown this once (only their hashes are kept), or the page with every bad line."""
    upload = UsersUploadForm()
    report, bad_rows = table_upload.run_import(upload, user_import.import_users)
    if report is None:
        return _users_page(_user_form(), upload, bad_rows)
    body = render_template("admin/users_imported.html", report=report)
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"  # (the passwords are not kept by the browser)
    return response


@bp.get("/users/import-template.csv", endpoint="users_template")
@roles_required(Role.ADMIN)
def users_template():
    """The staff import file to fill in: the header and one example placed in a real unit."""
    body = io.BytesIO(user_import.template())
    return send_file(
        body, mimetype="text/csv", as_attachment=True, download_name="员工账号导入模板.csv"
    )


def _placement_form(user, *, submitted: bool) -> PlacementForm:
    """The account's name, role and branch: as submitted, or as they are."""
    if submitted:
        form = PlacementForm()
    else:
        branch = user.branch.code if user.branch else WHOLE_BANK
        data = {"display_name": user.display_name, "role": str(user.role), "branch": branch}
        form = PlacementForm(formdata=None, data=data)
    return _with_branches(form, user.branch)


def _account_page(user, placement: PlacementForm, password: PasswordForm):
    status = 400 if placement.errors or password.errors else 200
    return render_template(
        "admin/user.html", user=user, form=placement, password_form=password
    ), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_edit(user_id: int):
    """One account: its name, role and branch, changed by an administrator."""
    user = users.get_user(user_id)
    form = _placement_form(user, submitted=request.method == "POST")
    if form.validate_on_submit():
        try:
            users.update_user(user.id, actor=current_user, **_placement(form))
        except ServiceError as err:
            form.attach(err)
        else:
            flash(f"账号 {user.username} 已保存", "success")
            return redirect(url_for("admin.users") + f"#user-{user.id}")
    return _account_page(user, form, PasswordForm(formdata=None))


@bp.post("/users/<int:user_id>/password")
@roles_required(Role.ADMIN)
def user_password(user_id: int):
    """A new password set by an administrator; the account's sessions end."""
    user = users.get_user(user_id)
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            users.reset_password(user.id, form.password.data, actor=current_user)
        except ServiceError as err:
            form.attach(err)
        else:
            flash(
                f"账号 {user.username} 的密码已重置，其所有登录会话已失效；"
                "本人下次登录时须修改密码",
                "success",
            )
            return redirect(url_for("admin.users") + f"#user-{user.id}")
    return _account_page(user, _placement_form(user, submitted=False), form)


def _toggled_message(done: users.Toggled) -> str:
    """What enabling or disabling did, with the work a disabled account handed back."""
    name = done.user.username
    if done.active:
        return f"账号 {name} 已启用"
    message = f"账号 {name} 已停用"
    if done.complaints_released:
        message += f"，其 {done.complaints_released} 件在办投诉已退回待分派"
    if done.followups_released:
        message += f"，{done.followups_released} 个待回访任务已退回回访队列"
    return message


@bp.post("/users/<int:user_id>/active")
@roles_required(Role.ADMIN)
def user_active(user_id: int):
    if EmptyForm().validate_on_submit():
        try:
            done = users.set_active(user_id, request.form.get("active") == "1", actor=current_user)
        except ValidationFailed as err:  # (an account whose unit has since been closed)
            flash(err.message, "error")
        else:
            flash(_toggled_message(done), "success")
    return redirect(url_for("admin.users") + f"#user-{user_id}")


# The session key holding a just-issued token's name and secret until the page shows it once.
ISSUED_TOKEN = "issued_token"


@bp.route("/tokens", methods=["GET", "POST"], endpoint="tokens")
@roles_required(Role.ADMIN)
def tokens_page():
    """Post, redirect, get: a new token's secret is kept in the session and shown by the next
    page only, so reloading that page shows nothing again and issues no second token."""
    form = TokenForm()
    if form.validate_on_submit():
        try:
            issued = tokens.create_token(
                form.name.data, ",".join(form.scopes.data or []), actor=current_user
            )
        except ServiceError as err:
            form.attach(err)
        else:
            session[ISSUED_TOKEN] = {"name": issued.token.name, "secret": issued.secret}
            return redirect(url_for("admin.tokens"))
    issued = session.pop(ISSUED_TOKEN, None) if request.method == "GET" else None
    response = make_response(
        render_template(
            "admin/tokens.html",
            form=form,
            issued=issued,
            tokens=tokens.list_tokens(),
            revoke=EmptyForm(),
            scope_labels=tokens.SCOPES,
            all_scopes=frozenset(tokens.SCOPES),
        ),
        400 if form.errors else 200,
    )
    if issued:
        response.headers["Cache-Control"] = "no-store"  # (the secret stays out of any cache)
    return response


@bp.post("/tokens/<int:token_id>/revoke")
@roles_required(Role.ADMIN)
def token_revoke(token_id: int):
    if EmptyForm().validate_on_submit():
        token = tokens.revoke_token(token_id, actor=current_user)
        flash(f"令牌 {token.name} 已吊销", "success")
    return redirect(url_for("admin.tokens"))


# Objects the administrator can open: the page that lists them, and the anchor of their row.
AUDIT_LINKS = {
    "staff_user": ("admin.users", "user"),
    "api_token": ("admin.tokens", "token"),
    "branch": ("admin.branches", "branch"),
    "product": ("admin.products", "product"),
}
# ... and for head office, who reads the log and handles cases: the case and customer pages
CASE_LINKS = {
    "complaint": ("staff.complaint_detail", "complaint_id"),
    "customer": ("staff.customer_detail", "customer_id"),
}
AUDIT_FILTERS = ("q", "action", "actor", "object", "object_id", "from", "to")


def _admin_page(ref: str, *, to: str, anchor: str) -> str:
    return f"{url_for(to)}#{anchor}-{ref}"


def _case_page(ref: str, *, to: str, arg: str) -> str:
    return url_for(to, **{arg: int(ref)}) if ref.isascii() and ref.isdigit() else ""


def _object_links() -> dict[str, Callable[[str], str]]:
    """Where each kind of object opens for the reader (only the pages the reader may open)."""
    if current_user.has_role(Role.ADMIN):
        return {k: partial(_admin_page, to=to, anchor=a) for k, (to, a) in AUDIT_LINKS.items()}
    return {k: partial(_case_page, to=to, arg=arg) for k, (to, arg) in CASE_LINKS.items()}


def _audit_args() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k in AUDIT_FILTERS}


@bp.get("/audit")
@roles_required(*AUDIT_READERS)
def audit_log():
    """The audit log, read-only: searched, filtered by operation, staff member, object and
    dates, paged."""
    args = _audit_args()
    try:
        filters, errors = audit_trail.parse_filter(args), {}
    except ValidationFailed as err:
        filters, errors = None, err.fields
    page = (
        audit_trail.list_entries(filters, page=request.args.get("page", 1, type=int))
        if filters
        else Page([], 1, 1, 0)
    )
    return render_template(
        "admin/audit.html",
        page=page,
        args=args,
        filters=filters,
        errors=errors,
        **audit_trail.filter_choices(),
        shown_object=audit_trail.object_target(filters),
        links=_object_links(),
    ), (400 if errors else 200)


@bp.get("/audit/export.<any(csv, xlsx):fmt>")
@roles_required(*AUDIT_READERS)
def audit_export(fmt: str):
    """The filtered log as a file; bad filters or too many rows go back to the page, which
    says what is wrong."""
    args = _audit_args()
    try:
        filters = audit_trail.parse_filter(args)
    except ValidationFailed:
        return redirect(url_for("admin.audit_log", **args))  # (the page names the bad value)
    try:
        body = audit_trail.export_entries(filters, fmt)
    except ValidationFailed as err:  # too many rows
        flash(err.message, "error")
        return redirect(url_for("admin.audit_log", **args))
    return download(body, fmt, "kesheng-audit-log")


@bp.get("/status")
@roles_required(Role.ADMIN)
def status():
    """运行状态: whether the database, the task queue and the background work are healthy,
    with the figures behind each verdict and what to do. Read-only (not audited: it shows no
    personal data and changes nothing); each load checks afresh."""
    found = system_status.collect()
    response = make_response(
        render_template("admin/status.html", status=found, waited=system_status.waited)
    )
    response.headers["Cache-Control"] = "no-store"  # (a reload or "back" always checks again)
    return response
