"""SQLite writers queue on one kernel lock (flock on <database>.writelock), across threads and
processes, instead of polling SQLite's lock with the busy handler's sleeps."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading

import pytest
from sqlalchemy import select

from app.models.ratelimit import RateLimitCounter
from app.services import ratelimit
from tests.support import make_app


def test_a_use_case_waits_for_the_write_lock_and_then_commits(app, tmp_path):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the write lock file is a SQLite matter")
    source = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    copy = tmp_path / "w.db"
    with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    writer_app = make_app(f"sqlite:///{copy}")
    from app.extensions import db

    holder = os.open(f"{copy}.writelock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another process's writer, as it were
    done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with writer_app.app_context():
                ratelimit.hit("writer-test", window_seconds=60)
                db.session.remove()
        except BaseException as err:  # reported below
            errors.append(err)
        finally:
            done.set()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert not done.wait(0.5)  # queued behind the lock holder, not failing
    finally:
        os.close(holder)  # releases the lock
    assert done.wait(10) and not errors, errors
    thread.join()
    with writer_app.app_context():
        hits = db.session.scalar(
            select(RateLimitCounter.hits).where(RateLimitCounter.key == "writer-test")
        )
        db.session.remove()
        db.engine.dispose()
    assert hits == 1
