"""Manager views."""

from __future__ import annotations

from flask import render_template, url_for
from flask_login import current_user

from app.models import Role
from app.services import org
from app.web.access import may_read_audit_log, roles_required
from app.web.manager import bp


@bp.get("/")
@roles_required(Role.BRANCH_MANAGER, Role.HQ_MANAGER)
def home():
    rows = org.branch_overview()
    return render_template(
        "manager/home.html",
        rows=rows,
        total_customers=sum(r.customers for r in rows),
        total_staff=sum(r.staff for r in rows),
        # (the tree's changes: head office reads the log, a branch manager does not)
        audit_url=url_for("admin.audit_log", object="branch")
        if may_read_audit_log(current_user)
        else None,
    )
