"""运行状态 (/admin/status): the administrator sees whether the database, the task queue and the
background work are healthy, with the figures behind each verdict (正常 / 注意 / 异常) and what
to do; a broker that does not answer makes the page say so at once, never hang; only the
administrator opens it, and opening it writes nothing."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from html import unescape

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text, update

import nlp
from app.extensions import db
from app.models import AuditLog, OutboundMessage, TextAnalysis, utcnow
from app.models.outbox import OutboxMessage
from app.services import notify, responses
from app.services.rollups import TZ
from app.services.system_status import waited
from tests import factories
from tests.jobs.test_celery_worker import REDIS_URL, require_redis
from tests.services.test_complaints import new as new_complaint
from tests.services.test_submission_path import _form
from tests.services.test_survey_services import gateway  # noqa: F401 (fixture)

SECTIONS = {
    "status-db": "数据库",
    "status-broker": "任务队列",
    "status-analysis": "文本分析",
    "status-notices": "投诉告知",
    "status-outbox": "调查消息发件箱",
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


def test_a_broker_that_answers_is_healthy(client, auth, app, monkeypatch):
    require_redis()
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", REDIS_URL)
    auth.login("admin")
    html = _page(client)
    assert _verdict(html, "status-broker") == "正常"
    assert "连接 可以连接" in _section(html, "status-broker")


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
