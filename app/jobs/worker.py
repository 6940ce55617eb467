"""Celery worker entry point: ``celery -A app.jobs.worker worker``."""

from wsgi import app

celery = app.extensions["celery"]
