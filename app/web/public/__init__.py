"""Pages for customers: no sign-in (survey links and the complaint form join later)."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from app.web.public import routes  # noqa: E402,F401
from app.web.public import survey  # noqa: E402,F401
from app.web.public import complaints  # noqa: E402,F401
