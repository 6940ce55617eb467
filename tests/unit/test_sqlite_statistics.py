"""SQLite connections gather planner statistics by themselves (PRAGMA optimize now and then)."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from app import db_setup


def test_a_long_lived_sqlite_connection_analyses_the_tables_it_queries(tmp_path):
    """Without ANALYZE's statistics SQLite guesses how selective an index is (and sorted every
    open complaint instead of reading a queue page off its index). After some use a pooled
    connection runs PRAGMA optimize on check-in, which analyses the table its queries used;
    then not again before OPTIMIZE_EVERY_SECONDS."""
    engine = create_engine(f"sqlite:///{tmp_path / 'stats.db'}", pool_size=1, max_overflow=0)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE case_row (id INTEGER PRIMARY KEY, status TEXT, due INT)"))
        conn.execute(text("CREATE INDEX ix_case_status ON case_row (status)"))
        conn.execute(
            text("INSERT INTO case_row (status, due) VALUES (:s, :d)"),
            [{"s": ("open", "closed")[n % 5 != 0], "d": n} for n in range(3000)],
        )

    def stats() -> list:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT name FROM sqlite_master WHERE name='sqlite_stat1'"))
            if found.first() is None:
                return []
            return conn.execute(text("SELECT tbl, idx FROM sqlite_stat1")).all()

    for _ in range(db_setup.OPTIMIZE_AFTER_USES - 5):
        with engine.connect() as conn:
            conn.execute(text("SELECT id FROM case_row WHERE status = 'open' ORDER BY due LIMIT 5"))
    assert stats() == []  # not yet: a connection analyses only after some use
    for _ in range(10):
        with engine.connect() as conn:
            conn.execute(text("SELECT id FROM case_row WHERE status = 'open' ORDER BY due LIMIT 5"))
    assert ("case_row", "ix_case_status") in stats()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM sqlite_stat1"))
    for _ in range(db_setup.OPTIMIZE_AFTER_USES + 10):
        with engine.connect() as conn:
            conn.execute(text("SELECT id FROM case_row WHERE status = 'open' ORDER BY due LIMIT 5"))
    assert stats() == []  # (at most hourly per connection)
    engine.dispose()
