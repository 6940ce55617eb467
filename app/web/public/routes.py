"""The landing page and the health check."""

from __future__ import annotations

from flask import jsonify, redirect, render_template
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
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
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
