"""SQLite connections gather planner statistics by themselves (ANALYZE now and then)."""

from __future__ import annotations

import sqlite3

from sqlalchemy import create_engine, text

from app import db_setup

QUEUE = "SELECT id FROM case_row WHERE status = 'open' ORDER BY due LIMIT 5"
OTHER = "SELECT max(id) FROM other_row"


def _engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'stats.db'}", pool_size=1, max_overflow=0)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE case_row (id INTEGER PRIMARY KEY, status TEXT, due INT)"))
        conn.execute(text("CREATE INDEX ix_case_status ON case_row (status)"))
        conn.execute(text("CREATE TABLE other_row (id INTEGER PRIMARY KEY)"))
        conn.execute(
            text("INSERT INTO case_row (status, due) VALUES (:s, :d)"),
            [{"s": ("open", "closed")[n % 5 != 0], "d": n} for n in range(3000)],
        )
    return engine


def _stats(engine) -> list:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT name FROM sqlite_master WHERE name='sqlite_stat1'"))
        if found.first() is None:
            return []
        return conn.execute(text("SELECT tbl, idx FROM sqlite_stat1")).all()


def _use(engine, sql: str, times: int) -> None:
    for _ in range(times):
        with engine.connect() as conn:
            conn.execute(text(sql))


def test_a_long_lived_sqlite_connection_analyses_the_tables_by_itself(tmp_path, monkeypatch):
    """Without ANALYZE's statistics SQLite guesses how selective an index is (and sorted every
    open complaint instead of reading a queue page off its index). After some use a pooled
    connection analyses the tables that need it on check-in, whichever tables it queried
    itself (``PRAGMA optimize`` only looks at those: a worker that served complaint intakes
    first never analysed the queue's table); then it checks again each time its uses double."""
    engine = _engine(tmp_path)
    _use(engine, OTHER, db_setup.OPTIMIZE_AFTER_USES - 5)
    assert _stats(engine) == []  # not yet: a connection checks only after some use
    _use(engine, OTHER, 10)
    assert ("case_row", "ix_case_status") in _stats(engine)  # never queried here
    checks: list[int] = []
    check = db_setup.analyse_stale_tables

    def counted(dbapi_conn):
        checks.append(len(checks))
        return check(dbapi_conn)

    monkeypatch.setattr(db_setup, "analyse_stale_tables", counted)
    first = db_setup.OPTIMIZE_AFTER_USES
    _use(engine, QUEUE, 7 * first)  # uses ~210 -> ~1610: checks at 400, 800 and 1600
    assert len(checks) == 3
    engine.dispose()


def test_a_table_is_analysed_from_a_thousand_rows_and_again_after_growing_fourfold(tmp_path):
    conn = sqlite3.connect(tmp_path / "grow.db", isolation_level=None)
    conn.execute("CREATE TABLE small (id INTEGER PRIMARY KEY, k INT)")
    conn.execute("CREATE INDEX ix_small ON small (k)")
    conn.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, k INT)")
    conn.execute("CREATE INDEX ix_big ON big (k)")

    def grow(table: str, to: int) -> None:
        have = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO {table} (k) VALUES (?)",  # noqa: S608
            [(n % 7,) for n in range(to - have)],
        )
        conn.execute("COMMIT")

    grow("small", db_setup.ANALYSE_FROM_ROWS - 1)
    grow("big", 3000)
    assert db_setup.analyse_stale_tables(conn) == ["big"]
    assert db_setup.analyse_stale_tables(conn) == []  # nothing changed: nothing to do
    grow("big", 11_999)  # under four times the 3,000 rows analysed
    grow("small", db_setup.ANALYSE_FROM_ROWS)
    assert db_setup.analyse_stale_tables(conn) == ["small"]
    grow("big", 12_000)
    assert db_setup.analyse_stale_tables(conn) == ["big"]
    assert dict(conn.execute("SELECT idx, stat FROM sqlite_stat1")) == {
        "ix_big": "12000 1715",
        "ix_small": "1000 143",
    }
    conn.close()


def test_exact_statistics_let_the_queue_page_use_its_partial_index(tmp_path):
    """A sampled analysis (``analysis_limit``) reads an index's first entries only: it made
    the status index look selective (and, before the merged index became partial, the
    mostly-NULL merged index), and the planner sorted every open case instead of reading the
    page off the partial queue index."""
    engine = create_engine(f"sqlite:///{tmp_path / 'stats.db'}", pool_size=1, max_overflow=0)
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE case_row (id INTEGER PRIMARY KEY, merged INT, status TEXT, due INT)")
        )
        # as app.models.complaint: the merged rows only (with the NULLs indexed, even exact
        # statistics make "merged IS NULL" look selective: they keep one average per value)
        conn.execute(
            text("CREATE INDEX ix_case_merged ON case_row (merged) WHERE merged IS NOT NULL")
        )
        conn.execute(text("CREATE INDEX ix_case_status ON case_row (status)"))
        conn.execute(
            text(
                "CREATE INDEX ix_case_queue ON case_row (due, id) "
                "WHERE merged IS NULL AND status IN ('accepted', 'received')"
            )
        )
        conn.execute(  # a backlog: most cases in work, a few closed ones
            text("INSERT INTO case_row (merged, status, due) VALUES (NULL, :s, :d)"),
            [
                {"s": "closed" if n % 14 == 0 else ("received", "accepted")[n % 2 == 0], "d": n}
                for n in range(1, 12001)
            ],
        )
    queue = (
        "SELECT id FROM case_row WHERE merged IS NULL AND status IN ('accepted', 'received') "
        "ORDER BY due, id LIMIT 30"
    )
    _use(engine, queue, db_setup.OPTIMIZE_AFTER_USES + 1)
    with engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.execute(text("EXPLAIN QUERY PLAN " + queue)))
    assert "ix_case_queue" in plan and "TEMP B-TREE" not in plan, plan
    engine.dispose()
