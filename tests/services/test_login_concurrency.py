"""Wrong passwords sent side by side are checked no more often than the limit allows
(PostgreSQL, real commits from several connections).

Each attempt counted the failures before any of the others was recorded, so 8 of 24 parallel
guesses at one account were checked against a limit of 5.
"""

from __future__ import annotations

import threading

import pytest

from tests import support

pytestmark = pytest.mark.postgres

ATTEMPTS = 12


def test_parallel_guesses_are_checked_at_most_the_limit(seeded_postgres, monkeypatch):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models import LoginAttempt
    from app.services import auth

    app = support.make_app(
        seeded_postgres,
        LOGIN_MAX_FAILURES=5,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": ATTEMPTS + 2, "max_overflow": 2},
    )
    checked: list[int] = []
    lock = threading.Lock()
    real_verify = auth.verify_password

    def counted(stored, given):
        with lock:
            checked.append(1)
        return real_verify(stored, given)

    monkeypatch.setattr(auth, "verify_password", counted)

    def guess(n: int) -> str:
        try:
            auth.authenticate("agent", f"wrong-guess-{n}", ip=f"10.0.0.{n}")
        except auth.TooManyAttempts:
            return "throttled"
        except auth.BadCredentials:
            return "wrong"
        return "signed in"

    outcomes = support.at_once(app, guess, ATTEMPTS)
    assert len(checked) <= 5, outcomes
    assert outcomes.count("wrong") == len(checked) and "signed in" not in outcomes
    assert outcomes.count("throttled") == ATTEMPTS - len(checked)
    with app.app_context():
        recorded = db.session.scalar(
            select(func.count(LoginAttempt.id)).where(LoginAttempt.username == "agent")
        )
        assert recorded == ATTEMPTS  # (every attempt is on record, refused ones too)
        db.session.remove()
        db.engine.dispose()
