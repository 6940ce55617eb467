"""Fixtures: the app per database backend (SQLite and PostgreSQL), rolled back after each test.

The schema is built by the Alembic migrations, never by create_all. Each backend gets the demo
bank seeded once; every test then runs inside an outer transaction that is rolled back, so
service commits become savepoints (pallets-eco/flask-sqlalchemy #1171).
"""

from __future__ import annotations

import gc

import pytest

from tests import support

BACKENDS = ["sqlite", "postgresql"]
SKIPPED_POSTGRES: list[str] = []


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    """The backend's test database, migrated and holding the baseline demo bank."""
    if backend == "sqlite":
        yield support.seeded_sqlite_database(tmp_path_factory.mktemp("sqlite") / "test.db")
        return
    try:
        with support.fresh_postgres_database("kesheng_test", seeded=True) as url:
            yield url
    except pytest.skip.Exception as skipped:
        SKIPPED_POSTGRES.append(str(skipped).removeprefix("PostgreSQL run skipped: "))
        raise


@pytest.fixture
def own_postgres():
    """A PostgreSQL database of its own, for tests of real concurrency (nothing rolled back)."""
    with support.fresh_postgres_database("kesheng_own") as url:
        yield url


@pytest.fixture
def seeded_postgres():
    """``own_postgres`` migrated and holding the baseline demo bank."""
    with support.fresh_postgres_database("kesheng_own", seeded=True) as url:
        yield url


@pytest.fixture(scope="session")
def app(database_url):
    from app.extensions import db

    app = support.make_app(database_url)
    app.test_client_class = support.IsolatedClient
    with app.app_context():
        db.session.configure(join_transaction_mode="create_savepoint")
        support.migrate_to_head()  # (already at head: it holds the seeded baseline)
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _rollback(request):
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    from app.extensions import db

    ctx = app.app_context()
    ctx.push()
    engines, saved, opened = db.engines, dict(db.engines), []
    for key, engine in saved.items():
        conn = engine.connect()
        opened.append((conn, conn.begin()))
        engines[key] = conn
    yield
    db.session.remove()
    for conn, outer in opened:
        outer.rollback()
        conn.close()
    engines.update(saved)
    # per-process caches must not outlive the data the test rolled back
    from app.services import local_copies

    local_copies.forget_all()
    ctx.pop()


@pytest.fixture
def db_session(app):
    from app.extensions import db

    return db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(client):
    return support.AuthActions(client)


@pytest.fixture
def collect_spooled_uploads():
    """(see tests/uploads.py)"""
    yield
    gc.collect()


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter):
    if SKIPPED_POSTGRES:
        terminalreporter.write_line(
            f"NOTE: the PostgreSQL run was SKIPPED ({SKIPPED_POSTGRES[0]}); only SQLite was "
            "tested. Start PostgreSQL or set KESHENG_TEST_POSTGRES_URL to test both.",
            yellow=True,
            bold=True,
        )
