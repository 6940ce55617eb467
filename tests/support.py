"""Helpers shared by the test modules: app construction, PostgreSQL access, sign-in."""

from __future__ import annotations

import atexit
import contextvars
import os
import re
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient

TEST_SECRET = "test-secret-key-for-kesheng-tests"
PASSWORD = "Kesheng@2026"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class IsolatedClient(FlaskClient):
    """Runs every request in an empty context, as a real server does.

    Flask reuses an application context that is already pushed (the test's own), which would
    share ``g`` and the database session between requests; a fresh contextvars context gives
    each request its own, while the test's outer transaction is still shared through the
    connection the fixtures bind.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def postgres_admin_url() -> str:
    return os.environ.get(
        "KESHENG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def postgres_problem(url: str) -> str | None:
    """None when the server answers, else why not."""
    import psycopg

    try:
        with psycopg.connect(_libpq(url), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as err:
        return f"cannot connect to {_libpq(url)}: {str(err).strip().splitlines()[0]}"
    return None


def postgres_execute(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def fresh_postgres_database(prefix: str, *, seeded: bool = False) -> Iterator[str]:
    """A new PostgreSQL database for the block, dropped afterwards: empty, or with ``seeded``
    migrated and holding the baseline demo bank (a copy of one seeded once per test run).

    Skips the test when the server is not reachable, unless KESHENG_REQUIRE_POSTGRES=1 (CI),
    which makes that a failure.
    """
    admin = postgres_admin_url()
    problem = postgres_problem(admin)
    if problem:
        if os.environ.get("KESHENG_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (KESHENG_REQUIRE_POSTGRES=1) but {problem}")
        pytest.skip(f"PostgreSQL run skipped: {problem}")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    template = f' TEMPLATE "{_postgres_template(admin)}"' if seeded else ""
    postgres_execute(admin, f'CREATE DATABASE "{name}"{template}')
    try:
        yield re.sub(r"/[^/]*$", f"/{name}", admin)
    finally:
        _close_connections_to(name)
        postgres_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# The apps made on each throwaway database (``make_app``), by database name: their pools are
# closed before the database is dropped.
_APPS: dict[str, list[Flask]] = {}


def _close_connections_to(name: str) -> None:
    """Close what the block's apps, engines and sessions left open on database ``name``: their
    pools, then any connection object nothing refers to any more. Left to the garbage collector,
    such a connection warned (ResourceWarning, an error in this suite) in whichever later test
    happened to collect it: with tests on two workers, a test of improvement pages failed so."""
    import gc
    import warnings

    from app.extensions import db

    for app in _APPS.pop(name, []):
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


# The baseline demo bank takes seconds to seed (its year of complaints goes through the real
# intake): it is seeded once per test run and per backend, then copied for each database that
# needs it (PostgreSQL clones a template database; SQLite copies the file).
_SEEDED: dict[str, str] = {}


def _seed_into(database_url: str) -> None:
    from app.extensions import db

    app = make_app(database_url)
    with app.app_context():
        migrate_to_head()
        seed_baseline()
        db.session.remove()
        db.engine.dispose()  # (a template database must have no connection when it is cloned)


def _postgres_template(admin: str) -> str:
    if "postgresql" not in _SEEDED:
        name = f"kesheng_seeded_{uuid.uuid4().hex[:10]}"
        postgres_execute(admin, f'CREATE DATABASE "{name}"')
        atexit.register(postgres_execute, admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _seed_into(re.sub(r"/[^/]*$", f"/{name}", admin))
        _SEEDED["postgresql"] = name
    return _SEEDED["postgresql"]


def seeded_sqlite_database(path: str | os.PathLike) -> str:
    """A SQLite database at ``path``, migrated and holding the baseline demo bank; its URL."""
    if "sqlite" not in _SEEDED:
        folder = tempfile.mkdtemp(prefix="kesheng-seeded-")
        atexit.register(shutil.rmtree, folder, True)
        template = os.path.join(folder, "seeded.db")
        _seed_into(f"sqlite:///{template}")
        _SEEDED["sqlite"] = template
    source, target = sqlite3.connect(_SEEDED["sqlite"]), sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return f"sqlite:///{path}"


def make_app(database_url: str, **overrides) -> Flask:
    from app import create_app

    config = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "CELERY_BROKER_URL": None,
        # Never a developer's retrained models under instance/: tests use the shipped ones.
        "NLP_MODEL_DIR": os.path.join(tempfile.gettempdir(), f"kesheng-test-nlp-{os.getpid()}"),
    }
    config.update(overrides)
    app = create_app(config)
    if database_url.startswith("postgresql"):  # (closed before its database is dropped)
        _APPS.setdefault(database_url.rsplit("/", 1)[-1], []).append(app)
    return app


def upgrade_in_subprocess(env: dict[str, str]) -> None:
    """``flask db upgrade`` in a child process with ``env`` (for servers the tests start)."""
    import subprocess
    import sys
    from pathlib import Path

    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def migrate_to_head() -> None:
    from flask_migrate import upgrade

    upgrade()


def racing_app(database_url: str, threads: int) -> Flask:
    """An app on a database of its own (``own_postgres``, or ``seeded_postgres`` with the
    baseline demo bank) for ``threads`` sessions at once: a pool that large, schema migrated."""
    from app.extensions import db

    app = make_app(database_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": threads + 2})
    with app.app_context():
        migrate_to_head()
        db.session.remove()
    return app


def at_once(app: Flask, work: Callable[[int], object], n: int) -> list[object]:
    """Run ``work(0)`` … ``work(n - 1)`` in n threads released together by a barrier, each in
    its own app context and session; returns what each returned, or ``repr`` of what it
    raised (in the order they finished)."""
    import threading

    from app.extensions import db

    barrier = threading.Barrier(n)
    outcomes: list[object] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                outcome = work(i)
            except Exception as err:  # noqa: BLE001  (the caller asserts on it)
                outcome = repr(err)
            finally:
                db.session.remove()
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def seed_baseline() -> None:
    from app.services import demo

    demo.seed(customers=40, responses=0, audit_history=False)


def csrf_token(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def selected_value(html: str, name: str) -> str:
    """The value a browser submits for the select ``name`` as the page opens."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    options = re.findall(r"<option[^>]*>", select)
    chosen = [o for o in options if re.search(r"\bselected\b", o)] or options[:1]
    return re.search(r'value="([^"]*)"', chosen[0]).group(1)


def post_new_user(client: FlaskClient, page: str, **fields: str):
    """The administrator's new-user form (``page``, its HTML) submitted with ``fields``."""
    return client.post("/admin/users", data={"csrf_token": csrf_token(page), **fields})


class AuthActions:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str = "agent", password: str = PASSWORD, **kwargs):
        page = self.client.get("/login")
        token = csrf_token(page.get_data(as_text=True))
        return self.client.post(
            "/login",
            data={"username": username, "password": password, "csrf_token": token},
            **kwargs,
        )

    def logout(self):
        page = self.client.get("/", follow_redirects=True)  # (a signed-in user's start page)
        token = csrf_token(page.get_data(as_text=True))
        return self.client.post("/logout", data={"csrf_token": token})


def post_case_action(client: FlaskClient, complaint, action: str, **fields):
    """Post one of a complaint page's action forms as the page does: its CSRF token and the
    case version the page shows, the fields under the action's prefix."""
    from app.extensions import db

    db.session.refresh(complaint)  # the version the page shows
    page = client.get(f"/staff/complaints/{complaint.id}").get_data(as_text=True)
    data = {f"{action}-csrf_token": csrf_token(page), f"{action}-version": complaint.version}
    data |= {f"{action}-{name}": value for name, value in fields.items()}
    return client.post(f"/staff/complaints/{complaint.id}/{action}", data=data)
