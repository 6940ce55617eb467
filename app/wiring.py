"""What create_app wires: extensions, blueprints, error pages, headers, CLI."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

import nlp
from app import db_setup  # noqa: F401  (registers the engine listeners)
from app.extensions import csrf, db, login_manager, migrate
from app.models.base import MAX_ROW_ID
from app.security import pii


def init_extensions(app: Flask) -> None:
    app.extensions["pii_keys"] = pii.configure(
        app.config.get("PII_KEY") or app.config["SECRET_KEY"]
    )
    nlp.use_model_dir(app.config["NLP_MODEL_DIR"])
    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    from app.jobs import celery_init_app
    from app.web import auth as _auth  # noqa: F401  (user loader)

    celery_init_app(app)


def _migrations_dir() -> str:
    import os

    return os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in every route: a number beyond what an id column holds (MAX_ROW_ID) does
    not match, so ``/staff/complaints/99999999999999999999`` is a 404 on both databases instead
    of a driver overflow (SQLite) or an out-of-range error (PostgreSQL)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


def register_blueprints(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter  # (before any rule is added)
    from app.services import analysis_sources  # noqa: F401  (registers the text sources)
    from app.web import admin, api, auth, errors, manager, public, staff, support

    for module in (public, auth, staff, manager, admin, api):
        app.register_blueprint(module.bp)
    errors.register(app)
    support.register(app)


def wrap_wsgi(app: Flask) -> None:
    """The middleware around Flask, innermost first: the survey submission fast path, then the
    trusted proxies' headers (so the fast path sees the client address Flask would)."""
    from app.web.public import fast_submit

    fast_submit.install(app)
    if app.config.get("TRUSTED_PROXIES"):
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=0)


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)
