"""Celery worker entry point: ``celery -A app.jobs.worker worker`` (``--beat`` for schedules)."""

import importlib
import pkgutil

import app.jobs
from wsgi import app

# Register every task module of app.jobs with the worker.
for module in pkgutil.iter_modules(app.jobs.__path__):
    if module.name != "worker":
        importlib.import_module(f"app.jobs.{module.name}")

celery = app.extensions["celery"]
