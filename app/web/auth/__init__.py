"""Staff sign-in and sign-out."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.web.auth import routes  # noqa: E402,F401
