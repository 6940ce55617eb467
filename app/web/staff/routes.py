"""Staff views: workbench and customers (masked; unmasking is audited)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.models import Role, utcnow
from app.services import complaint_queue, workbench
from app.services import customers as customer_service
from app.services.errors import ServiceError
from app.web.access import may_read_audit_log, roles_required
from app.web.staff import bp
from app.web.staff.forms import OptOutForm, RevealForm

STAFF_ROLES = (Role.AGENT, Role.BRANCH_MANAGER, Role.HQ_MANAGER)


@bp.get("/")
@roles_required(*STAFF_ROLES)
def home():
    now = utcnow()
    return render_template(
        "staff/home.html",
        work=workbench.summary(current_user, now=now),
        today=now.astimezone(workbench.SHANGHAI).date(),
        due_soon_label=complaint_queue.QUEUES["due_soon"],  # the queue tab's own words
        audit_url=url_for("admin.audit_log") if may_read_audit_log(current_user) else None,
    )


@bp.get("/customers")
@roles_required(*STAFF_ROLES)
def customers():
    page = customer_service.search_customers(
        request.args.get("q", ""), page=request.args.get("page", 1, type=int)
    )
    return render_template("staff/customers.html", page=page, q=request.args.get("q", ""))


@bp.route("/customers/<int:customer_id>", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def customer_detail(customer_id: int):
    customer = customer_service.get_customer(customer_id)
    form, revealed, status = RevealForm(), False, 200
    if form.validate_on_submit():
        try:
            customer = customer_service.reveal_customer(
                customer_id, actor=current_user, reason=form.reason.data
            )
            revealed = True
        except ServiceError as err:
            form.attach(err)
    if form.errors:
        status = 400
    return _customer_page(customer, form, _opt_out_form(customer), revealed=revealed), status


def _customer_page(customer, reveal: RevealForm, opt_out: OptOutForm, *, revealed: bool) -> str:
    return render_template(
        "staff/customer.html",
        customer=customer,
        form=reveal,
        revealed=revealed,
        dealings=customer_service.history(customer),
        opt_out=opt_out,
        channel_labels=customer_service.OPT_OUT_CHANNELS,
    )


def _opt_out_form(customer, formdata=None) -> OptOutForm:
    form = OptOutForm(formdata=formdata)
    if formdata is None:
        form.everything.data = customer.opted_out
        form.channels.data = sorted(customer.channels_opted_out(customer.opted_out_channels))
    return form


@bp.post("/customers/<int:customer_id>/opt-out")
@roles_required(*STAFF_ROLES)
def customer_opt_out(customer_id: int):
    """Record a customer's opt-out from surveys (all, or some channels), or take it back."""
    customer = customer_service.get_customer(customer_id)
    form = _opt_out_form(customer, request.form)
    if form.validate():
        try:
            customer = customer_service.set_opt_out(
                customer_id,
                actor=current_user,
                everything=form.everything.data,
                channels=set(form.channels.data or ()),
                note=form.note.data or "",
            )
        except ServiceError as err:
            form.attach(err)
        else:
            flash(_opt_out_message(customer), "success")
            return redirect(url_for("staff.customer_detail", customer_id=customer_id))
    return _customer_page(customer, RevealForm(formdata=None), form, revealed=False), 400


def _opt_out_message(customer) -> str:
    if customer.opted_out:
        return "已登记：客户退订全部满意度调查，此后不再向其发送调查邀请"
    channels = customer.channels_opted_out(customer.opted_out_channels)
    if channels:
        names = "、".join(customer_service.OPT_OUT_CHANNELS[c] for c in sorted(channels))
        return f"已登记：客户退订{names}调查邀请"
    return "已取消退订：客户可再次收到调查邀请"
