"""Configuration: defaults, plus the environment variables CONTRACT.md names (read only here)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEV_SECRET_KEY = "dev-only-insecure-key-change-me"


DEFAULT_BANK_NAME = "客声银行"  # the demo bank's; production warns while it is unchanged


class ConfigError(RuntimeError):
    """The configuration is unusable; the app refuses to start."""


class DefaultConfig:
    """Embedded defaults: SQLite under instance/, jobs inline, development cookies."""

    ENV_NAME = "development"
    SECRET_KEY = DEV_SECRET_KEY
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled in by create_app (instance path)
    # (dead connections are caught by a ping after idling: app.db_setup._ping_after_idle)
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {"pool_pre_ping": False}
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    CELERY_BROKER_URL: str | None = None
    CELERY_QUEUE = "kesheng"
    MAX_CONTENT_LENGTH = 10 * 1024 * 1024
    API_MAX_JSON_BYTES = 256 * 1024
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    # Flask-WTF's own i18n hook needs Flask-Babel; off, WTForms' built-in Chinese messages apply.
    WTF_I18N_ENABLED = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    SESSION_COOKIE_NAME = "kesheng_session"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    SESSION_IDLE_MINUTES = 30  # a staff session unused this long is ended (0: never)
    LOGIN_MAX_FAILURES = 5
    LOGIN_FAILURE_WINDOW_MINUTES = 15
    LOGIN_MAX_FAILURES_PER_IP = 30
    MIN_SAMPLE_SIZE = 30
    TIMEZONE = "Asia/Shanghai"
    PII_KEY: str | None = None  # derived from SECRET_KEY when unset
    TRUSTED_PROXIES = 0
    NLP_MODEL_DIR: str | None = None  # retrained models; default instance/nlp-models
    # the labelled training corpora (*_train.csv) `flask nlp train` refits on by default; unset:
    # ../shared/data/sentiment beside the project when it exists (the development machine's)
    NLP_CORPUS_DIR: str | None = None
    RETENTION_DAYS = 5 * 365  # personal data older than this is anonymised (flask retention run)
    BANK_NAME = DEFAULT_BANK_NAME  # shown to customers on their pages and in their messages
    BANK_HOTLINE = ""  # the bank's service hotline on customers' pages; not shown when unset
    # The bank's own public site: where "返回首页" takes customers (Kesheng's "/" is the staff
    # landing page). Unset: customers' pages offer no such button.
    BANK_HOME_URL = ""
    # Customers' survey submissions answered without Flask's request machinery when they
    # succeed (app/web/public/fast_submit.py); False sends them through the Flask view.
    SURVEY_FAST_PATH = True
    # PostgreSQL only: survey submissions (and nothing else) commit without waiting for the
    # WAL flush (synchronous_commit = off). Faster on slow disks, but a crash of the database
    # server (not a restart) can lose the last fraction of a second of acknowledged survey
    # answers. Off by default; see README "Configuration".
    SURVEY_ASYNC_COMMIT = False


FLAG_WORDS = {"1": True, "true": True, "yes": True, "on": True,
              "0": False, "false": False, "no": False, "off": False}  # fmt: skip


def _flag(env: Mapping[str, str], name: str) -> bool:
    """An on/off environment variable (1/true/yes/on or 0/false/no/off, any case); anything
    else stops the app with its name (SURVEY_ASYNC_COMMIT=maybe was silently off)."""
    value = env[name].strip().lower()
    if value not in FLAG_WORDS:
        raise ConfigError(
            f"{name} must be on or off (1/true/yes/on, 0/false/no/off), not {env[name]!r}."
        )
    return FLAG_WORDS[value]


def normalise_database_url(url: str) -> str:
    """Map plain postgres URLs onto the psycopg 3 driver that requirements.txt installs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _number(env: Mapping[str, str], name: str, kind: type = int, least: float | None = None) -> Any:
    """A numeric variable; a value that is not one (or below ``least``, or not finite) stops
    the app with the variable's name."""
    text = env[name].strip()
    what = "a whole number" if kind is int else "a number"
    if least is not None:
        what += f" of at least {least:g}"
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{name} must be {what}, not {text!r}.") from None
    if not math.isfinite(value) or (least is not None and value < least):
        raise ConfigError(f"{name} must be {what}, not {text!r}.")
    return value


ENVIRONMENTS = ("development", "testing", "staging", "production")
# Brokers Celery takes here (kombu's transports; "memory" runs the tests' in-process one).
BROKER_SCHEMES = ("redis", "rediss", "redis+socket", "sentinel", "amqp", "amqps", "memory")


def _check_broker_url(name: str, url: str) -> None:
    """One line naming the setting for a broker address Celery cannot use: without a scheme
    ("127.0.0.1:6379") Celery read it as an AMQP host and retried for ever; "http://" killed
    the worker with a long traceback."""
    scheme, sep, _ = url.strip().partition("://")
    if not sep or scheme.lower() not in BROKER_SCHEMES:
        raise ConfigError(
            f"{name} must be a broker address such as redis://127.0.0.1:6379/0 "
            f"(schemes {', '.join(BROKER_SCHEMES)}), not {url.strip()!r}."
        )


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Settings taken from environment variables; absent variables leave the defaults."""
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    if env.get("KESHENG_ENV", "").strip():
        out["ENV_NAME"] = env["KESHENG_ENV"].strip().lower()  # "Production" is production
        if out["ENV_NAME"] not in ENVIRONMENTS:
            # (a typo such as "prod" ran production without its secure cookies, silently)
            raise ConfigError(
                f"KESHENG_ENV must be one of {', '.join(ENVIRONMENTS)}, "
                f"not {env['KESHENG_ENV'].strip()!r}."
            )
    if env.get("SECRET_KEY"):
        out["SECRET_KEY"] = env["SECRET_KEY"]
    if env.get("DATABASE_URL"):
        out["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(env["DATABASE_URL"])
    broker = env.get("CELERY_BROKER_URL") or env.get("REDIS_URL")
    if broker:
        _check_broker_url(
            "CELERY_BROKER_URL" if env.get("CELERY_BROKER_URL") else "REDIS_URL", broker
        )
        out["CELERY_BROKER_URL"] = broker
    if env.get("PUBLIC_BASE_URL"):
        out["PUBLIC_BASE_URL"] = env["PUBLIC_BASE_URL"].rstrip("/")
    if env.get("NLP_MODEL_DIR"):
        out["NLP_MODEL_DIR"] = env["NLP_MODEL_DIR"]
    if env.get("NLP_CORPUS_DIR"):
        out["NLP_CORPUS_DIR"] = env["NLP_CORPUS_DIR"]
    if env.get("CELERY_QUEUE"):
        out["CELERY_QUEUE"] = env["CELERY_QUEUE"]
    out.update(_survey_channels(env))
    out.update(_imap(env))
    if env.get("PII_KEY"):
        out["PII_KEY"] = env["PII_KEY"]
    for key in ("BANK_NAME", "BANK_HOTLINE", "BANK_HOME_URL"):
        if env.get(key):
            out[key] = env[key].strip()
    if env.get("TRUSTED_PROXIES"):
        out["TRUSTED_PROXIES"] = _number(env, "TRUSTED_PROXIES")
    if env.get("MIN_SAMPLE_SIZE"):
        out["MIN_SAMPLE_SIZE"] = _number(env, "MIN_SAMPLE_SIZE", least=1)
    if env.get("SURVEY_ASYNC_COMMIT"):
        out["SURVEY_ASYNC_COMMIT"] = _flag(env, "SURVEY_ASYNC_COMMIT")
    if env.get("RETENTION_DAYS"):
        out["RETENTION_DAYS"] = _number(env, "RETENTION_DAYS")
    if env.get("SESSION_IDLE_MINUTES"):
        out["SESSION_IDLE_MINUTES"] = _number(env, "SESSION_IDLE_MINUTES", least=0)
    return out


SURVEY_TEXT_SETTINGS = (
    "SURVEY_GATEWAY_URL",
    "SURVEY_GATEWAY_TOKEN",
    "SURVEY_SMTP_HOST",
    "SURVEY_SMTP_USERNAME",
    "SURVEY_SMTP_PASSWORD",
    "SURVEY_SMTP_SENDER",
)


def _survey_channels(env: Mapping[str, str]) -> dict[str, Any]:
    """Survey delivery settings, e.g. SURVEY_CHANNEL_BACKENDS="sms=gateway,email=smtp"."""
    out: dict[str, Any] = {k: env[k] for k in SURVEY_TEXT_SETTINGS if env.get(k)}
    if env.get("SURVEY_CHANNEL_BACKENDS"):
        out["SURVEY_CHANNEL_BACKENDS"] = _channel_backends(env["SURVEY_CHANNEL_BACKENDS"])
    if env.get("SURVEY_SMTP_PORT"):
        out["SURVEY_SMTP_PORT"] = _number(env, "SURVEY_SMTP_PORT")
    if env.get("SURVEY_SMTP_STARTTLS"):
        out["SURVEY_SMTP_STARTTLS"] = _flag(env, "SURVEY_SMTP_STARTTLS")
    if env.get("SURVEY_SEND_TIMEOUT"):
        out["SURVEY_SEND_TIMEOUT"] = _number(env, "SURVEY_SEND_TIMEOUT", float, least=0.1)
    return out


MESSAGE_CHANNELS = ("sms", "email", "wechat", "app")  # (what invitations and notices go by)
MESSAGE_BACKENDS = ("outbox", "smtp", "gateway")


def _channel_backends(value: str) -> dict[str, str]:
    """``sms=gateway,email=smtp``; a typo would send real customers' messages nowhere (to the
    development outbox, reported as sent), so every part must be a known channel and backend."""
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        channel, _, backend = (piece.strip() for piece in item.partition("="))
        if channel not in MESSAGE_CHANNELS or backend not in MESSAGE_BACKENDS:
            raise ConfigError(
                f"SURVEY_CHANNEL_BACKENDS must list channel=backend pairs "
                f"(channels {', '.join(MESSAGE_CHANNELS)}; backends "
                f"{', '.join(MESSAGE_BACKENDS)}), e.g. sms=gateway,email=smtp; not {item!r}."
            )
        out[channel] = backend
    return out


def _check_database_url(uri: str) -> None:
    """One line naming DATABASE_URL for a URL SQLAlchemy cannot read or a database Kesheng does
    not run on (a MySQL URL failed on its missing driver, then as "No such command 'db'")."""
    try:
        url = make_url(uri)
        backend, _ = url.get_backend_name(), url.port  # (the port is parsed when read)
    except (ArgumentError, ValueError):
        raise ConfigError(
            "DATABASE_URL is not a database URL "
            "(e.g. postgresql://user@host:5432/kesheng or sqlite:////srv/kesheng/kesheng.db)."
        ) from None
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"DATABASE_URL must be a PostgreSQL or SQLite URL (Kesheng runs on those), "
            f"not {backend!r}."
        )


def _imap(env: Mapping[str, str]) -> dict[str, Any]:
    """The complaint mailbox polled for e-mailed complaints (unset: no polling)."""
    out: dict[str, Any] = {
        k: env[k] for k in ("IMAP_HOST", "IMAP_USER", "IMAP_PASSWORD", "IMAP_FOLDER") if env.get(k)
    }
    if env.get("IMAP_PORT"):
        out["IMAP_PORT"] = _number(env, "IMAP_PORT")
    if env.get("IMAP_SSL"):
        out["IMAP_SSL"] = _flag(env, "IMAP_SSL")
    return out


def finalise(config: dict[str, Any]) -> None:
    """Check and complete a loaded configuration; raise ConfigError when it is unsafe."""
    env_name = config.get("ENV_NAME") or "development"
    if env_name != "development" and config.get("SECRET_KEY") in (None, "", DEV_SECRET_KEY):
        # (a staging server signing sessions with the published development key is as open)
        raise ConfigError(f"SECRET_KEY must be set outside development (KESHENG_ENV={env_name}).")
    if env_name == "production":
        config["SESSION_COOKIE_SECURE"] = True
        config["REMEMBER_COOKIE_SECURE"] = True
        config["DEBUG"] = False
    _check_database_url(config.get("SQLALCHEMY_DATABASE_URI") or "")
    backends = (config.get("SURVEY_CHANNEL_BACKENDS") or {}).items()
    gateway = sorted(channel for channel, backend in backends if backend == "gateway")
    if gateway and not config.get("SURVEY_GATEWAY_URL"):
        # (else the first message raised inside the request that wrote it: a complaint taken
        # in by the API was answered 500 and rolled back)
        raise ConfigError(
            f"SURVEY_GATEWAY_URL must be set: SURVEY_CHANNEL_BACKENDS sends "
            f"{', '.join(gateway)} through the gateway."
        )
    for name in ("BANK_HOME_URL", "PUBLIC_BASE_URL", "SURVEY_GATEWAY_URL"):
        address = config.get(name) or ""
        if address and not address.lower().startswith(("https://", "http://")):
            raise ConfigError(f"{name} must be an http:// or https:// address.")
    config["CELERY"] = {
        "broker_url": config.get("CELERY_BROKER_URL")
        or "memory://localhost/",  # (named: no warning)
        "result_backend": None,
        "task_always_eager": not config.get("CELERY_BROKER_URL"),
        "task_eager_propagates": False,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "broker_connection_retry_on_startup": True,
        # A Redis that accepts connections and never answers (hung, or a proxy in front of a
        # dead one) held every request that queued a job for gunicorn's 30 s timeout: answers
        # and connections time out instead, and broker.send falls back (the worker's blocking
        # reads poll each second, well inside these).
        "broker_transport_options": {"socket_timeout": 2.0, "socket_connect_timeout": 2.0},
        "timezone": config.get("TIMEZONE", "Asia/Shanghai"),
        "task_default_queue": config.get("CELERY_QUEUE", "kesheng"),
        "beat_schedule": {
            "analyze-pending-texts": {"task": "kesheng.analyze_pending", "schedule": 600.0},
            "refresh-recent-rollups": {
                "task": "kesheng.refresh_recent_rollups",
                "schedule": 600.0,
            },
            "complaints-sweep-deadlines": {
                "task": "complaints.sweep_deadlines",
                "schedule": 900.0,
            },
            "surveys-dispatch-due": {"task": "surveys.dispatch_due", "schedule": 60.0},
            "surveys-expand-pending-intake": {
                "task": "surveys.expand_pending_intake",
                "schedule": 60.0,
            },
            "retention-run": {"task": "kesheng.retention_run", "schedule": 86400.0},
            "improvements-remind": {"task": "improvements.remind", "schedule": 6 * 3600.0},
            "complaints-poll-imap": {"task": "complaints.poll_imap", "schedule": 300.0},
            "complaints-deliver-due-notices": {
                "task": "complaints.deliver_due_notices",
                "schedule": 60.0,
            },
            # topics found again in the week's texts (names staff gave carry over)
            "dashboards-discover-topics": {
                "task": "kesheng.discover_topics",
                "schedule": 7 * 86400.0,
            },
        },
    }
