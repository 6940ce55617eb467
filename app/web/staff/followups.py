"""Follow-up visits (回访) for agents: the queue, call outcomes, answers taken by phone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from app.models import Response, Role, utcnow
from app.models.survey_response import OUTCOME_LABELS
from app.services import customers, followups, survey_triggers
from app.services.errors import NotFound, ServiceError, ValidationFailed
from app.services.responses import AnswersInvalid
from app.services.surveys import definition_of
from app.web.access import roles_required
from app.web.staff import bp
from surveys import field_name, other_field_name, reported_problems
from surveys.answers import MSG_REQUIRED

STAFF = (Role.AGENT, Role.BRANCH_MANAGER, Role.HQ_MANAGER)
STATUS_TABS = [
    ("open", "待回访"),
    ("done", "已完成"),
    ("unreachable", "无法联系"),
    ("refused", "拒访"),
    ("all", "全部"),
]


@bp.get("/followups")
@roles_required(*STAFF)
def followups_queue():
    status = request.args.get("status", "open")
    if status not in dict(STATUS_TABS):
        status = "open"
    page = followups.queue(status=status, page=request.args.get("page", 1, type=int))
    now = utcnow()
    return render_template(
        "staff/survey_followups/queue.html",
        page=page,
        status=status,
        tabs=STATUS_TABS,
        due={t.id: followups.call_due(t, now) for t in page.items if t.is_open},
        customers=customers.shown_customers(t.customer_id for t in page.items),
    )


def _detail(task_id: int, *, raw=None, errors=None, status=200, call=None, phone=None):
    task = followups.get_followup(task_id)
    page = render_template(
        "staff/survey_followups/detail.html",
        task=task,
        customer=customers.shown_customers([task.customer_id])[task.customer_id],
        due=followups.call_due(task, utcnow()) if task.is_open else None,
        event=survey_triggers.event_of(followup_id=task.id),
        defn=definition_of(task.version),
        raw=raw or {},
        errors=errors or {},
        required_message=MSG_REQUIRED,  # (the list of refused questions says 未作答 instead)
        outcomes=OUTCOME_LABELS,
        field_name=field_name,
        other_field_name=other_field_name,
        call=call or {},  # a refused call record: its message and what the agent typed
        phone=phone,  # the full number, once the agent asked to dial it (audited)
        page_url=url_for("staff.followup_detail", task_id=task.id),  # (page_url.js)
    )
    return page, status


@bp.get("/followups/<int:task_id>")
@roles_required(*STAFF)
def followup_detail(task_id: int):
    return _detail(task_id)


@bp.post("/followups/<int:task_id>/phone")
@roles_required(*STAFF)
def followup_phone(task_id: int):
    """The customer's full number on the task's own page, as a tel: link: the agent dials
    without leaving the task (the customer's page asked for a reason and showed every contact
    detail, and led back to the customer list)."""
    try:
        phone = followups.reveal_phone(task_id, actor=current_user)
    except NotFound:
        raise
    except ServiceError as err:
        flash(err.message, "error")
        return redirect(url_for("staff.followup_detail", task_id=task_id))
    page, status = _detail(task_id, phone=phone)
    return page, status, {"Cache-Control": "no-store"}


def _callback_time(value: str) -> datetime | None:
    try:
        naive = datetime.strptime(value, "%Y-%m-%dT%H:%M")
    except (TypeError, ValueError):
        return None
    return naive.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))


@bp.post("/followups/<int:task_id>/attempt")
@roles_required(*STAFF)
def followup_attempt(task_id: int):
    outcome = request.form.get("outcome", "")
    try:
        task = followups.record_attempt(
            task_id,
            outcome,
            agent=current_user,
            note=request.form.get("note", "")[:1000],
            callback_at=_callback_time(request.form.get("callback_at", "")),
        )
    except NotFound:
        raise  # another branch's task, or none: 404, never a hint that it exists
    except ValidationFailed as err:  # shown by the call form, with the note and time kept
        typed = {key: request.form.get(key, "")[:1000] for key in ("note", "callback_at")}
        call = {"error": err.message, "fields": err.fields, **typed}  # a field's under it
        return _detail(task_id, status=err.status, call=call)
    except ServiceError as err:  # e.g. the task closed meanwhile: its page has no call form
        flash(err.message, "error")
        return redirect(url_for("staff.followup_detail", task_id=task_id))
    if outcome == "reached":
        flash("已接通，请按脚本询问并在下方录入客户的回答", "success")
    else:
        flash(
            f"已记录：{OUTCOME_LABELS.get(outcome, outcome)}；任务状态：{task.status_label}",
            "success",
        )
    return redirect(url_for("staff.followup_detail", task_id=task_id))


@bp.post("/followups/<int:task_id>/answers")
@roles_required(*STAFF)
def followup_answers(task_id: int):
    try:
        response = followups.submit_phone_answers(task_id, request.form, agent=current_user)
    except AnswersInvalid as err:
        return _detail(task_id, raw=err.raw, errors=err.fields, status=422)
    except NotFound:
        raise
    except ServiceError as err:
        flash(err.message, "error")
        return redirect(url_for("staff.followup_detail", task_id=task_id))
    flash("回访答卷已保存，任务已完成", "success")
    reported = reported_problems(definition_of(response.version), response.answers or {})
    if response.detractor or reported:
        flash(_problem_prompt(response, reported), "warning")
    return redirect(url_for("staff.followups_queue"))


def _problem_prompt(response: Response, reported: tuple[str, ...]) -> Markup:
    """Back on the queue after a call whose answers are low (the detractor rule) or report a
    problem (an option marked follow_up: 未解决, 搭售; the call itself makes no second task): a
    link to the new response, where 转为投诉 is (when the customer's record is in the agent's
    scope, as the response page offers it then)."""
    scores = "、".join(
        f"{label} {value} 分"
        for label, value in (("满意度", response.csat), ("推荐度", response.nps))
        if value is not None
    )
    said = [f"客户本次评分较低（{scores}）"] if response.detractor else []
    said += [f"客户回答：{'；'.join(reported)}"] if reported else []
    href = url_for("staff.response_detail", response_id=response.id)
    if response.customer is None:  # (the response page then offers no 转为投诉)
        return Markup('{}：<a href="{}">查看回访答卷 #{}</a>。').format(
            "。".join(said), href, response.id
        )
    return Markup(
        "{}。如需跟进处理或客户要求投诉，"
        '请<a href="{}#to-complaint">打开回访答卷 #{} 转为投诉</a>。'
    ).format("。".join(said), href, response.id)
