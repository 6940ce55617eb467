"""Quick fault tests: an unreachable broker, and a SQLite file that cannot be written."""

from __future__ import annotations

import shutil
import sqlite3
import time

import pytest
from celery import Celery

from app.jobs import broker
from tests import factories
from tests.web.test_survey_pages import ANSWERS


def test_unreachable_broker_falls_back_without_stalling_each_request(monkeypatch):
    monkeypatch.setattr(broker, "_down_until", 0.0)
    celery = Celery("fault-test", broker="redis://127.0.0.1:1/0", set_as_current=False)
    ran: list[int] = []

    @celery.task(name="fault.noop")
    def noop(n):
        return n

    started = time.perf_counter()
    assert broker.send(noop, (1,), fallback=lambda: ran.append(1)) is False
    first = time.perf_counter() - started
    started = time.perf_counter()
    assert broker.send(noop, (2,), fallback=lambda: ran.append(2)) is False
    second = time.perf_counter() - started
    assert ran == [1, 2]  # nothing dropped: the fallback ran both times
    assert first < 5 and second < 0.05  # the second request does not wait for the broker


def test_a_broker_that_never_answers_falls_back_within_seconds(monkeypatch, tmp_path):
    """A Redis that accepts connections and never replies (hung, or a proxy before a dead one)
    held each request that queued a job until gunicorn killed the worker at 30 s (a 500 with
    an empty body): the app's transport options time the publish out and the fallback runs."""
    import socket
    import threading

    from app.jobs.analysis import analyze_pending
    from tests.support import make_app

    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.extend(iter(lambda: server.accept()[0], None)),
                     daemon=True).start()  # fmt: skip
    port = server.getsockname()[1]
    # (without the timeouts the publish would wait for ever: the server hangs up after 15 s)
    hang_up = threading.Timer(15, lambda: [c.close() for c in held])
    hang_up.start()
    monkeypatch.setattr(broker, "_down_until", 0.0)
    app = make_app(
        f"sqlite:///{tmp_path / 'hung.db'}", CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0"
    )
    ran: list[int] = []
    try:
        with app.app_context():
            started = time.perf_counter()
            assert broker.send(analyze_pending, (), fallback=lambda: ran.append(1)) is False
            waited = time.perf_counter() - started
    finally:
        hang_up.cancel()
        server.close()
        for connection in held:
            connection.close()
    assert ran == [1] and waited < 10


def test_read_only_sqlite_gives_a_chinese_503_and_stays_intact(app, tmp_path):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("a read-only database file is a SQLite matter")
    from app import create_app
    from app.extensions import db

    source = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    copy = tmp_path / "ro.db"
    with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    rw_app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{copy}", "SECRET_KEY": "t"})
    with rw_app.app_context():
        token, _ = factories.survey_link("RO001", name="周九", phone="13811112222")
        db.engine.dispose()
    url = f"sqlite:///file:{copy}?mode=ro&uri=true"
    ro_app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t"})
    response = ro_app.test_client().post(f"/s/{token}", data=ANSWERS)
    assert response.status_code == 503
    assert "服务暂不可用" in response.get_data(as_text=True)
    with ro_app.app_context():
        db.engine.dispose()
    check = sqlite3.connect(copy)
    try:
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        check.close()
    shutil.rmtree(tmp_path, ignore_errors=True)
