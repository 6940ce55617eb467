"""Celery worker entry point: ``celery -A app.jobs.worker worker`` (``--beat`` for schedules)."""

import importlib
import pkgutil

from app import jobs
from wsgi import app as flask_app

# Register every task module of app.jobs with the worker.
for module in pkgutil.iter_modules(jobs.__path__):
    if module.name != "worker":
        importlib.import_module(f"app.jobs.{module.name}")

celery = flask_app.extensions["celery"]
