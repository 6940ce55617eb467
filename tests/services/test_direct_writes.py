"""Survey submissions written as direct statements (``app.db_direct``) on an engine of their own:
committed for real, values exactly as the ORM stores them, a used link or bad answers store
nothing, a connection the server dropped is replaced without the customer noticing, and a
database that refuses connections gives the Chinese 503 page, then recovers by itself.

These need real commits, so each backend gets a database of its own (not the rolled-back test
transaction, where ``db_direct.write`` joins the session's transaction instead)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests import factories, support
from tests.services.test_submission_path import _form

MOMENT = datetime(2026, 1, 31, 15, 30, 5, 123456, tzinfo=UTC)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def direct(request, tmp_path_factory):
    """(app, database url) with the demo bank, on a database of its own per backend."""
    if request.param == "sqlite":
        url = support.seeded_sqlite_database(tmp_path_factory.mktemp("direct") / "direct.db")
        yield _app(url), url
        return
    with support.fresh_postgres_database("kesheng_direct", seeded=True) as url:
        app = _app(url)
        yield app, url
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()


def _app(url: str):
    from app.extensions import db

    app = support.make_app(url)
    with app.app_context():
        support.migrate_to_head()
        db.session.remove()
    return app


def _link_and_form(app, ext: str, now: datetime = MOMENT) -> tuple[str, dict]:
    from app.extensions import db

    with app.app_context():
        token = factories.survey_link(ext, now=now - timedelta(hours=1))[0]
        form = _form(
            token, score="2", comment="柜台只开了一个窗口，排队太久", now=now, version=True
        )
        db.session.remove()
    return token, form


def _intake_count(app) -> int:
    from app.extensions import db
    from app.models import Intake

    with app.app_context():
        try:
            return db.session.scalar(select(func.count()).select_from(Intake))
        finally:
            db.session.remove()


def test_a_submission_is_committed_with_the_values_the_orm_would_store(direct):
    from app import db_direct
    from app.extensions import db
    from app.models import Intake, Response
    from app.services import responses

    app, _ = direct
    token, form = _link_and_form(app, "DIRECT1")
    with app.app_context():
        submitted = responses.submit_link(token, form, now=MOMENT)
        assert db_direct._EXTENSION in app.extensions  # the direct engine did the write
        db.session.remove()
    with app.app_context():  # a new session: only committed rows are seen
        intake = db.session.get(Intake, submitted.intake_id)
        assert intake.submitted_at == MOMENT  # aware UTC, microseconds kept
        assert intake.channel == "sms" and intake.response_id is not None
        response = db.session.get(Response, intake.response_id)
        assert response.submitted_at == MOMENT
        assert "柜台只开了一个窗口，排队太久" in response.answers.values()
        assert response.invitation_id == intake.invitation_id
        db.session.remove()


def test_a_used_link_and_invalid_answers_store_nothing_more(direct):
    from app.services import responses

    app, _ = direct
    token, form = _link_and_form(app, "DIRECT2")
    bad_token, bad_form = _link_and_form(app, "DIRECT3")
    bad_form = {key: ("99" if value == "2" else value) for key, value in bad_form.items()}
    with app.app_context():
        responses.submit_link(token, form, now=MOMENT)
    before = _intake_count(app)
    with app.app_context():
        with pytest.raises(responses.AlreadyAnswered):
            responses.submit_link(token, form, now=MOMENT)
        with pytest.raises(responses.AnswersInvalid):
            responses.submit_link(bad_token, bad_form, now=MOMENT)
        with pytest.raises(responses.NotFound):
            responses.submit_link("x" * 43, form, now=MOMENT)
    assert _intake_count(app) == before
    with app.app_context():  # the link with bad answers is still open
        good_form = _form(bad_token, score="4", comment="", now=MOMENT)
        responses.submit_link(bad_token, good_form, now=MOMENT)
    assert _intake_count(app) == before + 1


def _postgres_only(url: str, why: str = "connections the server drops are") -> str:
    if not url.startswith("postgresql"):
        pytest.skip(f"{why} a PostgreSQL matter")
    return re.sub(r"^.*/", "", url)


def _terminate_connections(name: str) -> None:
    support.postgres_execute(
        support.postgres_admin_url(),
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()",
    )


def test_a_connection_the_server_dropped_is_replaced_without_an_error(direct):
    from app.services import responses

    app, url = direct
    name = _postgres_only(url)
    first, first_form = _link_and_form(app, "DIRECT4")
    second, second_form = _link_and_form(app, "DIRECT5")
    with app.app_context():
        responses.submit_link(first, first_form, now=MOMENT)  # the pool now holds a connection
    before = _intake_count(app)
    _terminate_connections(name)  # as a PostgreSQL restart does
    with app.app_context():
        responses.submit_link(second, second_form, now=MOMENT)
    assert _intake_count(app) == before + 1


def test_while_the_database_refuses_connections_the_link_answers_503_then_recovers(direct):
    app, url = direct
    name = _postgres_only(url)
    token, form = _link_and_form(app, "DIRECT6", now=datetime.now(UTC))  # posted over HTTP
    before = _intake_count(app)
    page = app.test_client().get(f"/s/{token}").get_data(as_text=True)
    posted = re.search(r'name="_v" value="([^"]+)"', page)  # the page's hidden version field
    assert posted and posted.group(1) == form["_v"]
    admin = support.postgres_admin_url()
    support.postgres_execute(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        _terminate_connections(name)
        down = app.test_client().post(f"/s/{token}", data=form)
        assert down.status_code == 503
        assert "数据库暂时不可用" in down.get_data(as_text=True)
    finally:
        support.postgres_execute(admin, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    up = app.test_client().post(f"/s/{token}", data=form)
    assert up.status_code == 200 and "提交成功" in up.get_data(as_text=True)
    assert _intake_count(app) == before + 1


def test_disposing_the_apps_engine_closes_the_direct_engines_connections(direct):
    from app import db_direct
    from app.extensions import db
    from app.services import responses

    app, _ = direct
    token, form = _link_and_form(app, "DIRECT7")
    with app.app_context():
        responses.submit_link(token, form, now=MOMENT)
        engine = app.extensions[db_direct._EXTENSION][2]
        assert engine.pool.checkedin() >= 1  # the submission's connection, back in the pool
        db.engine.dispose()  # as at the end of a test run or a server shutdown
        assert engine.pool.checkedin() == 0
        db.session.remove()


@pytest.mark.parametrize("async_commit", [False, True])
def test_only_survey_intakes_skip_the_wal_flush_and_only_when_configured(direct, async_commit):
    """SURVEY_ASYNC_COMMIT turns synchronous_commit off on the direct engine's connections,
    which write nothing but survey intakes; every other write keeps waiting for the flush."""
    from app import db_direct
    from app.extensions import db
    from app.services import responses

    _, url = direct
    _postgres_only(url, "synchronous_commit is")
    app = support.make_app(url, SURVEY_ASYNC_COMMIT=async_commit)
    token, form = _link_and_form(app, f"DIRECT8{int(async_commit)}")
    setting = db_direct.Statement(select(func.current_setting("synchronous_commit").label("v")))
    try:
        with app.app_context():
            direct_value = db_direct.write(lambda run: run(setting, {})[0].v)
            session_value = db.session.scalar(select(func.current_setting("synchronous_commit")))
            db.session.remove()
            submitted = responses.submit_link(token, form, now=MOMENT)
    finally:
        with app.app_context():
            db.engine.dispose()
    assert (direct_value, session_value) == ("off" if async_commit else "on", "on")
    with app.app_context():
        from app.models import Intake

        assert db.session.get(Intake, submitted.intake_id) is not None
        db.session.remove()
        db.engine.dispose()
