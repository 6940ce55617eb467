"""Shared pieces of the load and fault benchmarks: databases, gunicorn, wrk, sign-in, counts.

Everything runs on loopback; every server started here is stopped by its process id.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
LUA = str(ROOT / "bench" / "load.lua")
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
SECRET = "bench-secret-key-0123456789abcdef"
USER_AGENT = "kesheng-bench"


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path:
        return path
    print("installing wrk with apt-get ...", flush=True)
    cmd = ["apt-get", "install", "-y", "wrk"]
    if subprocess.run(cmd, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True)
        subprocess.run(cmd, capture_output=True, check=True)
    return shutil.which("wrk") or "wrk"


def psql(sql: str, url: str = PG_ADMIN) -> str:
    done = subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-Atc", sql], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip())
    return done.stdout.strip()


@dataclass
class Database:
    """A fresh database for one benchmark: a SQLite file or a PostgreSQL database."""

    backend: str
    workdir: str
    url: str = ""
    name: str = ""

    def create(self) -> Database:
        if self.backend == "sqlite":
            self.url = f"sqlite:///{os.path.join(self.workdir, 'bench.db')}"
        else:
            self.name = f"kesheng_bench_{os.getpid()}"
            psql(f"DROP DATABASE IF EXISTS {self.name}")
            psql(f"CREATE DATABASE {self.name}")
            base = PG_ADMIN.rsplit("/", 1)[0]
            self.url = f"{base}/{self.name}"
        return self

    def drop(self) -> None:
        if self.backend == "postgresql" and self.name:
            for _ in range(5):
                try:
                    psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
                    return
                except RuntimeError:
                    time.sleep(2)

    def scalar(self, sql: str) -> str:
        if self.backend == "sqlite":
            import sqlite3

            path = self.url.removeprefix("sqlite:///")
            conn = sqlite3.connect(path, timeout=30)
            try:
                return str(conn.execute(sql).fetchone()[0])
            finally:
                conn.close()
        return psql(sql, self.url)


def setup_data(db: Database, out: str, tokens: int) -> None:
    subprocess.run(
        [PYTHON, "bench/load_setup.py", "--database-url", db.url, "--tokens", str(tokens)]
        + ["--out", out],
        cwd=ROOT,
        check=True,
        env={**os.environ, "SECRET_KEY": SECRET},
        stderr=subprocess.DEVNULL,
    )


@dataclass
class Server:
    """gunicorn with gunicorn.conf.py (the production settings) on a loopback port."""

    app: str
    port: int
    workers: int = 2
    env: dict[str, str] = field(default_factory=dict)
    log: str = ""
    proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait_path: str = "/healthz") -> Server:
        env = {**os.environ, "KESHENG_ENV": "production", "SECRET_KEY": SECRET, **self.env}
        env["GUNICORN_ACCESS_LOG"] = self.env.get("GUNICORN_ACCESS_LOG", "/dev/null")
        self.log = self.log or tempfile.mktemp(prefix="gunicorn-", suffix=".log")
        cmd = [GUNICORN, "-c", str(ROOT / "gunicorn.conf.py"), "-w", str(self.workers)]
        cmd += ["-b", f"127.0.0.1:{self.port}", self.app]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log}")
            if len(self.worker_pids()) >= self.workers and get(self.base + wait_path)[0] == 200:
                return self
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not start; see {self.log}")

    def worker_pids(self) -> list[int]:
        if self.proc is None:
            return []
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True
        ).stdout
        return [int(p) for p in out.split()]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 10):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.read().decode("utf-8", "replace"), resp.headers
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace"), err.headers
    except OSError as err:
        return 0, str(err), {}


def post(url: str, data: bytes, content_type: str, headers: dict[str, str] | None = None):
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"User-Agent": USER_AGENT, "Content-Type": content_type, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read().decode("utf-8", "replace"), resp.headers
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace"), err.headers
    except OSError as err:
        return 0, str(err), {}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def sign_in(base: str, username: str, password: str = "Kesheng@2026") -> str:
    """Sign in through /login; returns the Cookie header value of the signed-in session."""
    status, html, headers = get(base + "/login")
    cookie = _cookie(headers)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if token is None:
        token = re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    form = urllib.parse.urlencode(
        {"csrf_token": token.group(1), "username": username, "password": password}
    ).encode()
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(
        base + "/login",
        data=form,
        method="POST",
        headers={
            "User-Agent": USER_AGENT,
            "Cookie": cookie,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    try:
        opener.open(request, timeout=10)
        raise RuntimeError("sign-in did not redirect")
    except urllib.error.HTTPError as err:
        if err.code not in (302, 303):
            raise
        return _cookie(err.headers) or cookie


def _cookie(headers) -> str:
    values = headers.get_all("Set-Cookie") if hasattr(headers, "get_all") else None
    return "; ".join(v.split(";", 1)[0] for v in values or [])


def wrk(
    base: str,
    mode: str,
    workdir: str,
    *,
    seconds: float,
    connections: int,
    threads: int = 2,
    path: str = "/",
) -> dict:
    cmd = [
        ensure_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
    ]
    cmd += ["-s", LUA, base, "--", mode, workdir, str(threads), path]
    done = subprocess.run(cmd, capture_output=True, text=True)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"wrk printed no figures: {done.stdout}\n{done.stderr}")


def submission_counts(
    db: Database, workdir: str, env: dict[str, str] | None = None, settle_seconds: float = 1.0
) -> dict[str, float]:
    """What the submissions stored, counted once the requests wrk abandoned at the end of its
    run have finished committing: accepted submissions (intake rows), then, after expanding
    whatever the (absent) Celery worker did not (``flask surveys expand-intake``, timed, with
    ``env``'s broker so analysis jobs are queued, not run), responses, distinct invitations
    answered and invitations completed, read in ONE statement (one snapshot)."""
    first = int(Path(workdir, "first_invitation_id.txt").read_text())
    accepted_sql = f"SELECT count(*) FROM survey_intake WHERE invitation_id > {first}"
    last, deadline = None, time.time() + 30
    while time.time() < deadline:
        now = db.scalar(accepted_sql)
        if now == last:
            break
        last = now
        time.sleep(settle_seconds)
    waiting = int(db.scalar("SELECT count(*) FROM survey_intake WHERE response_id IS NULL"))
    started = time.perf_counter()
    subprocess.run(
        [PYTHON, "-m", "flask", "--app", "wsgi", "surveys", "expand-intake"],
        cwd=ROOT,
        check=True,
        env={**os.environ, "SECRET_KEY": SECRET, "DATABASE_URL": db.url, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    expand_seconds = time.perf_counter() - started
    found = db.scalar(
        f"SELECT ({accepted_sql}) || ',' || "
        f"(SELECT count(*) FROM survey_response WHERE invitation_id > {first}) || ',' || "
        "(SELECT count(DISTINCT invitation_id) FROM survey_response "
        f"WHERE invitation_id > {first}) || ',' || "
        f"(SELECT count(*) FROM invitation WHERE id > {first} AND status = 'completed') || ',' || "
        "(SELECT count(*) FROM survey_intake WHERE response_id IS NULL)"
    )
    accepted, rows, distinct, completed, pending = (int(v) for v in found.split(","))
    return {
        "accepted": accepted,
        "rows": rows,
        "distinct": distinct,
        "completed": completed,
        "pending": pending,
        "waiting": waiting,
        "expand_seconds": expand_seconds,
    }


def counts_ok(c: dict[str, float], thanks: int, slack: int) -> bool:
    """Every 2xx stored exactly once: 0 <= accepted - 2xx <= slack (requests wrk abandoned may
    still commit), one response per accepted submission, each invitation once, none pending."""
    return (
        0 <= c["accepted"] - thanks <= slack
        and c["accepted"] == c["rows"] == c["distinct"] == c["completed"]
        and c["pending"] == 0
    )


def describe_counts(c: dict[str, float], thanks: int, slack: int) -> str:
    rate = c["waiting"] / c["expand_seconds"] if c["expand_seconds"] else 0
    return (
        f"accepted {c['accepted']} submissions for {thanks} thank-you pages (accepted - 2xx = "
        f"{c['accepted'] - thanks}, allowed 0..{slack}); {c['waiting']} still waiting for their "
        f"expansion job, made by `flask surveys expand-intake` in {c['expand_seconds']:.1f} s "
        f"({rate:.0f}/s, one process, including its start); responses {c['rows']}, distinct "
        f"invitations {c['distinct']}, invitations completed "
        f"{c['completed']}, still pending {c['pending']}: "
        + ("nothing lost, nothing twice" if counts_ok(c, thanks, slack) else "MISMATCH")
    )


def redis_available() -> bool:
    done = subprocess.run(["redis-cli", "-u", REDIS_URL, "ping"], capture_output=True, text=True)
    return done.stdout.strip() == "PONG"


def redis_queue_length(queue: str) -> int:
    out = subprocess.run(
        ["redis-cli", "-u", REDIS_URL, "llen", queue], capture_output=True, text=True
    ).stdout
    return int(out.strip() or 0)


def redis_drop_queue(queue: str) -> None:
    subprocess.run(["redis-cli", "-u", REDIS_URL, "del", queue], capture_output=True)


def machine_note() -> str:
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} cores, load average {load:.1f} at start (machine shared)"


def python_exit(code: int) -> None:
    sys.stdout.flush()
    os._exit(code)
