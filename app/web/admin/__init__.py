"""Administration: staff accounts, the branch tree and products, integration tokens, the audit
log, and the system status."""

from flask import Blueprint

from app.web import nav

bp = Blueprint("admin", __name__, url_prefix="/admin")
nav.add("员工账号", "admin.users", nav.ADMINS, order=10)
nav.add("机构管理", "admin.branches", nav.ADMINS, order=12)
nav.add("产品管理", "admin.products", nav.ADMINS, order=14)
nav.add("接口令牌", "admin.tokens", nav.ADMINS, order=20)
nav.add("审计日志", "admin.audit_log", nav.ADMINS, order=30)
nav.add("运行状态", "admin.status", nav.ADMINS, order=40)

from app.web.admin import org_routes, routes  # noqa: E402,F401
