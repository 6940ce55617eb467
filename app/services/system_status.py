"""运行状态: what the administrator's status page (``/admin/status``) shows of the background work.

Each function reads one part of the system and returns a small frozen dataclass: the figures,
and the advice they call for, each piece with its level (``Level``: 正常 / 注意 / 异常) and,
when a person has to act, the command or page that fixes it; a part stands at the level of
its worst advice. Nothing is written: the page is safe to reload at any time, and the broker
is only connected to, with a short timeout, never sent a message.

The levels follow one rule: 异常 (error) when the machinery itself is down or behind (the
database unreachable or not upgraded, the broker unreachable, work waiting far longer than
the periodic job that picks it up runs); 注意 (warn) when single items failed and wait for an
automatic retry, or were given up and need someone to look; 正常 otherwise, work in progress
included.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Any, TypeVar

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

import nlp
from app.extensions import db
from app.models import AnalysisStatus, Intake, OutboundMessage, OutboxMessage, TextAnalysis
from app.models.outbox import MessageStatus
from app.services import analysis
from app.services.channels import BACKOFF_MINUTES, MAX_DELIVERY_ATTEMPTS
from app.services.rollups import TZ

T = TypeVar("T")

BROKER_TIMEOUT = 1.5  # seconds to connect to the broker (the whole check: at most 0.5 s more)
RECENT = timedelta(hours=24)  # the window of the survey messages and of given-up notices
# Work older than this is behind: its periodic catch-up runs every minute (notices, survey
# retries, submissions) or every 10 minutes (text analysis), so it would have been done.
BEHIND = timedelta(minutes=10)
ANALYSIS_BEHIND = timedelta(minutes=30)
ERROR_CHARS = 200  # of an error message shown
RETRY_WORDS = "、".join(str(m) for m in BACKOFF_MINUTES)  # the channels' back-off, in minutes


class Level(IntEnum):
    """How a part of the system stands; the worst of several is their ``max``."""

    OK = 0
    WARN = 1
    ERROR = 2

    @property
    def label(self) -> str:
        return ("正常", "注意", "异常")[self]

    @property
    def css(self) -> str:
        return ("ok", "warn", "error")[self]


@dataclass(frozen=True)
class Advice:
    """What a figure calls for: how bad it is, a sentence, and the command to run (shown as
    code) when there is one. ``Level.OK``: a note, nothing wrong."""

    level: Level
    text: str
    command: str = ""


@dataclass(frozen=True, kw_only=True)
class Part:
    """What every part of the page has besides its figures."""

    advice: tuple[Advice, ...] = ()

    @property
    def level(self) -> Level:
        return max((a.level for a in self.advice), default=Level.OK)


def _advice(*pieces: tuple[Any, Advice]) -> tuple[Advice, ...]:
    """The pieces of advice whose condition holds, in order."""
    return tuple(piece for condition, piece in pieces if condition)


def _error_text(error: Any) -> str:
    """An error (an exception, or the message a row kept) as shown; "" for none."""
    if error is None or error == "":
        return ""
    return (str(error).strip() or type(error).__name__)[:ERROR_CHARS]


def _latest_error(column: Any, newest: Any, *where: Any) -> str:
    """The error kept by the newest (by ``newest``) row matching ``where``."""
    stmt = select(column).where(*where).order_by(newest.desc()).limit(1)
    return _error_text(db.session.scalar(stmt.execution_options(include_all_branches=True)))


def _not_running(late: str, every: str, command: str, now_words: str) -> Advice:
    """Work left waiting past its periodic catch-up: the jobs are not running."""
    return Advice(
        Level.ERROR,
        f"{late}：后台任务可能没有运行（请检查 Celery worker 和 beat；未配置任务队列时，请用 "
        f"cron {every}运行下面的命令）。{now_words}：",
        command,
    )


def _retried(what: str, check: str) -> Advice:
    """Messages a gateway refused, to be retried with the channels' back-off."""
    return Advice(
        Level.WARN,
        f"{what}按 {RETRY_WORDS} 分钟的间隔自动重试（共 {MAX_DELIVERY_ATTEMPTS} 次）；"
        f"持续失败时请检查{check}",
    )


def waited(since: datetime | None, now: datetime) -> str:
    """How long since ``since``, in Chinese: 不到 1 分钟, 25 分钟, 3 小时 5 分钟, 2 天 4 小时."""
    if since is None:
        return "—"
    minutes = max(0, int((now - since).total_seconds() // 60))
    if minutes < 1:
        return "不到 1 分钟"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} 天 {hours} 小时" if hours else f"{days} 天"
    if hours:
        return f"{hours} 小时 {minutes} 分钟" if minutes else f"{hours} 小时"
    return f"{minutes} 分钟"


# --- 数据库 -------------------------------------------------------------------------------

UPGRADE = "flask --app wsgi db upgrade"
BACKENDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass(frozen=True)
class DatabaseSection(Part):
    reachable: bool
    backend: str  # SQLite / PostgreSQL
    server_version: str
    location: str  # the file, or host:port/database (never the user or password)
    revision: str | None  # the Alembic revision the database is at
    head: str | None  # the code's


@functools.cache
def _migrations(script_location: str) -> tuple[str | None, frozenset[str]]:
    """The code's head revision and every revision it knows (read once per process: the
    code does not change under a running process)."""
    script = ScriptDirectory(script_location)
    return script.get_current_head(), frozenset(s.revision for s in script.walk_revisions())


def _location(url: Any) -> str:
    if url.get_backend_name() == "sqlite":
        return url.database or "(内存)"
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def database_status() -> DatabaseSection:
    """Reachable, which backend, and the schema's revision against the code's head."""
    config = current_app.extensions["migrate"].migrate.get_config()
    head, known = _migrations(config.get_main_option("script_location"))
    bind = db.session.get_bind()
    backend = BACKENDS.get(bind.dialect.name, bind.dialect.name)
    location = _location(bind.engine.url)
    try:
        db.session.execute(text("SELECT 1"))
        heads = MigrationContext.configure(db.session.connection()).get_current_heads()
    except SQLAlchemyError as err:
        db.session.rollback()
        down = Advice(
            Level.ERROR,
            f"数据库无法连接（{_error_text(err)}）：请检查数据库服务器是否运行，"
            "以及 DATABASE_URL 设置",
        )
        return DatabaseSection(False, backend, "", location, None, head, advice=(down,))
    version = ".".join(str(n) for n in (bind.dialect.server_version_info or ()))
    revision = ",".join(heads) or None
    unknown = any(h not in known for h in heads)
    advice = _advice(
        (
            revision != head and not unknown,
            Advice(Level.ERROR, "数据库结构未升级，请运行", UPGRADE),
        ),
        (
            unknown,
            Advice(
                Level.ERROR,
                "数据库的结构版本不在本程序的迁移记录中：数据库可能已由更新的程序版本升级，"
                "请确认部署的程序版本",
            ),
        ),
    )
    return DatabaseSection(True, backend, version, location, revision, head, advice=advice)


# --- 任务队列 -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokerSection(Part):
    configured: bool
    reachable: bool
    address: str  # the broker's URL, a password masked
    queue: str
    waiting: int | None  # messages waiting in the queue (None: unknown)
    error: str


def _in_time(work: Callable[[], T], seconds: float) -> T:
    """``work()`` in a thread of its own, given at most ``seconds``: a name server or a
    broker that never answers must not hold the page (the thread ends by itself later)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except Exception as err:  # noqa: BLE001  (handed to the caller below)
            box["error"] = err

    thread = threading.Thread(target=run, name="kesheng-status-probe", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"{seconds:g} 秒内没有应答")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _queue_length(connection: Any, queue: str) -> int:
    from amqp.exceptions import NotFound
    from kombu.exceptions import ChannelError

    try:
        return connection.default_channel.queue_declare(queue=queue, passive=True).message_count
    except (ChannelError, NotFound):  # (a queue nobody declared yet, or Redis's empty list)
        return 0


BROKER_DOWN = (
    "检查 Redis 服务是否运行，以及 CELERY_BROKER_URL（或 REDIS_URL）设置。恢复之前，请求中产生的"
    "任务在 Web 进程内执行或留待补做，周期任务（补做分析、告知重试、调查发送）不会运行；恢复后"
    "自动补做"
)


def _broker_down(address: str, queue: str, err: Exception, password: str | None) -> BrokerSection:
    error = re.sub(r"(://[^:/@\s]*:)[^@/\s]+@", r"\1**@", _error_text(err))
    if password:  # (an error that quotes the URL must not show the password)
        error = error.replace(password, "**")
    return BrokerSection(
        True, False, address, queue, None, error, advice=(Advice(Level.ERROR, BROKER_DOWN),)
    )


def broker_status() -> BrokerSection:
    """Whether the Celery broker the app sends its jobs to answers, through the app's own
    Celery configuration; with none configured, jobs run inline (the embedded set-up)."""
    url = current_app.config.get("CELERY_BROKER_URL")
    queue = current_app.config.get("CELERY_QUEUE") or "kesheng"
    if not url:
        return BrokerSection(False, False, "", queue, None, "")
    try:
        connection = current_app.extensions["celery"].connection_for_write(
            url,
            connect_timeout=BROKER_TIMEOUT,
            transport_options={"socket_timeout": BROKER_TIMEOUT, "max_retries": 0},
        )
    except Exception as err:  # noqa: BLE001  (a URL kombu cannot read: unknown scheme, bad port)
        return _broker_down("（无法解析的地址）", queue, err, None)
    password = connection.password
    address = connection.as_uri(mask="**" if password else "")  # (no ":**@" without one)

    def probe() -> int:
        try:
            connection.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT)
            return _queue_length(connection, queue)
        finally:
            connection.release()

    try:
        waiting = _in_time(probe, BROKER_TIMEOUT + 0.5)
    except Exception as err:  # noqa: BLE001  (whatever the broker did, the page says it)
        return _broker_down(address, queue, err, password)
    busy = Advice(Level.OK, "队列中有等待执行的任务：若这个数字持续增长，请检查 Celery worker 进程")
    return BrokerSection(True, True, address, queue, waiting, "", advice=_advice((waiting, busy)))


# --- 文本分析 -----------------------------------------------------------------------------

ANALYZE = "flask --app wsgi nlp analyze"
MODEL_FILES = (("情感模型", "sentiment.npz"), ("分类模型", "category.npz"))


@dataclass(frozen=True)
class ModelFile:
    name: str  # 情感模型 / 分类模型
    source: str  # 随附模型 / 本行重训模型 / 未训练
    installed_at: datetime | None  # a retrained file's time


@dataclass(frozen=True)
class AnalysisSection(Part):
    pending: int  # waiting for their first (or a requested) analysis
    pending_since: datetime | None
    retrying: int  # failed, to be retried automatically
    retrying_since: datetime | None
    given_up: int  # failed MAX_ATTEMPTS times: no more automatic retries
    given_up_since: datetime | None
    outdated: int  # analysed by another model version: re-analysed by the catch-up
    last_error: str
    model_version: str
    models: tuple[ModelFile, ...]
    versions: tuple[tuple[str, int], ...]  # model version, texts analysed by it (most first)


def _shipped(filename: str) -> Path:
    from nlp.category import DEFAULT_CATEGORY_MODEL_PATH
    from nlp.sentiment import DEFAULT_MODEL_PATH

    shipped = {"sentiment.npz": DEFAULT_MODEL_PATH, "category.npz": DEFAULT_CATEGORY_MODEL_PATH}
    return shipped[filename]


def active_models() -> tuple[ModelFile, ...]:
    """Which model files this process analyses with: the shipped ones or the bank's retrained
    ones (``flask nlp train``); without a category model, categories come from keyword rules."""
    from nlp.active import resolve

    found = []
    for name, filename in MODEL_FILES:
        path = resolve(filename, _shipped(filename))
        if not path.exists():
            found.append(ModelFile(name, "未训练（按关键词规则分类）", None))
        elif path == _shipped(filename):
            found.append(ModelFile(name, "随附模型", None))
        else:
            installed = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            found.append(ModelFile(name, "本行重训模型", installed))
    return tuple(found)


def _analysis_counts() -> tuple[dict[str, int], dict[str, datetime], dict[str, int]]:
    """(texts per state, the oldest of each state's, texts analysed per model version), in
    one pass over the analyses (every branch's)."""
    ta = TextAnalysis
    rows = db.session.execute(
        select(ta.status, ta.model_version, ta.attempts, func.count(), func.min(ta.created_at))
        .group_by(ta.status, ta.model_version, ta.attempts)
        .execution_options(include_all_branches=True)
    ).all()
    current = nlp.model_version()
    count = {"pending": 0, "retrying": 0, "given_up": 0, "outdated": 0}
    since: dict[str, datetime] = {}
    versions: dict[str, int] = {}
    for status, version, attempts, n, oldest in rows:
        key = ""  # (skipped: an empty text, nothing to analyse)
        if status == AnalysisStatus.DONE:
            versions[version or "—"] = versions.get(version or "—", 0) + n
            key = "outdated" if version != current else ""
        elif status == AnalysisStatus.PENDING:
            key = "pending"
        elif status == AnalysisStatus.FAILED:
            key = "given_up" if attempts >= analysis.MAX_ATTEMPTS else "retrying"
        if key:
            count[key] += n
            if oldest is not None and (key not in since or oldest < since[key]):
                since[key] = oldest
    return count, since, versions


def analysis_status(now: datetime) -> AnalysisSection:
    """Texts waiting for analysis, failed ones (to be retried, or given up), and the model
    versions: the active one and those the stored results came from."""
    count, since, versions = _analysis_counts()
    tries = analysis.MAX_ATTEMPTS
    pending_since = since.get("pending")
    first_given_up = since.get("given_up")
    advice = _advice(
        (
            pending_since is not None and pending_since <= now - ANALYSIS_BEHIND,
            _not_running("有文本等待分析已超过 30 分钟", "每 10 分钟", ANALYZE, "立即补做"),
        ),
        (
            count["retrying"],
            Advice(
                Level.WARN,
                f"分析失败的文本会自动重试（每条最多 {tries} 次）；也可立即重试：",
                ANALYZE,
            ),
        ),
        (
            first_given_up,
            Advice(
                Level.WARN,
                f"{count['given_up']} 条文本已失败 {tries} 次，不再自动重试。排除错误原因（见上方"
                "最近一次错误）后重新分析：",
                f"{ANALYZE} --since {first_given_up.astimezone(TZ).date()}"
                if first_given_up
                else "",
            ),
        ),
        (
            count["outdated"],
            Advice(
                Level.OK,
                "模型更新后，旧模型的分析结果由周期任务自动重新分析；也可立即运行：",
                ANALYZE,
            ),
        ),
    )
    return AnalysisSection(
        count["pending"], pending_since, count["retrying"], since.get("retrying"),
        count["given_up"], first_given_up, count["outdated"],
        _latest_error(TextAnalysis.last_error, TextAnalysis.updated_at,
                      TextAnalysis.status == AnalysisStatus.FAILED),
        nlp.model_version(), active_models(),
        tuple(sorted(versions.items(), key=lambda item: (-item[1], item[0]))),
        advice=advice,
    )  # fmt: skip


# --- 投诉告知 -----------------------------------------------------------------------------

DELIVER_NOTICES = "flask --app wsgi complaints deliver-notices"


@dataclass(frozen=True)
class NoticeSection(Part):
    queued: int  # handed to the gateway's job, not yet delivered
    stuck: int  # of those, whose job was lost and not picked up by the catch-up in time
    retrying: int  # refused by the gateway, to be retried
    retrying_since: datetime | None
    overdue: int  # of those, whose retry is overdue (the catch-up is not running)
    given_up: int  # in the last 24 hours: every attempt failed, no more retries
    last_error: str


def notice_status(now: datetime) -> NoticeSection:
    """Customers' complaint notices (``notify``) still on their way: queued, failed and to be
    retried, and those given up in the last 24 hours. (Only messages through a real gateway
    are ever queued or failed; the rest are recorded as sent.)"""
    m, late = OutboxMessage, now - BEHIND
    queued, failed = m.status == MessageStatus.QUEUED, m.status == MessageStatus.FAILED
    in_flight = select(
        func.count().filter(queued),
        func.count().filter(queued, m.next_attempt_at <= late),
        func.count().filter(failed),
        func.min(m.created_at).filter(failed),
        func.count().filter(failed, m.next_attempt_at <= late),
    ).where(m.next_attempt_at.is_not(None))  # (set while a message is on its way only)
    queued_n, stuck, retrying, retrying_since, overdue = db.session.execute(in_flight).one()
    recent = m.created_at >= now - RECENT
    given_up = db.session.scalar(
        select(func.count()).where(failed, m.next_attempt_at.is_(None), recent)
    )
    advice = _advice(
        (
            stuck or overdue,
            _not_running("告知的发送或重试没有按时进行", "每分钟", DELIVER_NOTICES, "立即补发"),
        ),
        (
            retrying,
            _retried(
                "网关拒收的告知", "短信/邮件网关及 SURVEY_CHANNEL_BACKENDS、SURVEY_GATEWAY_* 设置"
            ),
        ),
        (
            given_up,
            Advice(
                Level.WARN,
                f"近 24 小时有 {given_up} 条告知 {MAX_DELIVERY_ATTEMPTS} 次发送均失败、不再重试："
                "经办人须改用电话或信函告知客户（投诉详情页的处理记录中可见每条告知的结果）",
            ),
        ),
    )
    return NoticeSection(
        queued_n, stuck, retrying, retrying_since, overdue, given_up,
        _latest_error(m.error, m.id, failed, recent), advice=advice,
    )  # fmt: skip


# --- 调查消息发件箱 -----------------------------------------------------------------------

DISPATCH = "flask --app wsgi surveys dispatch"


@dataclass(frozen=True)
class OutboxSection(Part):
    """Survey invitations and reminders handed to a channel in the last 24 hours."""

    total: int
    pending: int  # 待发送
    pending_since: datetime | None
    retrying: int  # 待重试
    overdue: int  # of those, whose retry is overdue
    dead: int  # 失败: every attempt failed (or no address for the channel)
    last_error: str


def outbox_status(now: datetime) -> OutboxSection:
    """The survey messages of the last 24 hours (``survey_outbox``'s statuses) waiting to be
    sent, to be retried, or failed for good."""
    m, late = OutboundMessage, now - BEHIND
    recent = m.created_at >= now - RECENT
    total, pending, pending_since, retrying, overdue, dead = db.session.execute(
        select(
            func.count(),
            func.count().filter(m.status == "pending"),
            func.min(m.created_at).filter(m.status == "pending"),
            func.count().filter(m.status == "failed"),
            func.count().filter(m.status == "failed", m.next_attempt_at <= late),
            func.count().filter(m.status == "dead"),
        ).where(recent)
    ).one()
    behind = overdue or (pending_since is not None and pending_since <= late)
    advice = _advice(
        (
            behind,
            _not_running("调查消息的发送或重试没有按时进行", "每分钟", DISPATCH, "立即发送"),
        ),
        (retrying, _retried("发送失败的消息", "短信/邮件网关设置")),
        (
            dead,
            Advice(
                Level.WARN,
                f"{dead} 条消息最终发送失败（如客户缺少该渠道的联系方式、网关多次拒收）："
                "总行管理人员可在“调查活动 › 消息发件箱”按状态“失败”查看原因",
            ),
        ),
    )
    last_error = _latest_error(m.last_error, m.id, m.status.in_(("failed", "dead")), recent)
    return OutboxSection(
        total, pending, pending_since, retrying, overdue, dead, last_error, advice=advice
    )


# --- 待生成的答卷 -------------------------------------------------------------------------

EXPAND_INTAKE = "flask --app wsgi surveys expand-intake"


@dataclass(frozen=True)
class IntakeSection(Part):
    """Submissions accepted through a link and not yet made into responses."""

    waiting: int
    waiting_since: datetime | None


def intake_status(now: datetime) -> IntakeSection:
    waiting, since = db.session.execute(
        select(func.count(), func.min(Intake.submitted_at)).where(Intake.response_id.is_(None))
    ).one()
    late = _not_running("有已提交的答卷超过 10 分钟仍未生成", "每分钟", EXPAND_INTAKE, "立即生成")
    return IntakeSection(
        waiting, since, advice=_advice((since is not None and since <= now - BEHIND, late))
    )


# --- 全部 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemStatus:
    checked_at: datetime
    database: DatabaseSection
    broker: BrokerSection
    # None when the database cannot be read
    analysis: AnalysisSection | None
    notices: NoticeSection | None
    outbox: OutboxSection | None
    intake: IntakeSection | None

    @property
    def level(self) -> Level:
        parts = (self.database, self.broker, self.analysis, self.notices, self.outbox)
        return max(part.level for part in (*parts, self.intake) if part is not None)


def collect(now: datetime | None = None) -> SystemStatus:
    """Every part of the page (reads only)."""
    from app.models import utcnow

    now = now or utcnow()
    database = database_status()
    broker = broker_status()
    if not database.reachable:
        return SystemStatus(now, database, broker, None, None, None, None)
    return SystemStatus(
        now,
        database,
        broker,
        analysis_status(now),
        notice_status(now),
        outbox_status(now),
        intake_status(now),
    )
