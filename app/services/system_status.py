"""运行状态: what the administrator's status page (``/admin/status``) shows of the background work.

Each function reads one part of the system and returns a small frozen dataclass: the figures,
and the advice they call for, each piece with its level (``Level``: 正常 / 注意 / 异常) and,
when a person has to act, the command or page that fixes it; a part stands at the level of
its worst advice. Nothing is written to the database: the page is safe to reload at any time.
The broker is connected to with a short timeout, and sent one message only: Celery's broadcast
asking which workers are online (what ``celery inspect active_queues`` sends), whose answers
are awaited for a second (never more than 1.5 s).

The levels follow one rule: 异常 (error) when the machinery itself is down or behind (the
database unreachable or not upgraded, the broker unreachable or no worker answering on it,
work waiting far longer than the periodic job that picks it up runs); 注意 (warn) when single
items failed and wait for an automatic retry, or were given up and need someone to look; 正常
otherwise, work in progress included. One more 异常: in production, a message channel that
only reaches the development outbox (its messages are recorded as sent and never leave the
machine).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from alembic.script import ScriptDirectory
from flask import Flask, current_app
from sqlalchemy import func, inspect, or_, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

import nlp
from app.config import DEFAULT_BANK_NAME, MESSAGE_CHANNELS
from app.extensions import db
from app.models import AnalysisStatus, Intake, OutboundMessage, OutboxMessage, TextAnalysis
from app.models.outbox import MessageStatus
from app.models.survey import CHANNEL_LABELS, Invitation, InvitationStatus
from app.services import analysis, invitations
from app.services.channels import BACKOFF_MINUTES, MAX_DELIVERY_ATTEMPTS
from app.services.rollups import TZ
from surveys.contact import Channel, ContactRules, in_quiet_hours

T = TypeVar("T")

BROKER_TIMEOUT = 1.5  # seconds to connect to the broker (the whole check: at most 0.5 s more)
WORKER_TIMEOUT = 1.0  # seconds to wait for workers' answers (the whole check: at most 0.5 s more)
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


def code_migrations() -> tuple[str | None, frozenset[str]]:
    """The running code's head revision and every revision it knows (cached per process)."""
    return migrations_of(current_app)


def migrations_of(app: Flask) -> tuple[str | None, frozenset[str]]:
    return _migrations(str(app.extensions["migrate"].directory))


def schema_revisions() -> tuple[str, ...]:
    """The Alembic revisions the database is at: one SELECT on ``alembic_version``; none when
    that table is missing (a database never migrated). Raises SQLAlchemyError when the database
    cannot be read."""
    try:
        rows = db.session.execute(text("SELECT version_num FROM alembic_version")).scalars()
        return tuple(sorted(rows))
    except (OperationalError, ProgrammingError):
        db.session.rollback()
        # (only on this rare path: is the table missing, or was it another error?)
        if inspect(db.session.connection()).has_table("alembic_version"):
            raise
        return ()


def schema_state() -> str:
    """``current`` (at the code's head), ``behind`` (no revision yet, or one the code knows
    and has moved past: run ``db upgrade``) or ``unknown`` (a revision the code does not
    know: upgraded by a newer version of the program). Cheap enough for ``/healthz``: the head
    is read from the migration files once per process, the database with one SELECT."""
    head, known = code_migrations()
    heads = schema_revisions()
    if any(h not in known for h in heads):
        return "unknown"
    return "current" if heads == (head,) else "behind"


def _location(url: Any) -> str:
    if url.get_backend_name() == "sqlite":
        return url.database or "(内存)"
    return f"{url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def database_status() -> DatabaseSection:
    """Reachable, which backend, and the schema's revision against the code's head."""
    head, known = code_migrations()
    bind = db.session.get_bind()
    backend = BACKENDS.get(bind.dialect.name, bind.dialect.name)
    location = _location(bind.engine.url)
    try:
        db.session.execute(text("SELECT 1"))
        heads = schema_revisions()
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
class Worker:
    hostname: str  # celery@host
    queues: tuple[str, ...]  # the queues it takes tasks from


@dataclass(frozen=True)
class BrokerSection(Part):
    configured: bool
    reachable: bool
    address: str  # the broker's URL, a password masked
    queue: str
    waiting: int | None  # messages waiting in the queue (None: unknown)
    error: str
    # the workers that answered within WORKER_TIMEOUT (None: not asked, the broker is not
    # configured or did not answer)
    workers: tuple[Worker, ...] | None = None
    workers_error: str = ""  # why they could not be asked

    @property
    def serving(self) -> tuple[Worker, ...]:
        """The workers that take this deployment's jobs (from its queue)."""
        return tuple(w for w in self.workers or () if self.queue in w.queues)


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


def _masked(err: Exception, password: str | None) -> str:
    """A broker's error as shown: an error that quotes the URL must not show the password."""
    error = re.sub(r"(://[^:/@\s]*:)[^@/\s]+@", r"\1**@", _error_text(err))
    return error.replace(password, "**") if password else error


def _broker_down(address: str, queue: str, err: Exception, password: str | None) -> BrokerSection:
    error = _masked(err, password)
    return BrokerSection(
        True, False, address, queue, None, error, advice=(Advice(Level.ERROR, BROKER_DOWN),)
    )


def _broker_connection(url: str) -> Any:
    """A connection to ``url`` (not the app's pool) that gives up after BROKER_TIMEOUT."""
    return current_app.extensions["celery"].connection_for_write(
        url,
        connect_timeout=BROKER_TIMEOUT,
        transport_options={"socket_timeout": BROKER_TIMEOUT, "max_retries": 0},
    )


def online_workers(url: str) -> tuple[Worker, ...]:
    """The Celery workers on the broker at ``url`` that answer within WORKER_TIMEOUT, with the
    queues each takes tasks from: the broadcast of ``celery inspect active_queues``, sent on a
    connection of its own (the app's producer pool may be another broker's: a test's, or a
    URL changed at run time). The answers that came in time count; the page never waits more
    than WORKER_TIMEOUT + 0.5 s."""
    from kombu.pidbox import Mailbox

    control = current_app.extensions["celery"].control.mailbox
    connection = _broker_connection(url)
    mailbox = Mailbox(
        control.namespace,
        type=control.type,
        accept=control.accept,
        serializer=control.serializer,
        reply_queue_ttl=control.reply_queue_ttl,
        reply_queue_expires=control.reply_queue_expires,
    )(connection)
    answers: list[dict[str, Any]] = []

    def ask() -> None:
        try:
            mailbox.multi_call("active_queues", timeout=WORKER_TIMEOUT, callback=answers.append)
        finally:
            connection.release()

    try:
        _in_time(ask, WORKER_TIMEOUT + 0.5)
    except TimeoutError:
        pass  # (answers kept coming: those in time count)
    workers = {}
    for answer in list(answers):
        for hostname, queues in answer.items():
            names = (q.get("name", "") for q in queues if isinstance(q, dict))
            workers[hostname] = Worker(hostname, tuple(sorted(filter(None, names))))
    return tuple(workers[h] for h in sorted(workers))


START_WORKER = "celery -A app.jobs.worker worker --loglevel INFO"


def _worker_advice(queue: str, workers: tuple[Worker, ...] | None, error: str) -> tuple:
    serving = [w for w in workers or () if queue in w.queues]
    return _advice(
        (
            error,
            Advice(Level.WARN, f"无法确认后台任务进程（celery worker）是否在线：{error}"),
        ),
        (
            workers == (),
            Advice(
                Level.ERROR,
                f"没有在线的后台任务进程（celery worker）：{WORKER_TIMEOUT:g} 秒内没有 worker "
                "应答。请求中产生的任务只在队列中等待，周期任务（补做分析、告知重试、调查发送）"
                "也不会执行。请在项目目录中启动 worker（作为服务运行，可以多个；celery beat "
                "只运行一个）：",
                START_WORKER,
            ),
        ),
        (
            workers and not serving,
            Advice(
                Level.ERROR,
                f"在线的 worker 都不从队列 {queue} 取任务：请用与 Web 进程相同的 CELERY_QUEUE "
                "设置启动 worker，或用 -Q 指定队列：",
                f"celery -A app.jobs.worker worker -Q {queue} --loglevel INFO",
            ),
        ),
    )


def broker_status() -> BrokerSection:
    """Whether the Celery broker the app sends its jobs to answers, through the app's own
    Celery configuration, and whether any worker answers on it; with none configured, jobs
    run inline (the embedded set-up)."""
    url = current_app.config.get("CELERY_BROKER_URL")
    queue = current_app.config.get("CELERY_QUEUE") or "kesheng"
    if not url:
        return BrokerSection(False, False, "", queue, None, "")
    try:
        connection = _broker_connection(url)
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
    workers: tuple[Worker, ...] | None = None
    workers_error = ""
    try:
        workers = online_workers(url)
    except Exception as err:  # noqa: BLE001  (the broker answered a moment ago: say what failed)
        workers_error = _masked(err, password)
    busy = Advice(Level.OK, "队列中有等待执行的任务：若这个数字持续增长，请检查 Celery worker 进程")
    advice = (*_worker_advice(queue, workers, workers_error), *_advice((waiting, busy)))
    return BrokerSection(
        True, True, address, queue, waiting, "", workers, workers_error, advice=advice
    )


# --- 消息通道 -----------------------------------------------------------------------------

# how to give channels a real backend ({} is whose: 这些渠道, 每个渠道)
CHANNEL_FIX = (
    "在 SURVEY_CHANNEL_BACKENDS 中为{}指定 gateway 或 smtp（如 sms=gateway,email=smtp），"
    "并设置 SURVEY_GATEWAY_URL / SURVEY_SMTP_HOST"
)


@dataclass(frozen=True)
class ChannelRoute:
    channel: str  # sms, email, wechat, app
    label: str  # 短信 …
    backend: str  # outbox, smtp, gateway
    explicit: bool  # named in SURVEY_CHANNEL_BACKENDS (else the outbox by default)
    target: str  # where its messages go, in words (a host, never a password or token)


@dataclass(frozen=True)
class ChannelSection(Part):
    """Where each channel's messages (survey invitations and reminders, complaint notices)
    go: through a gateway or SMTP server, or only into the development outbox."""

    env_name: str
    production: bool
    routes: tuple[ChannelRoute, ...]


def outbox_channels(config: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the channels SURVEY_CHANNEL_BACKENDS leaves out, those it sets to ``outbox``): both
    only reach the development outbox, where messages are recorded as sent and never leave
    the machine (``app.services.channels.backend_for``)."""
    backends = config.get("SURVEY_CHANNEL_BACKENDS") or {}
    left_out = tuple(c for c in MESSAGE_CHANNELS if c not in backends)
    outbox = tuple(c for c in MESSAGE_CHANNELS if backends.get(c) == "outbox")
    return left_out, outbox


def _host(url: str | None) -> str:
    """host[:port] of a URL (never its user, password, path or query)."""
    try:
        parts = urlsplit(url or "")
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return ""
    return f"{host}:{port}" if host and port else host


def _target(backend: str, config: Mapping[str, Any]) -> str:
    if backend == "gateway":
        return f"HTTP 短信/消息网关 {_host(config.get('SURVEY_GATEWAY_URL'))}".rstrip()
    if backend == "smtp":
        host = config.get("SURVEY_SMTP_HOST", "127.0.0.1")
        return f"SMTP 邮件服务器 {host}:{config.get('SURVEY_SMTP_PORT', 25)}"
    return "开发用发件箱：只记录在数据库中，不发出"


def _names(channels: tuple[str, ...]) -> str:
    return "、".join(f"{CHANNEL_LABELS.get(c, c)}（{c}）" for c in channels)


def channel_status() -> ChannelSection:
    """Each channel's backend. In production a channel that only reaches the development
    outbox is 异常 when SURVEY_CHANNEL_BACKENDS leaves it out (the silent default: its
    messages are recorded as sent, and a decision notice counts as given, although no customer
    got them) and 注意 when set to ``outbox`` on purpose (a channel the bank does not use).
    Elsewhere the outbox is the intended delivery (no test or demo install messages real
    customers): 正常, with a note naming the channels."""
    config = current_app.config
    env_name = str(config.get("ENV_NAME") or "development")
    production = env_name == "production"
    backends = config.get("SURVEY_CHANNEL_BACKENDS") or {}
    routes = tuple(
        ChannelRoute(
            c, CHANNEL_LABELS.get(c, c), backends.get(c, "outbox"), c in backends,
            _target(backends.get(c, "outbox"), config),
        )
        for c in MESSAGE_CHANNELS
    )  # fmt: skip
    left_out, outbox = outbox_channels(config)
    advice = _advice(
        (
            production and left_out,
            Advice(
                Level.ERROR,
                f"生产环境中，{_names(left_out)}只进入开发用发件箱：这些渠道的调查邀请和投诉"
                f"告知被记为“已发送”，却不会离开本机，客户收不到。请{CHANNEL_FIX.format('这些渠道')}"
                "，然后重启 Web 进程、worker 和 beat",
            ),
        ),
        (
            production and outbox,
            Advice(
                Level.WARN,
                f"{_names(outbox)}在 SURVEY_CHANNEL_BACKENDS 中设为 outbox（开发用发件箱）："
                "这些渠道的消息只记录、不发出。本行不使用这些渠道时可以保持；否则请改为 "
                "gateway 或 smtp",
            ),
        ),
        (
            not production and (left_out or outbox),
            Advice(
                Level.OK,
                f"{_names(left_out + outbox)}使用开发用发件箱：消息只记录在数据库中，不会发给"
                f"客户。这是开发和测试环境（当前 KESHENG_ENV={env_name}）的正常做法；生产环境须"
                f"{CHANNEL_FIX.format('每个渠道')}",
            ),
        ),
        (
            production and unnamed_bank(config),
            Advice(
                Level.ERROR,
                f"BANK_NAME 未设置：客户的调查页面、投诉页面和短信签名显示的是示例名称"
                f"“{DEFAULT_BANK_NAME}”。请设置 BANK_NAME（以及 BANK_HOTLINE 客服热线），"
                "然后重启 Web 进程、worker 和 beat",
            ),
        ),
    )
    return ChannelSection(env_name, production, routes, advice=advice)


def unnamed_bank(config: Mapping[str, Any]) -> bool:
    """BANK_NAME is still the placeholder customers would read on their pages and messages."""
    return config.get("BANK_NAME", DEFAULT_BANK_NAME) == DEFAULT_BANK_NAME


def warn_about_outbox_channels(app: Flask) -> None:
    """At start-up in production, one warning line when SURVEY_CHANNEL_BACKENDS leaves a
    channel to the development outbox (the app still starts: the status page shows it too)."""
    left_out, _ = outbox_channels(app.config)
    if app.config.get("ENV_NAME") == "production" and unnamed_bank(app.config):
        app.logger.warning(
            "BANK_NAME is not set: customers' pages and messages name the bank %s; set "
            "BANK_NAME (and BANK_HOTLINE)",
            DEFAULT_BANK_NAME,
        )
    if app.config.get("ENV_NAME") == "production" and left_out:
        app.logger.warning(
            "SURVEY_CHANNEL_BACKENDS leaves %s to the development outbox: their messages are "
            "recorded as sent but never leave this machine; set e.g. "
            "SURVEY_CHANNEL_BACKENDS=sms=gateway,email=smtp with SURVEY_GATEWAY_URL / "
            "SURVEY_SMTP_HOST",
            ", ".join(left_out),
        )


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


# --- 待发送的调查邀请 ---------------------------------------------------------------------

QUIET = ContactRules()  # the contact rules ``surveys dispatch`` applies (its quiet hours)


@dataclass(frozen=True)
class InvitationSection(Part):
    """Scheduled survey invitations (trigger rules, closed complaints) not yet sent."""

    due: int  # due (and not expired), not yet sent
    due_since: datetime | None  # the oldest one's scheduled time
    late: int  # of those, due for over 10 minutes while their channel could be used
    scheduled: int  # not yet due
    quiet_now: tuple[str, ...]  # channels held by the quiet hours now (their labels)

    @property
    def quiet_hours(self) -> str:
        return f"{QUIET.quiet_start:%H:%M}–{QUIET.quiet_end:%H:%M}"

    @property
    def quiet_channels(self) -> str:
        return "、".join(CHANNEL_LABELS.get(c, c) for c in Channel if c in QUIET.quiet_channels)


def _held_channels(now: datetime) -> tuple[str, ...]:
    """The channels whose invitations the quiet hours hold now or held 10 minutes ago: one
    of those waiting is not late (the job sends it when the quiet hours end)."""
    return tuple(
        c.value
        for c in Channel
        if in_quiet_hours(now, c, QUIET) or in_quiet_hours(now - BEHIND, c, QUIET)
    )


def invitation_status(now: datetime) -> InvitationSection:
    """Scheduled invitations waiting to be sent (queued, no link made yet: what ``surveys
    dispatch`` picks up every minute), and integrators' invitations their send job has not
    sent. One due for over 10 minutes, while its channel was
    not held by the quiet hours, is late: the job is not running, or fails every time (e.g.
    a worker whose PII_KEY differs from the web's)."""
    inv = Invitation
    held = _held_channels(now)
    due = (inv.scheduled_at <= now, inv.expires_at > now)
    late = (*due, inv.scheduled_at <= now - BEHIND, inv.channel.not_in(held))
    due_n, due_since, late_n, scheduled = db.session.execute(
        select(
            func.count().filter(*due),
            func.min(inv.scheduled_at).filter(*due),
            func.count().filter(*late),
            func.count().filter(inv.scheduled_at > now),
        )
        .where(
            inv.status == InvitationStatus.QUEUED,
            or_(inv.token_hash.is_(None), invitations.unsent_api_invitations()),
        )
        .execution_options(include_all_branches=True)
    ).one()
    advice = _advice(
        (
            late_n,
            Advice(
                Level.ERROR,
                f"有 {late_n} 份到期的调查邀请超过 10 分钟仍未发送：后台任务可能没有运行，或发送"
                "任务每次都出错（请检查 Celery worker 和 beat 是否运行及 worker 日志，例如 worker "
                "的 PII_KEY 是否与 Web 进程相同；未配置任务队列时，请用 cron 每分钟运行下面的"
                "命令）。立即发送：",
                DISPATCH,
            ),
        ),
    )
    quiet_now = tuple(CHANNEL_LABELS.get(c, c) for c in held if in_quiet_hours(now, c, QUIET))
    return InvitationSection(due_n, due_since, late_n, scheduled, quiet_now, advice=advice)


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
    channels: ChannelSection
    # None when the database cannot be read
    analysis: AnalysisSection | None
    notices: NoticeSection | None
    outbox: OutboxSection | None
    invitations: InvitationSection | None
    intake: IntakeSection | None

    @property
    def level(self) -> Level:
        parts = (self.database, self.broker, self.channels, self.analysis, self.notices)
        rest = (self.outbox, self.invitations, self.intake)
        return max(part.level for part in (*parts, *rest) if part is not None)


def collect(now: datetime | None = None) -> SystemStatus:
    """Every part of the page (reads only)."""
    from app.models import utcnow

    now = now or utcnow()
    database = database_status()
    broker = broker_status()
    channels = channel_status()
    if not database.reachable:
        return SystemStatus(now, database, broker, channels, None, None, None, None, None)
    return SystemStatus(
        now,
        database,
        broker,
        channels,
        analysis_status(now),
        notice_status(now),
        outbox_status(now),
        invitation_status(now),
        intake_status(now),
    )
