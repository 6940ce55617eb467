"""Managers' pages: overview of their branch subtree (dashboards join later)."""

from flask import Blueprint

from app.web import nav

bp = Blueprint("manager", __name__, url_prefix="/manager")
nav.add("管理概览", "manager.home", nav.MANAGERS, order=20)

from app.web.manager import routes  # noqa: E402,F401
