"""/healthz answers 503 while the database's schema is not the code's: a database never
migrated, or code deployed before ``db upgrade``, answered 200 ok while every page failed with
500 (deployment audit, finding 6), so a load balancer sent it traffic."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from app.extensions import db
from tests.support import fresh_postgres_database, make_app, migrate_to_head

NOT_UPGRADED = {"status": "unavailable", "database": "not_upgraded"}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """A database nothing was ever created in, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with fresh_postgres_database("kesheng_healthz") as url:
        yield url


def test_a_database_never_migrated_is_503_not_upgraded(empty_database):
    app = make_app(empty_database)
    try:
        client = app.test_client()
        response = client.get("/healthz")
        assert response.status_code == 503 and response.get_json() == NOT_UPGRADED
        # the pages it protects do fail on it (SQLite: "no such table" reads as unavailable)
        assert client.get("/complaint").status_code in (500, 503)
    finally:
        with app.app_context():
            db.engine.dispose()


def test_after_db_upgrade_the_same_database_is_ok(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'upgraded.db'}")
    client = app.test_client()
    assert client.get("/healthz").status_code == 503
    with app.app_context():
        migrate_to_head()
        db.session.remove()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True).strip() == '{"database":"ok","status":"ok"}'


@pytest.mark.parametrize(
    ("behind", "status", "answer"),
    [
        (True, 503, {"status": "unavailable", "database": "not_upgraded"}),
        (False, 200, {"status": "ok", "database": "ok"}),
    ],
)
def test_a_schema_behind_the_code_is_503_one_ahead_of_it_is_not(
    client, app, db_session, behind, status, answer
):
    """Code deployed before ``db upgrade`` (the database one revision behind) is taken out of
    the load balancer; older code on a database a newer release upgraded (a revision this code
    does not know) keeps serving through a rolling deploy."""
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    head = script.get_current_head()
    other = script.get_revision(head).down_revision if behind else "0123456789ab"
    db_session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": other})
    response = client.get("/healthz")
    assert response.status_code == status
    assert response.get_json() == answer
    db_session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
