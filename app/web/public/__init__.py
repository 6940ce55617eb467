"""Pages for customers: no sign-in (survey links and the complaint form join later)."""

from flask import Blueprint

bp = Blueprint("public", __name__)

# Route modules register themselves on bp, so they are imported after it exists.
from app.web.public import (  # noqa: E402,F401
    complaints,
    routes,
    survey,
)
