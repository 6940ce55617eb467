"""Fault benchmarks: what happens to survey submissions when something breaks under load.

Usage: .venv/bin/python bench/faults.py [kill-worker] [postgres-restart] [redis-down] [disk-full]
(no argument: all four). Each scenario prints what it saw; nothing is asserted.

- kill-worker: SIGKILL one of two gunicorn workers in the middle of a wrk submission load
  (SQLite); every thank-you page must have its row, no invitation answered twice, and the
  master must start a new worker.
- postgres-restart: PostgreSQL is stopped for ~5 s during a steady submission load (4 clients);
  prints the statuses seen while it was down (503 with a Chinese page expected) and how long
  after it came back the first submission succeeded. PostgreSQL is always started again.
- redis-down: the app's broker points at a private Redis port with nothing listening;
  submissions and complaints are timed, then a private redis-server is started on that port and
  the pending texts are analysed by the catch-up (``flask nlp analyze``).
- disk-full: the SQLite database lives on a 16 MB tmpfs that is filled up, then remounted
  read-only; prints the statuses and pages, then ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness as h  # noqa: E402

PORT = 18761
PRIVATE_REDIS_PORT = 6391
PENDING = "SELECT count(*) FROM text_analysis WHERE status = 'pending' AND source_type = 'response'"


def _tokens(workdir: str) -> list[str]:
    return Path(workdir, "tokens.txt").read_text().split()


def _answers(workdir: str) -> bytes:
    return Path(workdir, "answers.txt").read_bytes()


def _report_counts(
    db: h.Database, workdir: str, thanks: int, slack: int, env: dict | None = None
) -> None:
    print("  " + h.describe_counts(h.submission_counts(db, workdir, env), thanks, slack))


def kill_worker() -> None:
    print("\nkill-worker (SQLite, gunicorn -w 2, wrk -c32 for 8 s, SIGKILL at 3 s):")
    workdir = tempfile.mkdtemp(prefix="kesheng-fault-")
    db = h.Database("sqlite", workdir).create()
    h.setup_data(db, workdir, 30_000)
    queue = f"kesheng-fault-{os.getpid()}"
    env = {"DATABASE_URL": db.url, "REDIS_URL": h.REDIS_URL, "CELERY_QUEUE": queue}
    server = h.Server("wsgi:app", PORT, 2, env).start()
    try:
        before = server.worker_pids()
        result: dict = {}
        load = threading.Thread(
            target=lambda: result.update(
                h.wrk(server.base, "submit", workdir, seconds=8, connections=32)
            )
        )
        load.start()
        time.sleep(3)
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        print(f"  killed worker {victim}")
        load.join()
        after = server.worker_pids()
        print(
            f"  workers before {before}, after {after}: "
            + (
                "restarted by the master"
                if len(after) == 2 and victim not in after
                else "NOT restarted"
            )
        )
        print(
            f"  wrk: {result['requests']} requests, {result['thanks']} thank-you pages, "
            f"socket errors {result['socket_errors']}, non-2xx {result['non_2xx']}"
        )
        # the killed worker's last batch of expansion jobs was never sent: the catch-up (here
        # run by submission_counts, in production every minute) makes those responses. A
        # request the kill cut off (a socket error for wrk, no answer for the customer) may have
        # committed or not, like the 32 wrk abandons at the end: both count as slack.
        slack = 32 + result["socket_errors"]
        _report_counts(
            db, workdir, result["thanks"], slack, {"REDIS_URL": h.REDIS_URL, "CELERY_QUEUE": queue}
        )
    finally:
        server.stop()
        h.redis_drop_queue(queue)


def _pg_cluster() -> list[str]:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    return ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]


def _pg_ready() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0


def postgres_restart() -> None:
    print(
        "\npostgres-restart (PostgreSQL, gunicorn -w 2, 4 clients submitting, 1 client posting "
        "complaints through the API):"
    )
    workdir = tempfile.mkdtemp(prefix="kesheng-fault-")
    db = h.Database("postgresql", workdir).create()
    server = None
    try:
        h.setup_data(db, workdir, 20_000)
        server = h.Server("wsgi:app", PORT, 2, {"DATABASE_URL": db.url, "REDIS_URL": ""}).start()
        tokens, body = iter(_tokens(workdir)), _answers(workdir)
        api = Path(workdir, "api_token.txt").read_text().strip()
        complaint = json.loads(Path(workdir, "complaint.json").read_text())
        lock, log, filed = threading.Lock(), [], []
        stop = threading.Event()

        def complainer() -> None:  # the ORM's engine (the submissions have their own)
            n = 0
            while not stop.is_set():
                n += 1
                data = json.dumps({**complaint, "external_ref": f"restart-{n}"}).encode()
                status, _, _ = h.post(
                    f"{server.base}/api/v1/complaints",
                    data,
                    "application/json",
                    {"Authorization": f"Bearer {api}"},
                )
                filed.append((time.time(), status))
                time.sleep(0.05)

        def client() -> None:
            while not stop.is_set():
                with lock:
                    token = next(tokens)
                status, page, _ = h.post(
                    f"{server.base}/s/{token}", body, "application/x-www-form-urlencoded"
                )
                log.append((time.time(), status, "提交成功" in page, "暂不可用" in page))
                time.sleep(0.02)

        threads = [threading.Thread(target=client) for _ in range(4)]
        threads.append(threading.Thread(target=complainer))
        for t in threads:
            t.start()
        time.sleep(3)
        down_at = time.time()
        subprocess.run([*_pg_cluster(), "stop", "-m", "fast"], capture_output=True)
        time.sleep(5)
        subprocess.run([*_pg_cluster(), "start"], capture_output=True)
        up_at = time.time()
        while not _pg_ready() and time.time() - up_at < 30:
            time.sleep(0.2)
        ready_at = time.time()
        time.sleep(6)
        stop.set()
        for t in threads:
            t.join()
        during = [e for e in log if down_at <= e[0] <= up_at]
        statuses: dict[int, int] = {}
        for e in during:
            statuses[e[1]] = statuses.get(e[1], 0) + 1
        chinese = sum(1 for e in during if e[1] == 503 and e[3])
        first_ok = next((e[0] for e in log if e[0] > ready_at and e[2]), None)
        after = [e for e in log if e[0] > ready_at]
        print(
            f"  while down ({up_at - down_at:.1f} s): statuses {statuses}; "
            f"503 pages with the Chinese message: {chinese}"
        )
        print(
            "  first success after PostgreSQL accepted connections again: "
            + (f"{first_ok - ready_at:.2f} s" if first_ok else "NONE")
        )
        print(f"  after recovery: {sum(1 for e in after if e[2])} of {len(after)} succeeded")
        down = {}
        for at, status in filed:
            if down_at <= at <= up_at:
                down[status] = down.get(status, 0) + 1
        first_filed = next((at for at, status in filed if at > ready_at and status == 201), None)
        filed_after = [status for at, status in filed if at > ready_at]
        created = sum(1 for _, status in filed if status == 201)
        stored = int(
            db.scalar("SELECT count(*) FROM complaint WHERE external_ref LIKE 'restart-%'")
        )
        print(
            f"  complaint API: while down {down}; first 201 after recovery "
            + (f"{first_filed - ready_at:.2f} s" if first_filed else "NONE")
            + f"; after recovery {filed_after.count(201)} of {len(filed_after)} created; "
            f"{created} answered 201, {stored} stored (one per external_ref: a request cut "
            "off while the server went down may still have committed)"
        )
        thanks = sum(1 for e in log if e[2])
        _report_counts(db, workdir, thanks, 4, {"REDIS_URL": ""})
    finally:
        if not _pg_ready():
            subprocess.run([*_pg_cluster(), "start"], capture_output=True)
        print(f"  PostgreSQL running at the end: {_pg_ready()}")
        if server:
            server.stop()
        db.drop()


def redis_down() -> None:
    print(
        f"\nredis-down (SQLite; REDIS_URL points at 127.0.0.1:{PRIVATE_REDIS_PORT}, "
        "nothing listening):"
    )
    workdir = tempfile.mkdtemp(prefix="kesheng-fault-")
    db = h.Database("sqlite", workdir).create()
    h.setup_data(db, workdir, 1_000)
    url = f"redis://127.0.0.1:{PRIVATE_REDIS_PORT}/0"
    env = {"DATABASE_URL": db.url, "REDIS_URL": url}
    server = h.Server("wsgi:app", PORT, 2, env).start()
    redis_pid = None
    try:
        body, api = _answers(workdir), Path(workdir, "api_token.txt").read_text().strip()
        complaint = Path(workdir, "complaint.json").read_bytes()
        timings, statuses = [], {}
        for token in _tokens(workdir)[:100]:
            started = time.perf_counter()
            status, page, _ = h.post(
                f"{server.base}/s/{token}", body, "application/x-www-form-urlencoded"
            )
            timings.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
        for _ in range(20):
            status, _, _ = h.post(
                f"{server.base}/api/v1/complaints",
                complaint,
                "application/json",
                {"Authorization": f"Bearer {api}"},
            )
            statuses[status] = statuses.get(status, 0) + 1
        timings.sort()
        print(
            f"  100 submissions + 20 complaints: statuses {statuses}; submission p50 "
            f"{timings[50] * 1000:.0f} ms, max {timings[-1] * 1000:.0f} ms"
        )
        # the broker being down, each worker expands its last 0.2 s of submissions itself
        time.sleep(1)
        rows = db.scalar("SELECT count(*) FROM survey_response WHERE invitation_id IS NOT NULL")
        complaints = db.scalar("SELECT count(*) FROM complaint WHERE external_ref IS NULL")
        pending = db.scalar("SELECT count(*) FROM text_analysis WHERE status = 'pending'")
        print(
            f"  stored: {rows} invitation responses, {complaints} API complaints; "
            f"texts waiting for analysis: {pending}"
        )
        proc = subprocess.run(
            [
                "redis-server",
                "--port",
                str(PRIVATE_REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--pidfile",
                os.path.join(workdir, "redis.pid"),
            ],
            capture_output=True,
        )
        time.sleep(1)
        if proc.returncode == 0:
            redis_pid = int(Path(workdir, "redis.pid").read_text())
        print(
            f"  private Redis started (pid {redis_pid}); running the catch-up "
            "(flask nlp analyze, as the periodic kesheng.analyze_pending does)"
        )
        subprocess.run(
            [str(h.ROOT / ".venv/bin/flask"), "--app", "wsgi", "nlp", "analyze"],
            cwd=h.ROOT,
            env={**os.environ, **env, "SECRET_KEY": h.SECRET},
            capture_output=True,
        )
        pending = db.scalar(PENDING)
        print(f"  texts still waiting after the catch-up: {pending}")
    finally:
        server.stop()
        if redis_pid:
            os.kill(redis_pid, signal.SIGTERM)


def disk_full() -> None:
    print("\ndisk-full (SQLite on a 16 MB tmpfs, filled up, then remounted read-only):")
    mount = tempfile.mkdtemp(prefix="kesheng-tmpfs-")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", mount]).returncode:
        print("  cannot mount a tmpfs here (needs root): skipped")
        return
    workdir = tempfile.mkdtemp(prefix="kesheng-fault-")
    server = None
    try:
        big = h.Database("sqlite", workdir).create()
        h.setup_data(big, workdir, 200)
        db_file = big.url.removeprefix("sqlite:///")
        subprocess.run(
            [
                h.PYTHON,
                "-c",
                f"import sqlite3; sqlite3.connect({db_file!r})"
                ".execute('PRAGMA wal_checkpoint(TRUNCATE)')",
            ],
            check=True,
        )
        size = os.path.getsize(db_file)
        shutil.copy(db_file, os.path.join(mount, "bench.db"))
        url = f"sqlite:///{os.path.join(mount, 'bench.db')}"
        db = h.Database("sqlite", workdir)
        db.url = url
        server = h.Server("wsgi:app", PORT, 2, {"DATABASE_URL": url, "REDIS_URL": ""}).start()
        filler = os.path.join(mount, "filler")
        try:
            with open(filler, "wb") as f:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
        except OSError:
            pass  # ENOSPC: the file system is full
        print(f"  database {size / 1e6:.1f} MB; tmpfs now full")
        tokens, body = _tokens(workdir), _answers(workdir)
        seen: dict[int, int] = {}
        chinese = 0
        for token in tokens[:40]:
            status, page, _ = h.post(
                f"{server.base}/s/{token}", body, "application/x-www-form-urlencoded"
            )
            seen[status] = seen.get(status, 0) + 1
            chinese += status == 503 and "暂不可用" in page
        print(f"  40 submissions on a full disk: statuses {seen}; 503 pages in Chinese: {chinese}")
        os.remove(filler)
        server.stop()  # a file system with files open for writing cannot be remounted
        subprocess.run(["mount", "-o", "remount,ro", mount], check=True)
        server = h.Server("wsgi:app", PORT, 2, {"DATABASE_URL": url, "REDIS_URL": ""})
        server.start("/login")
        seen, chinese = {}, 0
        for token in tokens[40:80]:
            status, page, _ = h.post(
                f"{server.base}/s/{token}", body, "application/x-www-form-urlencoded"
            )
            seen[status] = seen.get(status, 0) + 1
            chinese += status == 503 and "暂不可用" in page
        print(
            f"  40 submissions on a read-only file system: statuses {seen}; "
            f"503 pages in Chinese: {chinese}"
        )
        server.stop()
        server = None
        subprocess.run(["mount", "-o", "remount,rw", mount], check=True)
        check = db.scalar("PRAGMA integrity_check")
        rows = db.scalar("SELECT count(*) FROM survey_response WHERE invitation_id IS NOT NULL")
        done = db.scalar("SELECT count(*) FROM invitation WHERE status = 'completed'")
        print(
            f"  afterwards: PRAGMA integrity_check = {check}; {rows} responses stored, "
            f"{done} invitations completed"
        )
    finally:
        if server:
            server.stop()
        subprocess.run(["umount", mount])


SCENARIOS = {
    "kill-worker": kill_worker,
    "postgres-restart": postgres_restart,
    "redis-down": redis_down,
    "disk-full": disk_full,
}


def main() -> None:
    names = sys.argv[1:] or list(SCENARIOS)
    print(f"machine: {h.machine_note()}")
    for name in names:
        SCENARIOS[name]()
    print(json.dumps({"scenarios": names}))


if __name__ == "__main__":
    main()
