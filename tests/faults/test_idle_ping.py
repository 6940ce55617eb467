"""Dead PostgreSQL connections are caught by a ping, but only after the connection idled."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from app import db_setup
from app.config import normalise_database_url
from tests import support


def test_a_connection_killed_while_idle_is_replaced_before_the_request_uses_it(
    own_postgres, monkeypatch
):
    """A connection used a moment ago is not pinged (no round trip per request); one that
    idled is, and when the server dropped it meanwhile (a restart, a firewall) the pool
    replaces it without the caller seeing an error."""
    pings: list[int] = []
    real_ping = db_setup.ping

    def counted(dbapi_conn) -> None:
        pings.append(1)
        real_ping(dbapi_conn)

    monkeypatch.setattr(db_setup, "ping", counted)
    engine = create_engine(normalise_database_url(own_postgres), pool_size=1, max_overflow=0)
    try:
        backend = "SELECT pg_backend_pid()"
        with engine.connect() as conn:
            first = conn.execute(text(backend)).scalar_one()
        with engine.connect() as conn:  # back in use at once: no ping
            assert conn.execute(text(backend)).scalar_one() == first
        assert pings == []
        support.postgres_execute(
            support.postgres_admin_url(), f"SELECT pg_terminate_backend({int(first)})"
        )
        monkeypatch.setattr(db_setup, "PING_AFTER_IDLE_SECONDS", 0.0)  # (it idled long enough)
        with engine.connect() as conn:
            second = conn.execute(text(backend)).scalar_one()
            assert conn.execute(text("SELECT 41 + 1")).scalar_one() == 42
        assert second != first and pings == [1]
        with engine.begin() as conn:  # a live connection passes its ping and is kept
            assert conn.execute(text(backend)).scalar_one() == second
            conn.execute(text("CREATE TEMP TABLE t (n int)"))  # (the ping left no transaction
            conn.execute(text("INSERT INTO t VALUES (1)"))  # open: this one is ours)
        assert pings == [1, 1]
    finally:
        engine.dispose()
