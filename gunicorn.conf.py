"""Gunicorn settings for production (read automatically when gunicorn starts in this folder).

    .venv/bin/gunicorn wsgi:app                  # 4 sync workers on 127.0.0.1:8000
    WEB_CONCURRENCY=2 .venv/bin/gunicorn wsgi:app

Command-line flags override these values (``-w 2 -b 127.0.0.1:9000``). The application is
loaded once in the master (``preload_app``) so that workers share its memory and a broken
configuration stops the master at once; every worker then drops the database connections the
master may have opened, so no socket is ever shared between processes.
"""

from __future__ import annotations

import gc
import logging
import os
import re

from gunicorn.glogging import Logger

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "sync"
# gunicorn's control socket (for gunicornc) is one path per user by default: a second instance
# took it over, and stopping that one removed the first one's. Off unless given a path.
if os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip():
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"].strip()
else:
    control_socket_disable = True
timeout = 30  # a worker silent for longer is killed and replaced by the master
graceful_timeout = 30
keepalive = 5
backlog = 2048
preload_app = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = "info"
# Request line without the query string; survey tokens are masked by TokenMaskingLogger.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'

_TOKEN_PATH = re.compile(r"/s/+[^/\s\"?]+")  # (also /s//token, redirected by werkzeug)


class TokenMaskingLogger(Logger):
    """Access log lines never carry a customer's one-time survey token."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r"):
            value = atoms.get(key)
            if isinstance(value, str) and "/s/" in value:  # (no regex on other requests)
                atoms[key] = _TOKEN_PATH.sub("/s/…", value)
        return atoms


logger_class = TokenMaskingLogger

# The application's own log lines (a broker unreachable, a database error on a page) as
# gunicorn writes its own: time, process, level; they came bare, hard to match with the rest.
logging.basicConfig(
    format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
    datefmt="%Y-%m-%d %H:%M:%S %z",
    level=logging.WARNING,
)
logging.getLogger("app").setLevel(logging.INFO)


def _kesheng_app(server):
    app = getattr(server.app, "wsgi", lambda: None)()
    return app if "sqlalchemy" in getattr(app, "extensions", {}) else None


_prepared = False


def pre_fork(server, worker):
    """In the master, once, before the first worker is forked: load the text-analysis models
    and import the broker's transport (workers share their memory, and no customer's request
    waits for either), then move every object alive so far out of the garbage collector's reach
    (``gc.freeze``): the collector no longer walks the app's and models' long-lived objects on
    every full collection, and their pages stay shared between workers."""
    global _prepared
    if _prepared:
        return
    _prepared = True
    app = _kesheng_app(server)
    if app is not None:
        from app.jobs import broker

        try:
            with app.app_context():
                broker.preload_transport()
        except Exception:  # a broker problem shows up where jobs are sent (and falls back)
            server.log.exception("could not import the broker's transport")
        try:
            import nlp
            from nlp.sentiment import load_model

            version = nlp.analyze("网点服务很好，排队时间有点长").model_version
            load_model().warm_up()
            server.log.info("text-analysis models loaded in the master: %s", version)
        except Exception:  # a model problem shows up (and is logged) where analysis runs
            server.log.exception("could not preload the text-analysis models")
        server.log.info("templates compiled in the master: %d", _compile_templates(app))
    gc.collect()
    gc.freeze()


def _compile_templates(app) -> int:
    """Compile every page template once, here: each worker would otherwise compile the ones it
    renders on first use (tens of milliseconds each, while the requests queued behind it wait,
    after every start and every worker replacement). Jinja keeps them in the environment's
    cache, which the workers inherit; a template that fails to compile is left to the request
    that renders it, which reports it."""
    env = app.jinja_env
    names = [n for n in env.list_templates(extensions=("html", "txt")) if not n.startswith(".")]
    if env.cache is not None and getattr(env.cache, "capacity", len(names)) < len(names):
        return 0  # (a cache too small to hold them: compiling here would only evict)
    compiled = 0
    for name in names:
        try:
            env.get_template(name)
            compiled += 1
        except Exception:  # noqa: BLE001
            app.logger.warning("template %s not compiled in the master", name, exc_info=True)
    return compiled


def post_fork(server, worker):
    """Each worker opens its own database connections (never one inherited from the master)."""
    app = _kesheng_app(server)
    if app is None:
        return  # not the Kesheng app (the benchmarks' bare handler)
    from app.extensions import db
    from app.jobs import broker

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)
    broker.enable_batching()  # a long-lived web worker: jobs of each 0.2 s go as one message


def worker_exit(server, worker):
    """A worker stopping normally sends the jobs still waiting in its batches."""
    if _kesheng_app(server) is not None:
        from app.jobs import broker

        broker.flush_batches()
