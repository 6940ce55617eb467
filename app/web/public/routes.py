"""The landing page and the health check."""

from __future__ import annotations

from flask import jsonify, redirect, render_template
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.services.system_status import schema_state
from app.web.public import bp


@bp.get("/")
def index():
    # Staff already signed in go to their own start page, not to a "sign in" button.
    if current_user.is_authenticated:
        from app.web.auth.routes import home_for

        return redirect(home_for(current_user))
    return render_template("public/index.html")


@bp.get("/healthz")
def healthz():
    """200 when the database answers and its schema is not behind the code's: a database never
    migrated, or code deployed before ``db upgrade``, makes pages fail, so a load balancer must
    not send traffic (503 "not_upgraded"). A revision this code does not know (a newer release
    upgraded the database) stays 200: during a rolling deploy the old instances keep serving
    until they are replaced (运行状态 names the difference). Two small queries: ``SELECT 1``
    and the revision in ``alembic_version`` (the code's head is read once per process)."""
    try:
        db.session.execute(text("SELECT 1"))
        schema = schema_state()
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    if schema == "behind":
        return jsonify(status="unavailable", database="not_upgraded"), 503
    return jsonify(status="ok", database="ok")
