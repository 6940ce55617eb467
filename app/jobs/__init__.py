"""Celery wiring (the Flask docs' pattern): tasks run inside an app context.

With no broker configured, tasks run inline (``task_always_eager``), so the embedded set-up needs
no Redis. Tasks take ids, are idempotent and only call services.
"""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
