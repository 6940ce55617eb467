"""A save made through the web (no broker: the rollup refresh runs in the request) does not
wait behind a long refresh holding the rollup lock (PostgreSQL).

At 2,000 units the ten-minute safety net held the lock for minutes; a complaint posted
meanwhile was stored, but its request waited for the lock until gunicorn cut it off: a 500 for
a saved case. In a request the refresh tries for a moment, then leaves its cells to a thread
that waits its turn; a worker (or the command line) waits its turn itself.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, delete, func, select, text

from tests import factories, support

pytestmark = pytest.mark.postgres


def test_a_refresh_in_a_request_leaves_its_cells_when_the_lock_is_held(seeded_postgres):
    from app.extensions import db
    from app.jobs import dashboards
    from app.jobs.dashboards import refresh_rollups
    from app.models import SatisfactionRollup
    from app.services import rollups

    app = support.make_app(seeded_postgres)
    cells = rollups.DirtyCells()
    cells.add("satisfaction", datetime.now(UTC), None)
    # an older cell whose day rows are missing (as if a backdated save's refresh was lost):
    # outside the two days the safety net recounts
    with app.app_context():
        at = datetime.now(UTC) - timedelta(days=10)
        factories.scored_responses("HZ01", at, [5])
        day, branch_id = rollups.local_day(at), factories.branch("HZ01").id
        cells.add("satisfaction", at, branch_id)
        cell = [SatisfactionRollup.day == day, SatisfactionRollup.branch_id == branch_id]
        db.session.execute(
            delete(SatisfactionRollup).where(SatisfactionRollup.period == "d", *cell)
        )
        db.session.commit()
        db.session.remove()
    engine = create_engine(seeded_postgres)
    holder = engine.connect()
    try:
        holder.execute(text("BEGIN"))
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": rollups.LOCK_KEY})
        with app.test_request_context("/api/v1/complaints", method="POST"):
            started = time.monotonic()
            assert refresh_rollups(cells.to_json()) == -1  # (left to a thread that waits)
            waited = time.monotonic() - started
            db.session.remove()
        assert waited < rollups.IN_REQUEST_LOCK_SECONDS + 2
        holder.execute(text("COMMIT"))
        # the cells left by the request are recounted once the lock is free
        for thread in dashboards._retries:
            thread.join(timeout=30)
        with app.app_context():
            count = select(func.count()).where(SatisfactionRollup.period == "d", *cell)
            assert db.session.scalar(count.execution_options(include_all_branches=True)) > 0
            db.session.remove()
        with app.app_context():  # outside a request (a worker, the command line) it runs
            assert refresh_rollups(cells.to_json()) >= 0
            db.session.remove()
    finally:
        holder.close()
        engine.dispose()
        with app.app_context():
            db.engine.dispose()
