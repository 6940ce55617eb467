"""Staff views: workbench and customers (masked; unmasking is audited)."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_login import current_user

from app.models import Role, utcnow
from app.services import customers as customer_service
from app.services import workbench
from app.services.errors import ServiceError
from app.web.access import may_read_audit_log, roles_required
from app.web.staff import bp
from app.web.staff.forms import RevealForm

STAFF_ROLES = (Role.AGENT, Role.BRANCH_MANAGER, Role.HQ_MANAGER)


@bp.get("/")
@roles_required(*STAFF_ROLES)
def home():
    now = utcnow()
    return render_template(
        "staff/home.html",
        work=workbench.summary(current_user, now=now),
        today=now.astimezone(workbench.SHANGHAI).date(),
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
    return render_template(
        "staff/customer.html",
        customer=customer,
        form=form,
        revealed=revealed,
        dealings=customer_service.history(customer),
    ), status
