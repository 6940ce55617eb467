"""Manager views."""

from __future__ import annotations

from flask import render_template

from app.models import Role
from app.services import org
from app.web.access import roles_required
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
    )
