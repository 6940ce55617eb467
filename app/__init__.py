"""Kesheng application factory: the only place where things are wired together."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from app import config as config_module
from app.config import DefaultConfig


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(DefaultConfig)
    app.config.from_mapping(config_module.from_environment())
    app.config.update(overrides or {})
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        db_path = os.path.join(app.instance_path, "kesheng.db")
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{db_path}"
    if not app.config.get("NLP_MODEL_DIR"):
        app.config["NLP_MODEL_DIR"] = os.path.join(app.instance_path, "nlp-models")
    config_module.finalise(app.config)

    from app.wiring import init_extensions, register_blueprints, register_commands, wrap_wsgi

    init_extensions(app)
    register_blueprints(app)
    register_commands(app)
    wrap_wsgi(app)
    from app.services import system_status

    system_status.warn_about_outbox_channels(app)  # (production: one line if a channel only
    # reaches the outbox or BANK_NAME is unset)
    # The migrations this code knows, read now: under gunicorn's preload the master reads them
    # and every worker inherits its view, so /healthz compares the database with the code that
    # runs (read lazily, workers re-forked after a new release's files were unpacked read the
    # new head and answered 503 not_upgraded while serving the old code).
    system_status.migrations_of(app)
    return app
