"""Managers' pages: overview of their branch subtree (dashboards join later)."""

from flask import Blueprint

from app.models import Role
from app.web import nav

bp = Blueprint("manager", __name__, url_prefix="/manager")
nav.add("问卷", "manager.surveys_list", frozenset({Role.HQ_MANAGER}), order=45)
nav.add(
    "调查活动",
    "manager.campaigns_list",
    frozenset({Role.HQ_MANAGER}),
    order=46,
    also=("manager.triggers", "manager.outbox", "manager.customer_import"),
)
nav.add("看板", "manager.dashboards", nav.MANAGERS, order=16)
nav.add("整改", "manager.improvements_board", nav.MANAGERS, order=50)

# Route modules register themselves on bp, so they are imported after it exists.
from app.web.manager import (  # noqa: E402,F401
    dashboards,
    improvements,
    routes,
    surveys,
)
