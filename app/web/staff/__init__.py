"""Service staff's workbench: customers now; complaints, follow-ups and responses later."""

from flask import Blueprint

from app.web import nav

bp = Blueprint("staff", __name__, url_prefix="/staff")
# (head office reaches the audit log from its workbench: the menu has no room on a phone)
nav.add("工作台", "staff.home", nav.STAFF, order=10, also=("admin.audit_log",))
nav.add("客户", "staff.customers", nav.STAFF, order=60)
nav.add("回访", "staff.followups_queue", nav.STAFF, order=30)
nav.add("答卷", "staff.responses_list", nav.STAFF, order=40)
nav.add("投诉", "staff.complaint_queue", nav.STAFF, order=20)

# Route modules register themselves on bp, so they are imported after it exists.
from app.web.staff import (  # noqa: E402,F401
    analysis,
    complaints,
    followups,
    responses,
    routes,
)
