"""JSON API under /api/v1: bearer tokens with scopes, JSON errors, OpenAPI from the code."""

from flask import Blueprint

from app.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api")
csrf.exempt(bp)

# Route modules register themselves on bp, so they are imported after it exists.
from app.web.api import (  # noqa: E402,F401
    complaints,
    metrics,
    openapi,
    routes,
    surveys,
)
