"""With a broker, the jobs of one short window in a process go out as one message."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from app.extensions import db
from app.jobs import broker
from app.services import analysis, rollups, rollups_tracking
from tests.jobs.test_celery_worker import REDIS_URL, require_redis
from tests.support import make_app


@pytest.fixture
def queued(tmp_path):
    require_redis()
    queue = f"kesheng-test-{uuid.uuid4().hex[:8]}"
    app = make_app(
        f"sqlite:///{tmp_path / 'batch.db'}", CELERY_BROKER_URL=REDIS_URL, CELERY_QUEUE=queue
    )
    client = redis.Redis.from_url(REDIS_URL)
    broker.enable_batching()  # as gunicorn's post_fork does for a web worker
    try:
        yield app, client, queue
    finally:
        broker.enable_batching(False)
        client.delete(queue)


def _messages(client, queue) -> list[dict]:
    out = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        args = json.loads(base64.b64decode(message["body"]))[0]
        out.append({"task": message["headers"]["task"], "args": args})
    return out


def test_many_texts_and_cells_make_one_message_each(queued):
    app, client, queue = queued
    with app.app_context():
        for n in range(25):
            analysis.enqueue("response", n + 1)
        for branch in (1, 2, 2):
            dirty = rollups.DirtyCells()
            dirty.cells["satisfaction"].add((rollups.local_day(datetime.now(UTC)), branch))
            rollups_tracking._enqueue(dirty)
        assert client.llen(queue) == 0  # nothing sent yet: the window is still open
        broker.flush_batches()
        db.session.remove()
    messages = {m["task"]: m["args"] for m in _messages(client, queue)}
    assert sorted(messages) == ["kesheng.analyze_texts", "kesheng.refresh_rollups"]
    assert messages["kesheng.analyze_texts"] == [[["response", n + 1] for n in range(25)]]
    cells = messages["kesheng.refresh_rollups"][0]["satisfaction"]
    assert sorted(branch for _, branch in cells) == [1, 2]


def test_without_batching_each_job_is_sent_at_once(queued):
    app, client, queue = queued
    broker.enable_batching(False)  # a CLI command or a Celery worker
    with app.app_context():
        analysis.enqueue("complaint", 3)
        assert client.llen(queue) == 1  # sent before the call returned, not 0.2 s later
        analysis.enqueue("complaint", 4)
        assert client.llen(queue) == 2


def test_a_window_closes_by_itself(queued):
    app, client, queue = queued
    with app.app_context():
        analysis.enqueue("complaint", 7)
        analysis.enqueue("complaint", 7)  # the same text twice: analysed once
    deadline = time.monotonic() + 5
    while client.llen(queue) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.llen(queue) == 1
    (message,) = _messages(client, queue)
    assert message == {"task": "kesheng.analyze_texts", "args": [[["complaint", 7]]]}


PRELOAD = """
import sys
from app.jobs import broker
from tests.support import make_app

app = make_app("sqlite://", CELERY_BROKER_URL="redis://127.0.0.1:1/0")  # nothing listens there
assert "kombu.transport.redis" not in sys.modules
with app.app_context():
    broker.preload_transport()  # imports only: a connection attempt would fail here
assert "kombu.transport.redis" in sys.modules and "redis" in sys.modules
with make_app("sqlite://").app_context():
    broker.preload_transport()  # no broker: nothing to import
print("ok")
"""


def test_the_broker_transport_is_imported_without_connecting():
    """gunicorn's master imports the transport before forking (no worker's first batch pays
    for the imports), without opening a connection: Redis may be down at start."""
    done = subprocess.run(
        [sys.executable, "-c", PRELOAD],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip().endswith("ok"), done.stderr
