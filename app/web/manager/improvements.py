"""整改: the board of problems, a problem's page, its actions, verification and closing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.models import Role, row_id, utcnow
from app.models.improvement import PROBLEM_STATUS_LABELS, ProblemStatus
from app.security import uploads
from app.security.uploads import FileData
from app.services import dashboard_filters, improvements
from app.services import improvement_actions as actions
from app.services import improvement_figures as figures
from app.services.errors import ServiceError, ValidationFailed
from app.web.access import roles_required
from app.web.manager import bp
from app.web.manager import improvements_forms as forms

MANAGERS = (Role.BRANCH_MANAGER, Role.HQ_MANAGER)


@bp.get("/improvements")
@roles_required(*MANAGERS)
def improvements_board():
    """The kanban; the 总览 card's link narrows it to the unit, product and questionnaire it
    counted (``branch``, ``product``, ``survey`` codes), and the page says so."""
    wanted = {k: v for k, v in request.args.items() if k in BOARD_FILTERS and v}
    narrowed, refused = None, None
    if wanted:
        try:
            narrowed = dashboard_filters.parse(wanted)
        except ValidationFailed as err:
            refused = err.message
    return render_template(
        "manager/improvements/board.html",
        columns=improvements.board(narrowed.on_rows if narrowed else None),
        labels=PROBLEM_STATUS_LABELS,
        overdue=figures.overdue_actions(narrowed=narrowed.on_rows if narrowed else None),
        narrowed=narrowed.scope_text(dates=False) if narrowed else None,
        refused=refused,
    ), (422 if refused else 200)


BOARD_FILTERS = ("branch", "product", "survey")


@bp.get("/improvements/overview")
@roles_required(*MANAGERS)
def improvements_overview():
    total, rows = figures.overview()
    return render_template(
        "manager/improvements/overview.html",
        total=total,
        rows=rows,
        overdue=figures.overdue_actions(),
    )


@bp.route("/improvements/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def improvement_new():
    form = forms.ProblemForm()
    form.fill()
    if form.validate_on_submit():
        try:
            problem = improvements.create_problem(_problem_data(form), actor=current_user)
        except ServiceError as err:
            form.attach(err)
        else:
            flash("已立项，请关联投诉等案例并制定整改措施", "success")
            return redirect(url_for("manager.improvement_detail", problem_id=problem.id))
    return render_template("manager/improvements/new.html", form=form), 400 if form.errors else 200


@bp.route("/improvements/<int:problem_id>/edit", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def improvement_edit(problem_id: int):
    problem = improvements.get_problem(problem_id)
    form = forms.ProblemForm(data=None if request.method == "POST" else _form_values(problem))
    form.fill()
    if form.validate_on_submit():
        try:
            improvements.update_problem(problem_id, _problem_data(form), actor=current_user)
        except ServiceError as err:
            form.attach(err)
        else:
            flash("已保存问题信息，修改已记入处理历史", "success")
            return redirect(url_for("manager.improvement_detail", problem_id=problem_id))
    return render_template(
        "manager/improvements/new.html", form=form, problem=problem
    ), 400 if form.errors else 200


def _form_values(problem) -> dict:
    return {
        "title": problem.title,
        "description": problem.description,
        "root_cause": problem.root_cause,
        "branch_code": problem.branch.code if problem.branch else "",
        "product_code": problem.product.code if problem.product else "",
        "code_business": problem.code_business or "",
        "code_cause": problem.code_cause or "",
        "survey_code": problem.survey.code if problem.survey else "",
        "owner_id": str(problem.owner_id or ""),
        "window_days": problem.window_days,
    }


def _problem_data(form) -> improvements.ProblemData:
    return improvements.ProblemData(
        title=form.title.data,
        description=form.description.data or "",
        root_cause=form.root_cause.data,
        branch_code=form.branch_code.data,
        product_code=form.product_code.data or None,
        code_business=form.code_business.data or None,
        code_cause=form.code_cause.data or None,
        survey_code=form.survey_code.data or None,
        owner_id=row_id(form.owner_id.data or ""),
        window_days=form.window_days.data or 60,
    )


def _change_form(action_id: int, *, submitted: bool = False) -> forms.ActionChangeForm:
    """The 办理 form of one action: its own field names and ids (change-<id>-text), so one
    action's refused input and messages stay under that action only."""
    unbound = {} if submitted else {"formdata": None}
    form = forms.ActionChangeForm(prefix=f"change-{action_id}", **unbound)
    form.fill()
    return form


def _edit_form(action, *, submitted: bool = False) -> forms.ActionForm:
    """The 修改 form of one open action (edit-<id>-title …), filled with its current values."""
    if submitted:
        form = forms.ActionForm(prefix=f"edit-{action.id}")
    else:
        values = {
            "title": action.title,
            "detail": action.detail,
            "owner_id": str(action.owner_id or ""),
            "due_on": action.due_on,
        }
        form = forms.ActionForm(prefix=f"edit-{action.id}", formdata=None, data=values)
    form.fill(action.problem.branch)
    owner = action.owner
    if owner is not None and str(owner.id) not in {c.value for c in form.owner_id.choices}:
        # someone outside the viewer's subtree (head office): kept, not silently replaced
        label = f"{owner.display_name}（{owner.role_label}）"
        form.owner_id.choices = [*form.owner_id.choices, forms.SelectChoice(str(owner.id), label)]
    return form


def _cancel_form(action_id: int, *, submitted: bool = False) -> forms.ActionCancelForm:
    unbound = {} if submitted else {"formdata": None}
    return forms.ActionCancelForm(prefix=f"cancel-{action_id}", **unbound)


def render_problem(problem_id: int, bound: dict | None = None, status: int = 200):
    problem = improvements.get_problem(problem_id)
    w, result = figures.evaluate(problem)
    action_form = forms.ActionForm(prefix="action", formdata=None)
    action_form.fill(problem.branch)
    context = {
        "action_form": action_form,
        "change_form": _change_form,
        "edit_form": _edit_form,
        "cancel_form": _cancel_form,
        "override_form": forms.OverrideForm(prefix="override", formdata=None),
        "close_form": forms.PlainForm(prefix="close", formdata=None),
        "active": None,
        **(bound or {}),
    }
    return render_template(
        "manager/improvements/detail.html",
        p=problem,
        links=(links := improvements.links_of(problem)),
        timeline=_timeline(problem, links),
        events=improvements.history(problem),
        windows=w,
        result=result,
        # Escaped for the <script type="application/json"> block it is placed in with |safe.
        chart_json=json.dumps(figures.chart(problem, w, result), ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026"),
        today=figures.clock.local_date(utcnow()),
        closed=problem.status == ProblemStatus.CLOSED,
        close_blocker=improvements.close_blocker(problem, result),
        override_blocker=improvements.override_blocker(problem, result, current_user),
        override_rule=improvements.OVERRIDE_RULE,
        choices={a.id: actions.choices(a, result) for a in problem.actions},
        cancellations=actions.cancellations(problem),
        days_late={a.id: actions.days_late(a) for a in problem.actions},
        resurvey_customers=len(actions.resurvey_customers(problem)),
        **context,
    ), status


def _timeline(problem, links) -> list[dict]:
    pages = {
        "complaint": ("staff.complaint_detail", "complaint_id"),
        "response": ("staff.response_detail", "response_id"),
        "followup": ("staff.followup_detail", "task_id"),
    }
    items = []
    for link in links:
        endpoint, arg = pages[link.source_type]
        items.append(
            {
                "at": link.source_at,
                "at_label": link.source_at_label,
                "kind": link.source_type,
                "label": link.source_label,
                "text": link.summary,
                "url": url_for(endpoint, **{arg: link.source_id}),
                "link_id": link.id,
                "linked_at": link.linked_at,
            }
        )
    for action in problem.actions:
        if action.done_at:
            items.append(
                {
                    "at": action.done_at,
                    "at_label": "完成",
                    "kind": "action",
                    "label": "整改完成",
                    "text": action.title,
                    "url": None,
                    "link_id": None,
                    "linked_at": None,
                }
            )
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(items, key=lambda i: i["at"] or far)


@bp.get("/improvements/<int:problem_id>")
@roles_required(*MANAGERS)
def improvement_detail(problem_id: int):
    return render_problem(problem_id)


def _done(problem_id: int, message: str):
    flash(message, "success")
    return redirect(url_for("manager.improvement_detail", problem_id=problem_id))


@bp.post("/improvements/<int:problem_id>/actions")
@roles_required(*MANAGERS)
def improvement_action_add(problem_id: int):
    form = forms.ActionForm(prefix="action")
    form.fill(improvements.get_problem(problem_id).branch)
    if form.validate_on_submit():
        try:
            actions.add_action(problem_id, _action_data(form), actor=current_user)
            return _done(problem_id, "已添加整改措施")
        except ServiceError as err:
            form.attach(err)
    return render_problem(problem_id, {"action_form": form, "active": "action"}, 400)


def _action_data(form) -> actions.ActionData:
    owner = form.owner_id.data
    return actions.ActionData(
        title=form.title.data,
        detail=form.detail.data or "",
        owner_id=row_id(owner or ""),
        due_on=form.due_on.data,
    )


@bp.post("/improvements/<int:problem_id>/actions/<int:action_id>/edit")
@roles_required(*MANAGERS)
def improvement_action_edit(problem_id: int, action_id: int):
    action = actions.get_action(problem_id, action_id)
    form = _edit_form(action, submitted=True)
    if form.validate_on_submit():
        try:
            actions.update_action(problem_id, action_id, _action_data(form), actor=current_user)
            return _done(problem_id, "已保存整改措施，修改已记入整改记录")
        except ServiceError as err:
            form.attach(err)
    bound = {
        "edit_form": lambda a, **kw: form if a.id == action_id else _edit_form(a, **kw),
        "active": f"e{action_id}",
    }
    return render_problem(problem_id, bound, 400)


@bp.post("/improvements/<int:problem_id>/actions/<int:action_id>/cancel")
@roles_required(*MANAGERS)
def improvement_action_cancel(problem_id: int, action_id: int):
    form = _cancel_form(action_id, submitted=True)
    if form.validate_on_submit():
        try:
            actions.change_action(
                problem_id, action_id, "cancel", actor=current_user, text=form.text.data or ""
            )
            return _done(problem_id, "已撤销整改措施，原因已记入整改记录")
        except ServiceError as err:
            form.attach(err)
    bound = {
        "cancel_form": lambda a_id, **kw: form if a_id == action_id else _cancel_form(a_id, **kw),
        "active": f"e{action_id}",
    }
    return render_problem(problem_id, bound, 400)


def _uploads(form) -> list[FileData]:
    return [
        FileData(f.filename or "附件", f.mimetype or "", f.read())
        for f in (form.files.data or [])
        if getattr(f, "filename", "")
    ]


@bp.post("/improvements/<int:problem_id>/actions/<int:action_id>/<verb>")
@roles_required(*MANAGERS)
def improvement_action_change(problem_id: int, action_id: int, verb: str):
    form = _change_form(action_id, submitted=True)
    if verb not in actions.CHOICE_LABELS:
        return render_problem(problem_id, status=404)
    if form.validate_on_submit():
        try:
            _apply_change(problem_id, action_id, verb, form)
            label = f"已{actions.CHOICE_LABELS[verb]}"
            return _done(problem_id, label)
        except ServiceError as err:
            form.attach(err)
    bound = {
        "change_form": lambda a_id: form if a_id == action_id else _change_form(a_id),
        "active": f"a{action_id}",
        "active_verb": verb,
    }
    return render_problem(problem_id, bound, 400)


def _apply_change(problem_id: int, action_id: int, verb: str, form) -> None:
    if verb == actions.EVIDENCE:
        actions.add_evidence(
            problem_id,
            action_id,
            actor=current_user,
            text=form.text.data or "",
            uploads=_uploads(form),
        )
        return
    resurvey = None
    if verb == "complete" and form.resurvey.data:
        survey_id = row_id(form.survey_id.data or "")
        if survey_id is None:
            raise ValidationFailed("请选择回访问卷", field="survey_id")
        resurvey = actions.Resurvey(survey_id, form.channel.data or "sms")
    actions.change_action(
        problem_id,
        action_id,
        verb,
        actor=current_user,
        text=form.text.data or "",
        uploads=_uploads(form),
        resurvey=resurvey,
        due_on=form.due_on.data if verb == "reopen" else None,
    )


@bp.get("/improvements/<int:problem_id>/actions/<int:action_id>/files/<int:file_id>")
@roles_required(*MANAGERS)
def improvement_attachment(problem_id: int, action_id: int, file_id: int):
    item = actions.attachment(problem_id, action_id, file_id)
    # saved as evidence-<id> with the extension it was accepted by (without one the file
    # would not open with a double click), never the uploader's name
    ext = uploads.extension(item.filename)
    name = f"evidence-{item.id}" + (f".{ext}" if ext in uploads.EVIDENCE_EXTENSIONS else "")
    return Response(
        item.data,
        mimetype="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename={name}",
            "X-Content-Type-Options": "nosniff",
        },
    )


@bp.post("/improvements/<int:problem_id>/override")
@roles_required(*MANAGERS)
def improvement_override(problem_id: int):
    form = forms.OverrideForm(prefix="override")
    if form.validate_on_submit():
        try:
            improvements.override_verification(problem_id, form.reason.data, actor=current_user)
            return _done(problem_id, "已人工认定整改效果，理由已记录")
        except ServiceError as err:
            form.attach(err)
    return render_problem(problem_id, {"override_form": form, "active": "override"}, 400)


@bp.post("/improvements/<int:problem_id>/close")
@roles_required(*MANAGERS)
def improvement_close(problem_id: int):
    form = forms.PlainForm(prefix="close")
    if form.validate_on_submit():
        try:
            improvements.close_problem(problem_id, actor=current_user)
            return _done(problem_id, "问题已闭环")
        except ServiceError as err:
            # At the top of the page (the 闭环 card is far down on a phone or a long page).
            flash(err.message, "error")
    else:
        flash("页面已过期，请刷新后重试", "error")
    return render_problem(problem_id, {"active": "close"}, 409)


# Linking cases lives in improvements_links (bulk list, suggestions, the partial on case pages).
from app.web.manager import improvements_links  # noqa: E402,F401
