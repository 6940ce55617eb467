"""JSON API under /api/v1: bearer tokens with scopes, JSON errors, OpenAPI from the code."""

from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)

from app.web.api import openapi, routes  # noqa: E402,F401
from app.web.api import surveys  # noqa: E402,F401
from app.web.api import complaints  # noqa: E402,F401
