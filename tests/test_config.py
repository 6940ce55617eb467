"""Configuration from the environment, production safety, SQLite engine settings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from app import create_app
from app.config import ConfigError, from_environment, normalise_database_url


def test_environment_variables_are_read():
    cfg = from_environment(
        {
            "DATABASE_URL": "postgresql://u@db:5432/kesheng",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "PUBLIC_BASE_URL": "https://voc.bank.example/",
            "SECRET_KEY": "s3cret",
        }
    )
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db:5432/kesheng"
    assert cfg["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/0"
    assert cfg["PUBLIC_BASE_URL"] == "https://voc.bank.example"
    assert cfg["SECRET_KEY"] == "s3cret"


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("true", True), ("0", False)])
def test_async_commit_of_survey_intakes_is_read_from_the_environment(value, expected):
    assert from_environment({"SURVEY_ASYNC_COMMIT": value})["SURVEY_ASYNC_COMMIT"] is expected


def test_bank_home_page_is_read_and_must_be_a_web_address(monkeypatch, tmp_path):
    env = {"BANK_NAME": " 示例农商银行 ", "BANK_HOME_URL": "https://www.bank.example/ "}
    assert from_environment(env) == {
        "BANK_NAME": "示例农商银行",
        "BANK_HOME_URL": "https://www.bank.example/",
    }
    assert (
        create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"}).config[
            "BANK_HOME_URL"
        ]
        == ""
    )  # unset: customers' pages offer no "返回首页"
    monkeypatch.setenv("BANK_HOME_URL", "javascript:alert(1)")
    with pytest.raises(ConfigError, match="BANK_HOME_URL"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db"})


def test_public_base_url_must_be_a_web_address(monkeypatch, tmp_path):
    """Without its scheme (voc.bank.example) every survey link sent to customers was broken."""
    monkeypatch.setenv("PUBLIC_BASE_URL", "voc.bank.example")
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db"})
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://voc.bank.example/")
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db"})
    assert app.config["PUBLIC_BASE_URL"] == "https://voc.bank.example"


def test_unset_environment_changes_nothing():
    assert from_environment({}) == {}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://a@b/c", "postgresql+psycopg://a@b/c"),
        ("postgresql://a@b/c", "postgresql+psycopg://a@b/c"),
        ("postgresql+psycopg://a@b/c", "postgresql+psycopg://a@b/c"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_normalisation(url, expected):
    assert normalise_database_url(url) == expected


def test_production_refuses_to_start_without_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("KESHENG_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db"})


@pytest.mark.parametrize("name", ["Production", " production ", "staging"])
def test_any_environment_but_development_refuses_the_development_key(name, monkeypatch, tmp_path):
    """CONTRACT.md: SECRET_KEY must be set outside development. KESHENG_ENV=Production (or a
    staging server) started with the published development key signing its sessions."""
    monkeypatch.setenv("KESHENG_ENV", name)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db"})
    monkeypatch.setenv("SECRET_KEY", "a-long-random-secret-of-this-server")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db"})
    assert app.config["SESSION_COOKIE_SECURE"] is (name.strip().lower() == "production")


def test_production_with_secret_key_uses_secure_cookies(monkeypatch, tmp_path):
    monkeypatch.setenv("KESHENG_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-random-production-secret")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.debug is False


def test_default_database_is_sqlite_under_instance(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app({"SECRET_KEY": "x"})
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    assert uri.startswith("sqlite:///") and uri.endswith("instance/kesheng.db")


def test_jobs_run_inline_without_a_broker_and_on_celery_with_one():
    inline = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert inline.extensions["celery"].conf.task_always_eager is True
    queued = create_app(
        {
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert queued.extensions["celery"].conf.task_always_eager is False


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app, backend, db_session):
    if backend != "sqlite":
        pytest.skip("SQLite only")
    assert db_session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert db_session.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_survey_delivery_settings_come_from_the_environment():
    cfg = from_environment(
        {
            "SURVEY_CHANNEL_BACKENDS": "sms=gateway, email=smtp",
            "SURVEY_GATEWAY_URL": "http://sms-gw.bank.internal/send",
            "SURVEY_SMTP_HOST": "mail.bank.internal",
            "SURVEY_SMTP_PORT": "587",
            "SURVEY_SMTP_STARTTLS": "true",
            "SURVEY_SEND_TIMEOUT": "5",
        }
    )
    assert cfg["SURVEY_CHANNEL_BACKENDS"] == {"sms": "gateway", "email": "smtp"}
    assert cfg["SURVEY_GATEWAY_URL"] == "http://sms-gw.bank.internal/send"
    assert cfg["SURVEY_SMTP_PORT"] == 587 and cfg["SURVEY_SMTP_STARTTLS"] is True
    assert cfg["SURVEY_SEND_TIMEOUT"] == 5.0


def test_periodic_jobs_are_scheduled():
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    tasks = {entry["task"] for entry in app.extensions["celery"].conf.beat_schedule.values()}
    expected = {
        "kesheng.analyze_pending",
        "complaints.sweep_deadlines",
        "complaints.poll_imap",
        "surveys.dispatch_due",
        "improvements.remind",
        "kesheng.retention_run",
        "kesheng.discover_topics",
    }
    assert expected <= tasks


@pytest.mark.parametrize(
    ("name", "value"),
    [("TRUSTED_PROXIES", "one"), ("MIN_SAMPLE_SIZE", "30 answers"), ("RETENTION_DAYS", "5y")],
)
def test_a_number_that_is_not_one_is_refused_by_name(name, value):
    """Not ``ValueError: invalid literal for int() with base 10``, which names no variable."""
    with pytest.raises(
        ConfigError, match=f"^{name} must be a whole number( of at least 1)?, not '{value}'"
    ):
        from_environment({name: value})
    assert from_environment({name: " 2 "})[name] == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [("MIN_SAMPLE_SIZE", "-5"), ("MIN_SAMPLE_SIZE", "0"), ("SURVEY_SEND_TIMEOUT", "nan"),
     ("SURVEY_SEND_TIMEOUT", "-1"), ("SURVEY_SEND_TIMEOUT", "inf")],
)  # fmt: skip
def test_a_number_out_of_its_range_is_refused_by_name(name, value):
    with pytest.raises(ConfigError, match=f"^{name} must be a .* of at least .*, not '{value}'"):
        from_environment({name: value})


@pytest.mark.parametrize(
    ("value", "named"),
    [("sms", "'sms'"), ("sms=gatway", "'sms=gatway'"), ("fax=gateway", "'fax=gateway'"),
     ("sms=gateway,email", "'email'")],
)  # fmt: skip
def test_a_channel_backend_that_does_not_exist_is_refused(value, named):
    """A typo sent real customers' messages to the development outbox, reported as sent."""
    with pytest.raises(ConfigError, match=f"^SURVEY_CHANNEL_BACKENDS must list .*; not {named}"):
        from_environment({"SURVEY_CHANNEL_BACKENDS": value})
    assert from_environment({"SURVEY_CHANNEL_BACKENDS": " sms = gateway ,, app=outbox "})[
        "SURVEY_CHANNEL_BACKENDS"
    ] == {"sms": "gateway", "app": "outbox"}


def test_a_gateway_without_its_address_stops_the_app(monkeypatch, tmp_path):
    """It started, then answered 500 to a complaint taken in by the API (and lost it)."""
    uri = f"sqlite:///{tmp_path}/g.db"
    monkeypatch.setenv("SURVEY_CHANNEL_BACKENDS", "sms=gateway,wechat=gateway,email=smtp")
    with pytest.raises(ConfigError, match="^SURVEY_GATEWAY_URL must be set: .* sms, wechat "):
        create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": uri})
    monkeypatch.setenv("SURVEY_GATEWAY_URL", "sms-gw.bank.internal/send")
    with pytest.raises(ConfigError, match="^SURVEY_GATEWAY_URL must be an http"):
        create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": uri})
    monkeypatch.setenv("SURVEY_GATEWAY_URL", "http://sms-gw.bank.internal/send")
    assert create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": uri})


@pytest.mark.parametrize(
    ("url", "message"),
    [("garbage", "is not a database URL"),
     ("postgresql://postgres@127.0.0.1:notaport/x", "is not a database URL"),
     ("mysql://u@127.0.0.1/db", "must be a PostgreSQL or SQLite URL .* not 'mysql'")],
)  # fmt: skip
def test_a_database_url_that_cannot_work_is_refused_in_one_line(url, message):
    with pytest.raises(ConfigError, match=f"^DATABASE_URL {message}"):
        create_app({"SECRET_KEY": "x", **from_environment({"DATABASE_URL": url})})


def test_the_entry_point_names_a_bad_setting_without_a_traceback(tmp_path):
    """An operator who forgot SECRET_KEY reads one line, from flask commands and gunicorn."""
    env = {**os.environ, "KESHENG_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    env.pop("SECRET_KEY", None)
    run = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "current"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.strip() == (
        "Error: SECRET_KEY must be set outside development (KESHENG_ENV=production)."
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KESHENG_ENV": "prod"}, "^KESHENG_ENV must be one of development, testing, staging, "
         "production, not 'prod'"),
        ({"REDIS_URL": "127.0.0.1:6379"},
         "^REDIS_URL must be a broker address .* not '127.0.0.1:6379'"),
        ({"REDIS_URL": "http://127.0.0.1:6379/0"}, "^REDIS_URL must be a broker address"),
        ({"CELERY_BROKER_URL": "localhost"}, "^CELERY_BROKER_URL must be a broker address"),
    ],
)  # fmt: skip
def test_a_setting_celery_or_the_cookies_would_misread_is_refused_in_one_line(env, message):
    """The deployment audit: KESHENG_ENV=prod ran without secure cookies, silently; a broker
    address without a scheme was read as an AMQP host and retried for ever; http:// killed the
    worker with a long traceback."""
    with pytest.raises(ConfigError, match=message):
        from_environment(env)


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://cache.bank:6380/1", "amqp://guest@mq//"]
)
def test_a_broker_address_celery_takes_is_accepted(url):
    assert from_environment({"REDIS_URL": url})["CELERY_BROKER_URL"] == url


def test_a_database_that_does_not_answer_is_named_in_one_line(tmp_path):
    """A wrong port in DATABASE_URL printed ~150 lines of two tracebacks from every command."""
    env = {**os.environ, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/kesheng"}
    run = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "current"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 1
    assert run.stderr.startswith("Error: the database (DATABASE_URL) cannot be used: ")
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["SURVEY_ASYNC_COMMIT", "SURVEY_SMTP_STARTTLS", "IMAP_SSL"])
def test_an_on_off_setting_that_is_neither_is_refused(name):
    with pytest.raises(ConfigError, match=f"^{name} must be on or off .* not 'maybe'"):
        from_environment({name: "maybe"})
    assert from_environment({name: "Off"})[name] is False
    assert from_environment({name: "yes"})[name] is True


def test_without_a_broker_queuing_a_job_logs_no_warning(tmp_path, caplog):
    """Each gunicorn worker's first job logged kombu's "No hostname was supplied. Reverting to
    default 'localhost'" although no REDIS_URL was set (the in-memory broker had no host)."""
    import logging

    from app.jobs import broker
    from app.jobs.analysis import analyze_pending
    from tests.support import make_app

    app = make_app(f"sqlite:///{tmp_path / 'eager.db'}")
    caplog.set_level(logging.WARNING)
    with app.app_context():
        from tests.support import migrate_to_head

        migrate_to_head()
        assert broker.send(analyze_pending, ()) is True  # (run here, eagerly)
    assert not [r for r in caplog.records if "hostname" in r.getMessage()]
