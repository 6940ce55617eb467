"""SQLite connections gather planner statistics by themselves (PRAGMA optimize now and then)."""

from __future__ import annotations

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


def test_a_long_lived_sqlite_connection_analyses_the_tables_it_queries(tmp_path):
    """Without ANALYZE's statistics SQLite guesses how selective an index is (and sorted every
    open complaint instead of reading a queue page off its index). After some use a pooled
    connection runs PRAGMA optimize on check-in, which analyses the table its queries used;
    then again each time its uses double, a handful of checks in all."""
    engine = _engine(tmp_path)
    _use(engine, QUEUE, db_setup.OPTIMIZE_AFTER_USES - 5)
    assert _stats(engine) == []  # not yet: a connection analyses only after some use
    _use(engine, QUEUE, 10)
    assert ("case_row", "ix_case_status") in _stats(engine)
    checks: list[int] = []
    with engine.connect() as conn:  # the pool's one connection: count its later checks
        raw, record = conn.connection.dbapi_connection, conn.connection._connection_record
        raw.set_trace_callback(
            lambda sql: checks.append(record.info["kesheng_uses"]) if "optimize" in sql else None
        )
    _use(engine, QUEUE, 8 * db_setup.OPTIMIZE_AFTER_USES)
    first = db_setup.OPTIMIZE_AFTER_USES
    assert checks == [2 * first, 4 * first, 8 * first]
    engine.dispose()


def test_a_connection_that_queried_other_tables_at_first_still_analyses_the_queue(tmp_path):
    """A worker's connection that served other requests (complaint intakes) by its first check
    and queue pages afterwards gets the queue table analysed at its next check, not an hour
    later: PRAGMA optimize only looks at the tables this connection has queried."""
    engine = _engine(tmp_path)
    _use(engine, OTHER, db_setup.OPTIMIZE_AFTER_USES + 5)
    assert ("case_row", "ix_case_status") not in _stats(engine)
    _use(engine, QUEUE, db_setup.OPTIMIZE_AFTER_USES + 10)  # past twice the first check's uses
    assert ("case_row", "ix_case_status") in _stats(engine)
    engine.dispose()


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
