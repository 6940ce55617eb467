"""Linking cases to problems: from a case's own page, in bulk from a list, by suggestion."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.models import Role, row_id
from app.models.improvement import LINK_SOURCES
from app.services import complaints, improvements
from app.services import improvement_actions as actions
from app.services import improvement_figures as figures
from app.services.errors import NotFound, ServiceError
from app.web.access import roles_required
from app.web.manager import bp
from app.web.manager import improvements_forms as forms

STAFF = (Role.AGENT, Role.BRANCH_MANAGER, Role.HQ_MANAGER)
MANAGERS = (Role.BRANCH_MANAGER, Role.HQ_MANAGER)
SOURCE_PAGES = {
    "complaint": ("staff.complaint_detail", "complaint_id"),
    "response": ("staff.response_detail", "response_id"),
    "followup": ("staff.followup_detail", "task_id"),
}


def _ids(values: list[str]) -> list[int]:
    return [number for v in values if (number := row_id(v)) is not None]


@bp.app_template_global()
def improvement_links(source_type: str, source_id: int) -> dict:
    """What the "关联到问题" partial shows on a case page: linked problems and the link form."""
    form = forms.LinkForm(
        prefix="link", formdata=None, data={"source_type": source_type, "source_id": source_id}
    )
    linked = improvements.problems_linked_to(source_type, source_id)
    taken = {p.id for p in linked}
    form.problem_id.choices = [forms.SelectChoice("", "（选择问题）")] + [
        forms.SelectChoice(str(p.id), f"#{p.id} {p.title}（{p.status_label}）")
        for p in improvements.open_problems_for(source_type, source_id)
        if p.id not in taken
    ]
    return {"linked": linked, "form": form, "can_manage": current_user.has_role(*MANAGERS)}


@bp.post("/improvements/link")
@roles_required(*STAFF)
def improvement_link_case():
    source_type = request.form.get("link-source_type", "")
    source_id = (_ids([request.form.get("link-source_id", "")]) or [0])[0]
    if source_type not in LINK_SOURCES or not source_id:
        abort(400)
    form = forms.LinkForm(prefix="link")
    form.problem_id.choices = [
        forms.SelectChoice(str(p.id), p.title)
        for p in improvements.open_problems_for(source_type, source_id)
    ]
    endpoint, arg = SOURCE_PAGES[source_type]
    back = url_for(endpoint, **{arg: source_id}) + "#improvement-link"
    problem_id = row_id(form.problem_id.data or "")
    if not form.validate_on_submit() or problem_id is None:
        flash("请选择要关联的问题", "error")
        return redirect(back)
    try:
        improvements.link_cases(problem_id, source_type, [source_id], actor=current_user)
    except ServiceError as err:
        flash(err.message, "error")
    else:
        flash("已关联到问题", "success")
    return redirect(back)


@bp.get("/improvements/<int:problem_id>/cases")
@roles_required(*MANAGERS)
def improvement_cases(problem_id: int):
    problem = improvements.get_problem(problem_id)
    q, code = request.args.get("q", "")[:50], request.args.get("code", "")[:20]
    linked = {(lk.source_type, lk.source_id) for lk in improvements.links_of(problem)}
    suggested = figures.suggestions(problem)
    ids = [s.source_id for s in suggested if s.source_type == "complaint"]
    return render_template(
        "manager/improvements/cases.html",
        p=problem,
        q=q,
        code=code,
        complaints=actions.complaint_ids_matching(problem, q=q.strip(), code=code.strip()),
        suggestions=suggested,
        # (each suggested case by its number, opening it: a manager checks before linking)
        references=complaints.references(ids),
        linked=linked,
        form=forms.PlainForm(),
        business=forms.nlp.load_taxonomy().dimension("B").choices(),
    )


@bp.post("/improvements/<int:problem_id>/cases")
@roles_required(*MANAGERS)
def improvement_cases_link(problem_id: int):
    form = forms.PlainForm()
    source_type = request.form.get("source_type", "complaint")
    via = "suggestion" if request.form.get("via") == "suggestion" else "bulk"
    if source_type not in LINK_SOURCES or not form.validate_on_submit():
        abort(400)
    try:
        added = improvements.link_cases(
            problem_id, source_type, _ids(request.form.getlist("ids")), actor=current_user, via=via
        )
    except NotFound:
        raise  # another branch's problem, or none: 404
    except ServiceError as err:
        flash(err.message, "error")
        return redirect(url_for("manager.improvement_cases", problem_id=problem_id))
    return _done(problem_id, f"已关联 {len(added)} 条案例")


@bp.post("/improvements/<int:problem_id>/links/<int:link_id>/unlink")
@roles_required(*MANAGERS)
def improvement_unlink(problem_id: int, link_id: int):
    if not forms.PlainForm().validate_on_submit():
        abort(400)
    try:
        improvements.unlink_case(problem_id, link_id, actor=current_user)
    except NotFound:
        raise
    except ServiceError as err:  # a closed problem keeps its cases
        flash(err.message, "error")
        return redirect(url_for("manager.improvement_detail", problem_id=problem_id))
    return _done(problem_id, "已取消关联")


def _done(problem_id: int, message: str):
    flash(message, "success")
    return redirect(url_for("manager.improvement_detail", problem_id=problem_id))
