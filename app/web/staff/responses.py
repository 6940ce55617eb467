"""Responses for staff: list with filters, detail (masked), CSV/XLSX export (audited)."""

from __future__ import annotations

from datetime import date

from flask import Response as HttpResponse
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.models import Role, row_id
from app.services import (
    analysis,
    customers,
    dashboard_filters,
    org,
    responses_query,
    survey_triggers,
)
from app.services.errors import ServiceError, ValidationFailed
from app.services.responses_query import ResponseFilter
from app.web.access import RESPONSE_READERS, roles_required
from app.web.staff import bp
from app.web.staff.analysis import correction_form

STAFF = (Role.AGENT, Role.BRANCH_MANAGER, Role.HQ_MANAGER)


def _int(name: str) -> int | None:
    value = request.values.get(name, "")
    return row_id(value)


def _date(name: str, label: str, report: bool, strict: bool = False) -> date | None:
    """A date filter; one that is not a date, or outside the years a figure can be asked for
    (whose day arithmetic would leave the calendar), is left out, saying so on the list
    (``strict``, for an export: ValidationFailed instead)."""
    raw = request.values.get(name, "").strip()
    if not raw:
        return None
    try:
        return dashboard_filters.parse_date(raw, label, name)
    except ValidationFailed as err:
        if strict:
            raise ValidationFailed(
                f"{err.message}（“{raw[:20]}”），未导出，请修改后重试", field=name
            ) from err
        if report:
            flash(f"{err.message}（“{raw[:20]}”），已忽略", "warning")
        return None


def _filter(report: bool = False, strict: bool = False) -> ResponseFilter:
    """The list's filters. ``strict`` (an export): a bad or reversed date, or a branch outside
    the viewer's scope, raises ValidationFailed: a file never covers what was not asked for."""
    channel = request.values.get("channel", "")
    date_from = _date("from", "起始日期", report, strict)
    date_to = _date("to", "截止日期", report, strict)
    if date_from and date_to and date_from > date_to:
        if strict:
            raise ValidationFailed("截止日期早于起始日期，未导出，请修改后重试", field="to")
        if report:
            flash("截止日期早于起始日期，已忽略日期范围", "warning")
        date_from = date_to = None
    branch_id = _int("branch_id")
    if (
        strict
        and request.values.get("branch_id")
        and (branch_id is None or branch_id not in {b.id for b in org.branches_in_scope()})
    ):
        raise ValidationFailed("无权查看该机构的数据或机构不存在，未导出", field="branch_id")
    return ResponseFilter(
        survey_id=_int("survey_id"),
        branch_id=branch_id,
        product_id=_int("product_id"),
        channel=channel if channel.isalpha() and len(channel) < 20 else None,
        date_from=date_from,
        date_to=date_to,
        detractors_only=request.values.get("detractors") == "1",
    )


@bp.get("/responses")
@roles_required(*STAFF)
def responses_list():
    f = _filter(report=True)
    page = responses_query.list_responses(f, page=request.args.get("page", 1, type=int))
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "staff/survey_responses/list.html",
        page=page,
        args=args,
        one_survey=bool(f.survey_id),  # the export then has a column per question
        choices=responses_query.filter_choices(),
    )


@bp.get("/responses/<int:response_id>")
@roles_required(*RESPONSE_READERS)  # (the pages linking here ask access.may_open_responses)
def response_detail(response_id: int):
    response = responses_query.get_response(response_id)
    # the analysis of the answer's free texts, correctable here as on a case page
    text_analysis = analysis.results_for("response", [response.id]).get(response.id)
    return render_template(
        "staff/survey_responses/detail.html",
        response=response,
        # (masked, whichever branch the customer's record belongs to; it said 匿名 when that
        # was not the answer's branch)
        customer=customers.shown_customers([response.customer_id]).get(response.customer_id),
        answers=responses_query.readable_answers(response),
        # the business event whose trigger rule sent this survey (a loan paid out …)
        event=survey_triggers.event_of(invitation_id=response.invitation_id),
        analysis=text_analysis,
        correction=correction_form(text_analysis),
    )


@bp.post("/responses/export")
@roles_required(*STAFF)
def responses_export():
    fmt = request.form.get("format", "csv")
    if fmt not in ("csv", "xlsx"):
        abort(400)
    try:
        content, _ = responses_query.export_responses(_filter(strict=True), fmt, actor=current_user)
    except ValidationFailed as err:  # (too many rows, or a filter that is not one)
        flash(err.message, "error")
        return redirect(url_for("staff.responses_list", **request.args))
    mimetype = (  # (werkzeug adds "; charset=utf-8" to text types)
        "text/csv"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return HttpResponse(
        content,
        mimetype=mimetype,
        headers={"Content-Disposition": f"attachment; filename=responses.{fmt}"},
    )


@bp.post("/responses/<int:response_id>/to-complaint")
@roles_required(*STAFF)
def response_to_complaint(response_id: int):
    """转为投诉: open a complaint (channel ``survey``) from this response, once per response."""
    from app.services import complaints

    response = responses_query.get_response(response_id)
    if response.customer is None:
        flash("匿名答卷无法转为投诉", "error")
        return redirect(url_for("staff.response_detail", response_id=response_id))
    stated = (request.form.get("content") or "").strip()
    if len(stated) < 5:  # a complaint is what the customer objects to, in the agent's words
        flash("请写明客户投诉的问题（至少 5 个字），再转为投诉", "error")
        return redirect(url_for("staff.response_detail", response_id=response_id) + "#to-complaint")
    try:
        complaint = complaints.create_from_survey_response(
            response_id,
            content=f"{stated}\n（由满意度调查答卷 #{response.id} 转入）",
            name=response.customer.name,
            actor=current_user,
            external_id=response.customer.external_id,
            branch_code=response.branch.code if response.branch else None,
            product_code=response.product.code if response.product else None,
        )
    except ServiceError as err:
        flash(err.message, "error")
        return redirect(url_for("staff.response_detail", response_id=response_id))
    flash(f"已转为投诉 {complaint.reference}，15 日办理时限自今日起算", "success")
    return redirect(url_for("staff.complaint_detail", complaint_id=complaint.id))
