"""The production path: a saved complaint is analysed by a real Celery worker on Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AnalysisStatus, FollowUp, Intake, Response, TextAnalysis
from app.services import complaints, demo
from tests import factories
from tests.support import TEST_SECRET, make_app, upgrade_in_subprocess

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("KESHENG_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ASPECTS = ("attitude", "skill", "efficiency", "disclosure", "environment")


def redis_problem() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as err:
        return f"Redis at {REDIS_URL} is not reachable: {err}"
    return None


def require_redis() -> None:
    """Skip without Redis, unless CI requires it (then fail)."""
    problem = redis_problem()
    if problem:
        if os.environ.get("KESHENG_REQUIRE_REDIS") == "1":
            pytest.fail(problem)
        pytest.skip(problem)


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    require_redis()
    workdir = tmp_path_factory.mktemp("celery")
    queue = f"kesheng-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'worker.db'}",
        "SECRET_KEY": TEST_SECRET,
        "REDIS_URL": REDIS_URL,
        "CELERY_QUEUE": queue,
    }
    upgrade_in_subprocess(env)
    log = open(workdir / "worker.log", "wb")  # noqa: SIM115  (closed below)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "app.jobs.worker",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield {"db": env["DATABASE_URL"], "queue": queue, "log": workdir / "worker.log"}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def wait_for(app, predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            value = predicate()
            db.session.remove()
        if value:
            return value
        time.sleep(0.3)
    return None


def test_complaint_is_analysed_by_a_celery_worker(worker):
    app = make_app(worker["db"], CELERY_BROKER_URL=REDIS_URL, CELERY_QUEUE=worker["queue"])
    assert app.extensions["celery"].conf.task_always_eager is False
    with app.app_context():
        complaint, created = complaints.create_complaint(
            complaints.IntakeData(
                channel="app",
                name="钱女士",
                phone="13912345678",
                content="信用卡被盗刷了三千元，客服一直推脱不处理，我的电话13912345678，再不解决就起诉。",
            )
        )
        complaint_id = created and complaint.id
        row = db.session.scalar(
            select(TextAnalysis).where(
                TextAnalysis.source_type == "complaint", TextAnalysis.source_id == complaint_id
            )
        )
        # Saved with the complaint, before any worker ran: nothing can be lost from here on.
        assert row is not None and row.status in (AnalysisStatus.PENDING, AnalysisStatus.DONE)
        db.session.remove()

    def analysed():
        return db.session.scalar(
            select(TextAnalysis).where(
                TextAnalysis.source_type == "complaint",
                TextAnalysis.source_id == complaint_id,
                TextAnalysis.status == AnalysisStatus.DONE,
            )
        )

    done = wait_for(app, analysed)
    assert done is not None, worker["log"].read_text()[-3000:]
    assert "13912345678" not in done.redacted_text
    assert done.urgency in ("high", "critical")
    assert "kesheng.analyze_texts" in worker["log"].read_text()  # batched by the web process


def test_a_survey_submission_is_expanded_and_analysed_by_a_celery_worker(worker):
    seeding = make_app(worker["db"])  # no broker: the demo bank's own texts are analysed inline
    with seeding.app_context():
        demo.seed(customers=5, responses=0)
        token, _ = factories.survey_link("CW001", name="周先生", phone="13800007777")
        db.session.remove()
    app = make_app(worker["db"], CELERY_BROKER_URL=REDIS_URL, CELERY_QUEUE=worker["queue"])
    client = app.test_client()
    page = client.get(f"/s/{token}").get_data(as_text=True)
    form = {
        "q_overall": "1",
        "q_nps": "2",
        "q_wait_time": "gt30",
        **{f"q_aspects__{item}": "2" for item in ASPECTS},
        "q_effort": "2",
        "q_improve": "wait",
        "q_comment": "排队一个多小时没人管，电话13800007777",
    }
    assert all(f'name="{name}"' in page for name in form), "the form's fields changed"
    answered = client.post(f"/s/{token}", data=form)
    assert "提交成功" in answered.get_data(as_text=True)

    def expanded():
        return db.session.scalar(select(Response).join(Intake, Intake.response_id == Response.id))

    response = wait_for(app, expanded)
    assert response is not None, worker["log"].read_text()[-3000:]
    log = worker["log"].read_text()
    assert "surveys.expand_intake" in log

    def analysed():
        return db.session.scalar(
            select(TextAnalysis).where(
                TextAnalysis.source_type == "response",
                TextAnalysis.source_id == response.id,
                TextAnalysis.status == AnalysisStatus.DONE,
            )
        )

    done = wait_for(app, analysed)
    assert done is not None, worker["log"].read_text()[-3000:]
    assert "13800007777" not in done.redacted_text
    with app.app_context():
        assert db.session.scalar(select(FollowUp).where(FollowUp.source_response_id == response.id))
        assert "已提交过" in client.get(f"/s/{token}").get_data(as_text=True)


def test_an_integrators_invitation_is_sent_by_a_celery_worker(worker):
    """POST /api/v1/invitations answers at once (queued); the worker sends the message, with
    the link the integrator got, after the request's commit."""
    from app.models import Invitation, OutboundMessage

    seeding = make_app(worker["db"])
    with seeding.app_context():
        if db.session.scalar(select(Invitation.id).limit(1)) is None:
            demo.seed(customers=5, responses=0)
        _, secret = factories.api_token("invitations:write")
        db.session.remove()
    app = make_app(worker["db"], CELERY_BROKER_URL=REDIS_URL, CELERY_QUEUE=worker["queue"])
    reply = app.test_client().post(
        "/api/v1/invitations",
        json={
            "survey_code": "branch-service",
            "customer": {"external_id": "CW-INV-1", "name": "郑先生", "phone": "13800005555"},
            "channel": "sms",
        },
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert reply.status_code == 201, reply.get_json()
    created = reply.get_json()
    token = created["url"].rsplit("/", 1)[1]

    def sent():
        return db.session.scalar(
            select(OutboundMessage).where(
                OutboundMessage.invitation_id == created["id"], OutboundMessage.status == "sent"
            )
        )

    message = wait_for(app, sent)
    assert message is not None, worker["log"].read_text()[-3000:]
    assert token in message.body  # (the development outbox keeps the link it sent)
    assert "surveys.send_invitation" in worker["log"].read_text()
