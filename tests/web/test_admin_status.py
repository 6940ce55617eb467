"""运行状态 (/admin/status): the administrator sees whether the database, the task queue and the
background work are healthy, with the figures behind each verdict (正常 / 注意 / 异常) and what
to do; a broker that does not answer makes the page say so at once, never hang, and so does a
broker no worker listens on; in production, a message channel that only reaches the development
outbox is 异常; only the administrator opens it, and opening it writes nothing."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text, update

import nlp
from app.extensions import db
from app.models import AuditLog, Invitation, OutboundMessage, Survey, TextAnalysis, utcnow
from app.models.outbox import OutboxMessage
from app.services import notify, responses, survey_triggers
from app.services.customers import CustomerData
from app.services.rollups import TZ
from app.services.system_status import invitation_status, waited
from tests import factories
from tests.jobs.test_celery_worker import require_redis
from tests.services.test_complaints import new as new_complaint
from tests.services.test_submission_path import _form
from tests.services.test_survey_services import gateway  # noqa: F401 (fixture)
from tests.support import TEST_SECRET, make_app

SECTIONS = {
    "status-db": "数据库",
    "status-broker": "任务队列",
    "status-channels": "消息通道",
    "status-analysis": "文本分析",
    "status-notices": "投诉告知",
    "status-outbox": "调查消息发件箱",
    "status-invitations": "待发送的调查邀请",
    "status-intake": "待生成的答卷",
}


def _page(client) -> str:
    response = client.get("/admin/status")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _section(html: str, anchor: str) -> str:
    """One section's words, tags taken out and entities decoded."""
    match = re.search(rf'<section [^>]*id="{anchor}".*?</section>', html, re.S)
    assert match, f"the page has no section {anchor}"
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", match.group(0))))


def _verdict(html: str, anchor: str) -> str:
    heading = re.search(rf'<h2 id="{anchor}-title"[^>]*>.*?</h2>', html, re.S).group(0)
    return re.search(r'class="status-badge status-\w+">(\S+)</span>', heading).group(1)


def _figure(html: str, anchor: str, label: str) -> int:
    words = _section(html, anchor)
    match = re.search(rf" {label} (\d+) [条份]", words)
    assert match, f"{label} not in {words}"
    return int(match.group(1))


def _said(html: str, anchor: str, sentence: str) -> bool:
    """Whether the section says ``sentence`` (tags and line breaks aside)."""
    return re.sub(r"\s+", "", sentence) in re.sub(r"\s+", "", _section(html, anchor))


# --- the page ------------------------------------------------------------------------------


def test_the_administrator_sees_every_section_and_the_menu_entry(client, auth):
    auth.login("admin")
    response = client.get("/admin/status")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    for anchor, title in SECTIONS.items():
        assert title in _section(html, anchor)
        assert _verdict(html, anchor) in ("正常", "注意", "异常")
    menu = re.search(r'<nav class="mainnav"[^>]*>(.*?)</nav>', html, re.S).group(1)
    assert '<a href="/admin/status" class="active">运行状态</a>' in menu
    assert menu.index("审计日志") < menu.index("运行状态")  # beside the other admin pages
    backend = "PostgreSQL" if db.session.get_bind().dialect.name == "postgresql" else "SQLite"
    assert f"数据库类型 {backend}" in _section(html, "status-db")
    assert nlp.model_version() in _section(html, "status-analysis")  # the active model


def test_the_revision_line_shows_the_head(client, auth, app):
    config = app.extensions["migrate"].migrate.get_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    auth.login("admin")
    html = _page(client)
    assert _said(html, "status-db", f"结构版本 数据库 {head}，程序 {head}，一致")
    assert _verdict(html, "status-db") == "正常"


@pytest.mark.parametrize("behind", [True, False])
def test_a_schema_not_at_the_head_is_an_error_that_says_what_to_do(
    client, auth, app, db_session, behind
):
    config = app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    older = script.get_revision(head).down_revision if behind else "0123456789ab"
    db_session.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": older})
    auth.login("admin")
    html = _page(client)
    assert _verdict(html, "status-db") == "异常"
    assert _said(html, "status-db", f"数据库 {older}，程序 {head}，不一致")
    upgrade = _said(html, "status-db", "数据库结构未升级，请运行 flask --app wsgi db upgrade")
    assert upgrade is behind  # (a revision the code does not know is not fixed by upgrading)
    assert _said(html, "status-db", "不在本程序的迁移记录中") is not behind


# --- the task queue ------------------------------------------------------------------------


def test_without_a_broker_jobs_run_in_the_web_process(client, auth, app):
    assert not app.config.get("CELERY_BROKER_URL")
    auth.login("admin")
    html = _page(client)
    assert "未配置：后台任务在 Web 进程内执行" in _section(html, "status-broker")
    assert _verdict(html, "status-broker") == "正常"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:1/0", "redis://127.0.0.1:1/0"),  # nobody listens there
        ("redis://:s3cret@127.0.0.1:1/0", "redis://:**@127.0.0.1:1/0"),
        ("redis://127.0.0.1:port/0", "无法解析的地址"),  # (kombu cannot even read it)
    ],
)
def test_a_broker_that_does_not_answer_is_an_error_shown_at_once(
    client, auth, app, monkeypatch, url, shown
):
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", url)
    auth.login("admin")
    started = time.monotonic()
    html = _page(client)
    assert time.monotonic() - started < 3
    words = _section(html, "status-broker")
    assert _verdict(html, "status-broker") == "异常"
    assert shown in words and "无法连接" in words and "s3cret" not in html
    assert "检查 Redis 服务是否运行" in words
    assert re.search(r'<h2 id="status-overall"[^>]*>.*?status-error">异常<', html, re.S)


ROOT = Path(__file__).resolve().parents[2]
# A Redis database of these tests' own (emptied before and after each test that uses it):
# Celery's broadcasts are scoped to the database number, so no other test's worker answers here.
WORKER_REDIS_URL = os.environ.get("KESHENG_TEST_STATUS_REDIS_URL", "redis://127.0.0.1:6379/11")


@pytest.fixture
def own_redis():
    """WORKER_REDIS_URL, emptied (only that database) before and after the test."""
    import redis

    require_redis()
    broker = redis.Redis.from_url(WORKER_REDIS_URL, socket_connect_timeout=2)
    broker.flushdb()
    yield WORKER_REDIS_URL
    broker.flushdb()
    broker.close()


def test_a_broker_no_worker_listens_on_is_an_error_shown_within_the_cap(
    client, auth, app, monkeypatch, own_redis
):
    """The broker answers but no worker does (the worker stopped while beat kept queueing):
    the page said 正常, with only a hint about a growing number."""
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", own_redis)
    auth.login("admin")
    started = time.monotonic()
    html = _page(client)
    assert time.monotonic() - started < 3.5  # (1 s for the workers' answers, at most 1.5)
    words = _section(html, "status-broker")
    assert "连接 可以连接" in words and "后台任务进程 没有在线的 worker" in words
    assert _verdict(html, "status-broker") == "异常"
    assert _said(html, "status-broker", "没有在线的后台任务进程（celery worker）")
    assert _said(html, "status-broker", "celery -A app.jobs.worker worker --loglevel INFO")
    assert re.search(r'<h2 id="status-overall"[^>]*>.*?status-error">异常<', html, re.S)


@pytest.fixture
def celery_worker(own_redis, tmp_path):
    """A real Celery worker on ``own_redis``, taking tasks from a queue of its own."""
    queue = f"kesheng-status-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'worker.db'}",  # (never used: no task is sent)
        "SECRET_KEY": TEST_SECRET,
        "REDIS_URL": own_redis,
        "CELERY_QUEUE": queue,
    }
    env.pop("CELERY_BROKER_URL", None)
    env.pop("KESHENG_ENV", None)
    log = open(tmp_path / "worker.log", "wb")  # noqa: SIM115  (closed below)
    command = [sys.executable, "-m", "celery", "-A", "app.jobs.worker", "worker"]
    options = ["--pool", "solo", "-Q", queue, "--without-gossip", "--without-mingle"]
    proc = subprocess.Popen(
        [*command, *options, "--without-heartbeat", "--loglevel", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield {"queue": queue, "log": tmp_path / "worker.log"}
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_a_worker_that_answers_on_the_queue_makes_the_queue_healthy(
    client, auth, app, monkeypatch, celery_worker
):
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", WORKER_REDIS_URL)
    monkeypatch.setitem(app.config, "CELERY_QUEUE", celery_worker["queue"])
    auth.login("admin")
    # (the worker is starting: on a loaded two-core machine it answered after more than 20 s)
    deadline, words = time.monotonic() + 90, ""
    while "1 个在线" not in words and time.monotonic() < deadline:
        html = _page(client)
        words = _section(html, "status-broker")
    assert "1 个在线，1 个处理本队列" in words, celery_worker["log"].read_text()[-2000:]
    assert f"（队列 {celery_worker['queue']}）" in words
    assert _verdict(html, "status-broker") == "正常"
    # The same worker, but the web process queues its jobs elsewhere (CELERY_QUEUE differs)
    monkeypatch.setitem(app.config, "CELERY_QUEUE", "kesheng-elsewhere")
    html = _page(client)
    assert _verdict(html, "status-broker") == "异常"
    assert _said(html, "status-broker", "在线的 worker 都不从队列 kesheng-elsewhere 取任务")
    assert _said(
        html,
        "status-broker",
        "celery -A app.jobs.worker worker -Q kesheng-elsewhere --loglevel INFO",
    )


# --- the message channels ------------------------------------------------------------------


def test_outside_production_the_development_outbox_is_normal_with_a_note(client, auth, app):
    assert app.config["ENV_NAME"] != "production" and not app.config.get("SURVEY_CHANNEL_BACKENDS")
    auth.login("admin")
    html = _page(client)
    assert _verdict(html, "status-channels") == "正常"
    words = _section(html, "status-channels")
    assert (
        "短信（sms） 开发用发件箱：只记录在数据库中，不发出（SURVEY_CHANNEL_BACKENDS 未设置此渠道）"
        in words
    )
    assert _said(
        html,
        "status-channels",
        "短信（sms）、电子邮件（email）、微信（wechat）、手机银行推送（app）使用开发用发件箱",
    )
    assert _said(html, "status-channels", "这是开发和测试环境")


@pytest.mark.parametrize(
    ("backends", "left_out"),
    [
        ({}, "短信（sms）、电子邮件（email）、微信（wechat）、手机银行推送（app）"),  # the audit's
        ({"sms": "gateway", "email": "smtp"}, "微信（wechat）、手机银行推送（app）"),
    ],
)
def test_in_production_a_channel_left_to_the_outbox_is_an_error_naming_it_and_the_setting(
    client, auth, app, monkeypatch, backends, left_out
):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    monkeypatch.setitem(app.config, "SURVEY_CHANNEL_BACKENDS", backends)
    monkeypatch.setitem(
        app.config, "SURVEY_GATEWAY_URL", "https://u:s3cret@sms.bank.example:8443/send?key=k"
    )
    monkeypatch.setitem(app.config, "SURVEY_SMTP_HOST", "smtp.bank.example")
    monkeypatch.setitem(app.config, "SURVEY_SMTP_PORT", 25)  # (other tests leave theirs)
    auth.login("admin")
    html = _page(client)
    assert _verdict(html, "status-channels") == "异常"
    assert re.search(r'<h2 id="status-overall"[^>]*>.*?status-error">异常<', html, re.S)
    assert _said(html, "status-channels", f"生产环境中，{left_out}只进入开发用发件箱")
    assert _said(html, "status-channels", "被记为“已发送”，却不会离开本机，客户收不到")
    assert _said(
        html,
        "status-channels",
        "请在 SURVEY_CHANNEL_BACKENDS 中为这些渠道指定 gateway 或 smtp"
        "（如 sms=gateway,email=smtp），并设置 SURVEY_GATEWAY_URL / SURVEY_SMTP_HOST，"
        "然后重启 Web 进程、worker 和 beat",
    )
    words = _section(html, "status-channels")
    if backends:
        assert "短信（sms） HTTP 短信/消息网关 sms.bank.example:8443" in words
        assert "电子邮件（email） SMTP 邮件服务器 smtp.bank.example:25" in words
    assert "s3cret" not in html and "key=k" not in html


def test_in_production_a_channel_set_to_the_outbox_on_purpose_is_a_warning(
    client, auth, app, monkeypatch
):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    monkeypatch.setitem(app.config, "BANK_NAME", "江南农村商业银行")
    monkeypatch.setitem(app.config, "SURVEY_GATEWAY_URL", "https://sms.bank.example/send")
    every = {"sms": "gateway", "email": "smtp", "wechat": "gateway", "app": "outbox"}
    monkeypatch.setitem(app.config, "SURVEY_CHANNEL_BACKENDS", every)
    auth.login("admin")
    html = _page(client)
    assert _verdict(html, "status-channels") == "注意"
    assert _said(
        html, "status-channels", "手机银行推送（app）在 SURVEY_CHANNEL_BACKENDS 中设为 outbox"
    )
    assert not _said(html, "status-channels", "只进入开发用发件箱")
    monkeypatch.setitem(app.config, "SURVEY_CHANNEL_BACKENDS", {**every, "app": "gateway"})
    html = _page(client)
    assert _verdict(html, "status-channels") == "正常"
    assert "开发用发件箱" not in _section(html, "status-channels")


def test_in_production_the_placeholder_bank_name_is_an_error(client, auth, app, monkeypatch):
    """A bank that did not set BANK_NAME showed its customers 客声银行 on every page and SMS."""
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    monkeypatch.setitem(app.config, "SURVEY_GATEWAY_URL", "https://sms.bank.example/send")
    every = {"sms": "gateway", "email": "smtp", "wechat": "gateway", "app": "gateway"}
    monkeypatch.setitem(app.config, "SURVEY_CHANNEL_BACKENDS", every)
    monkeypatch.setitem(app.config, "BANK_NAME", "客声银行")
    auth.login("admin")
    html = _page(client)
    assert _verdict(html, "status-channels") == "异常"
    assert _said(html, "status-channels", "BANK_NAME 未设置")
    monkeypatch.setitem(app.config, "BANK_NAME", "江南农村商业银行")
    assert _verdict(_page(client), "status-channels") == "正常"
    monkeypatch.setitem(app.config, "ENV_NAME", "staging")
    monkeypatch.setitem(app.config, "BANK_NAME", "客声银行")  # a demo or test install: fine
    assert "BANK_NAME" not in _section(_page(client), "status-channels")


def test_production_start_up_warns_of_the_placeholder_bank_name(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="app")
    make_app(f"sqlite:///{tmp_path / 'start.db'}", ENV_NAME="production")
    make_app(f"sqlite:///{tmp_path / 'named.db'}", ENV_NAME="production", BANK_NAME="江南银行")
    named = [r.getMessage() for r in caplog.records if "BANK_NAME is not set" in r.getMessage()]
    assert len(named) == 1


@pytest.mark.parametrize(
    ("backends", "warned"),
    [
        ({}, "sms, email, wechat, app"),
        ({"sms": "gateway", "email": "smtp", "wechat": "outbox"}, "app"),
        ({"sms": "gateway", "email": "smtp", "wechat": "gateway", "app": "outbox"}, None),
    ],
)
def test_production_start_up_logs_one_line_for_channels_left_to_the_outbox(
    tmp_path, caplog, backends, warned
):
    caplog.set_level(logging.WARNING, logger="app")
    app = make_app(
        f"sqlite:///{tmp_path / 'start.db'}",
        ENV_NAME="production",
        SURVEY_CHANNEL_BACKENDS=backends,
        SURVEY_GATEWAY_URL="https://sms.bank.example/send",
    )
    lines = [r.getMessage() for r in caplog.records if r.name == app.logger.name]
    outbox = [line for line in lines if "development outbox" in line]
    if warned is None:
        assert outbox == []
        return
    assert len(outbox) == 1 and "\n" not in outbox[0]
    assert outbox[0].startswith(
        f"SURVEY_CHANNEL_BACKENDS leaves {warned} to the development outbox"
    )
    assert "SURVEY_CHANNEL_BACKENDS=sms=gateway,email=smtp" in outbox[0]
    assert "SURVEY_GATEWAY_URL / SURVEY_SMTP_HOST" in outbox[0]


def test_outside_production_start_up_logs_nothing_about_the_outbox(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="app")
    make_app(f"sqlite:///{tmp_path / 'start.db'}", ENV_NAME="staging")
    assert not [r for r in caplog.records if "development outbox" in r.getMessage()]


# --- the background work -------------------------------------------------------------------


def test_a_failed_analysis_is_counted_and_says_how_to_retry(client, auth, monkeypatch):
    auth.login("admin")
    before = _figure(_page(client), "status-analysis", "失败待重试")

    def broken(*args, **kwargs):
        raise RuntimeError("模型文件损坏")

    monkeypatch.setattr(nlp, "analyze", broken)
    new_complaint()  # analysed inline after its commit (no broker): the model fails
    html = _page(client)
    assert _figure(html, "status-analysis", "失败待重试") == before + 1
    assert _verdict(html, "status-analysis") == "注意"
    words = _section(html, "status-analysis")
    assert "RuntimeError: 模型文件损坏" in words  # the latest error
    assert _said(html, "status-analysis", "也可立即重试： flask --app wsgi nlp analyze")


def test_analyses_given_up_or_waiting_too_long_say_what_to_run(client, auth, db_session):
    complaint = new_complaint()
    row = db_session.scalar(
        select(TextAnalysis).where(
            TextAnalysis.source_type == "complaint", TextAnalysis.source_id == complaint.id
        )
    )
    auth.login("admin")
    before = _page(client)
    given_up = _figure(before, "status-analysis", "失败已停止重试")
    pending = _figure(before, "status-analysis", "等待分析")
    row.status, row.attempts, row.created_at = "failed", 5, utcnow() - timedelta(days=3)
    other = new_complaint(content="手机银行转账一直失败，客服电话也打不通。")
    db_session.execute(
        update(TextAnalysis)
        .where(TextAnalysis.source_type == "complaint", TextAnalysis.source_id == other.id)
        .values(status="pending", created_at=utcnow() - timedelta(hours=2))
    )
    db_session.flush()
    html = _page(client)
    assert _figure(html, "status-analysis", "失败已停止重试") == given_up + 1
    assert _figure(html, "status-analysis", "等待分析") == pending + 1
    assert _verdict(html, "status-analysis") == "异常"  # waiting past the 10-minute catch-up
    words = _section(html, "status-analysis")
    assert re.search(r"等待分析 \d+ 条（最早一条 [-\d: ]+，已等待 2 小时）", words)
    assert re.search(r"失败已停止重试 \d+ 条（最早一条 [-\d: ]+，已等待 3 天）", words)
    day = (utcnow() - timedelta(days=3)).astimezone(TZ).date().isoformat()
    assert _said(html, "status-analysis", f"flask --app wsgi nlp analyze --since {day}")
    assert _said(html, "status-analysis", "后台任务可能没有运行")


def test_a_failed_notice_is_counted_and_an_overdue_retry_is_an_error(
    client,
    auth,
    db_session,
    gateway,  # noqa: F811
):
    auth.login("admin")
    before = _figure(_page(client), "status-notices", "失败待重试")
    gateway.fail = True
    complaint = new_complaint()  # its acknowledgement SMS is refused by the gateway
    html = _page(client)
    assert _figure(html, "status-notices", "失败待重试") == before + 1
    assert _verdict(html, "status-notices") == "注意"
    assert _said(html, "status-notices", "自动重试")
    notice = db_session.scalar(
        select(OutboxMessage).where(OutboxMessage.related_id == complaint.id)
    )
    notice.next_attempt_at = utcnow() - timedelta(minutes=30)  # the retry job never came
    db_session.flush()
    html = _page(client)
    assert _verdict(html, "status-notices") == "异常"
    assert "其中 1 条已过重试时间" in _section(html, "status-notices")
    assert _said(html, "status-notices", "立即补发： flask --app wsgi complaints deliver-notices")


def test_a_queued_notice_whose_job_was_lost_is_counted(
    client,
    auth,
    db_session,
    monkeypatch,
    gateway,  # noqa: F811
):
    auth.login("admin")
    before = _figure(_page(client), "status-notices", "排队发送")
    monkeypatch.setattr(notify, "_queue_delivery", lambda message_id: None)  # the job is lost
    complaint = new_complaint()
    html = _page(client)
    assert _figure(html, "status-notices", "排队发送") == before + 1
    db_session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.related_id == complaint.id, OutboxMessage.status == "queued")
        .values(next_attempt_at=utcnow() - timedelta(minutes=20))
    )
    html = _page(client)
    assert "超过 10 分钟仍未发出" in _section(html, "status-notices")
    assert _verdict(html, "status-notices") == "异常"


def test_failed_survey_messages_of_the_last_day_are_counted(
    client,
    auth,
    db_session,
    gateway,  # noqa: F811
):
    auth.login("admin")
    html = _page(client)
    total, retrying = (_figure(html, "status-outbox", w) for w in ("消息总数", "待重试"))
    gateway.fail = True
    factories.survey_link("STATUS1")  # the SMS gateway refuses the invitation
    html = _page(client)
    assert _figure(html, "status-outbox", "消息总数") == total + 1
    assert _figure(html, "status-outbox", "待重试") == retrying + 1
    assert _verdict(html, "status-outbox") == "注意"
    db_session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.status == "failed")
        .values(created_at=utcnow() - timedelta(days=2))  # out of the 24-hour window
    )
    html = _page(client)
    assert _figure(html, "status-outbox", "待重试") == 0


def test_accepted_submissions_waiting_to_become_responses_are_counted(client, auth):
    auth.login("admin")
    before = _figure(_page(client), "status-intake", "等待生成")
    now = utcnow()
    token = factories.survey_link("STATUS2", now=now - timedelta(hours=2))[0]
    form = _form(token, score="4", comment="", now=now - timedelta(minutes=20), version=True)
    responses.accept_link(token, form, now=now - timedelta(minutes=20))  # its job was lost
    html = _page(client)
    assert _figure(html, "status-intake", "等待生成") == before + 1
    assert _verdict(html, "status-intake") == "异常"
    assert _said(html, "status-intake", "立即生成： flask --app wsgi surveys expand-intake")


def _scheduled_invitation(external_id: str, channel: str, due: datetime) -> Invitation:
    """An invitation a trigger rule scheduled for ``due`` (the real scheduling path)."""
    survey = db.session.scalar(select(Survey).where(Survey.code == "branch-service"))
    event_type = f"status.check{external_id.lower()}"
    survey_triggers.add_rule(
        event_type=event_type, survey_id=survey.id, action="survey", channel=channel,
        delay_hours=0,
    )  # fmt: skip
    customer = CustomerData(
        external_id, "孙丽", phone="13800005555", email=f"{external_id.lower()}@example.com"
    )
    [scheduled] = survey_triggers.record_event(
        survey_triggers.EventData(event_type, customer, due, branch_code="HZ01")
    )
    invitation = db.session.get(Invitation, scheduled["id"])
    assert invitation.status == "queued" and invitation.token_hash is None
    return invitation


def test_a_due_invitation_not_sent_is_counted_and_an_error_past_10_minutes(
    client, auth, db_session
):
    """The worker stopped (or failed every minute: a worker without the web's PII_KEY): a
    triggered invitation stayed queued, and the page said 正常."""
    auth.login("admin")
    before = _page(client)
    due, late = _figure(before, "status-invitations", "到期待发送"), _late(before)
    invitation = _scheduled_invitation("STATUS3", "email", utcnow() - timedelta(minutes=4))
    html = _page(client)
    assert _figure(html, "status-invitations", "到期待发送") == due + 1
    assert _late(html) == late  # (4 minutes: the job, every minute, may still be on its way)
    invitation.scheduled_at = utcnow() - timedelta(minutes=25)
    db_session.flush()
    html = _page(client)
    assert _late(html) == late + 1
    assert _verdict(html, "status-invitations") == "异常"
    assert _said(html, "status-invitations", "份到期的调查邀请超过 10 分钟仍未发送")
    assert _said(html, "status-invitations", "PII_KEY 是否与 Web 进程相同")
    assert _said(html, "status-invitations", "立即发送： flask --app wsgi surveys dispatch")
    words = _section(html, "status-invitations")
    assert re.search(r"最早一份到期于 [-\d: ]+，已等待 [^）]+）", words)
    factories.expire_invitation(invitation.id)  # a link run out is not waiting any more
    assert _figure(_page(client), "status-invitations", "到期待发送") == due


def _late(html: str) -> int:
    match = re.search(r"其中 (\d+) 份超过 10 分钟仍未发送", _section(html, "status-invitations"))
    return int(match.group(1)) if match else 0


def test_a_due_invitation_held_by_the_quiet_hours_is_not_late(db_session):
    """SMS waits through the quiet hours (21:00–08:00 Beijing time): not late then, nor in
    the first 10 minutes after; e-mail never waits."""
    day = (utcnow() - timedelta(days=2)).astimezone(TZ).date()
    evening = datetime(day.year, day.month, day.day, 20, 30, tzinfo=TZ)
    night, morning = evening + timedelta(hours=1), evening + timedelta(hours=11, minutes=35)
    moments = (night, morning, morning + timedelta(minutes=10))  # 21:30, 08:05, 08:15
    before = [invitation_status(now) for now in moments]
    _scheduled_invitation("STATUS4", "sms", evening)
    _scheduled_invitation("STATUS5", "email", evening)
    after = [invitation_status(now) for now in moments]
    assert [a.due - b.due for a, b in zip(after, before, strict=True)] == [2, 2, 2]
    # 21:30: the SMS is held; 08:05: the quiet hours ended 5 minutes ago; 08:15: late
    assert [a.late - b.late for a, b in zip(after, before, strict=True)] == [1, 1, 2]
    assert after[0].quiet_now == ("短信", "微信", "手机银行推送") and after[2].quiet_now == ()


# --- who may open it ----------------------------------------------------------------------


@pytest.mark.parametrize("username", ["agent", "manager", "hq"])
def test_only_the_administrator_may_open_it(client, auth, username):
    auth.login(username)
    response = client.get("/admin/status")
    assert response.status_code == 403 and "没有权限" in response.get_data(as_text=True)
    assert "/admin/status" not in client.get("/", follow_redirects=True).get_data(as_text=True)


def test_a_visitor_is_sent_to_sign_in(client):
    response = client.get("/admin/status")
    assert response.status_code == 302 and "/login" in response.location


def test_opening_it_writes_nothing_and_is_not_audited(client, auth, db_session):
    auth.login("admin")
    entries = db_session.scalar(select(func.count()).select_from(AuditLog))
    _page(client)
    _page(client)
    assert db_session.scalar(select(func.count()).select_from(AuditLog)) == entries


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (0, "不到 1 分钟"),
        (25, "25 分钟"),
        (60, "1 小时"),
        (185, "3 小时 5 分钟"),
        (24 * 60, "1 天"),
        (2 * 24 * 60 + 4 * 60 + 30, "2 天 4 小时"),
    ],
)
def test_waiting_times_read_as_people_say_them(minutes, words):
    now = utcnow()
    assert waited(now - timedelta(minutes=minutes), now) == words
