"""Load benchmark: survey submissions, the complaint API and the staff queue under gunicorn.

Usage:
    .venv/bin/python bench/load.py [--backend sqlite|postgresql|both] [--broker redis|inline|both]
                                   [--seconds 10] [--connections 32] [--workers 2] [--rounds 3]
                                   [--async-commit]
    .venv/bin/python bench/load.py --memory [--requests 100000] [--backend sqlite]

For each backend: a fresh migrated database with the demo bank and enough one-time invitations,
gunicorn with gunicorn.conf.py (``-w 2``), and wrk on loopback (``bench/load.lua``). In the same
run a bare Flask handler (``bench/bare_app.py``) is served by the same gunicorn settings, in
rounds: bare handler, submissions, bare handler, submissions ... (``--rounds``, default 3), and
the ratio reported is the median of the rounds' ratios, so that a shared host whose speed drifts
by 10-20 % within minutes compares each submission round with a bare round of the same minute.
The complaint API and the staff queue then run ``--rounds`` rounds each; the median round is
printed with every round's figures. Every submission uses a different token; afterwards the
stored rows are counted against wrk's 2xx.
``--broker redis`` queues analysis and rollup jobs in Redis (a private queue, dropped at the end;
no Celery worker runs, so the jobs wait); ``inline`` runs them in the request, as without Redis.
``--async-commit`` sets ``SURVEY_ASYNC_COMMIT=1`` (PostgreSQL: submissions commit without waiting
for the WAL flush; see README "Configuration"). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness as h  # noqa: E402


def bad(r: dict) -> int:
    return r["non_2xx"] + r["socket_errors"] + r["timeouts"]


def fmt(name: str, r: dict) -> str:
    return (
        f"  {name:<38} {r['rps']:8.0f}/s  p50 {r['p50_ms']:7.1f} ms  "
        f"p99 {r['p99_ms']:7.1f} ms  2xx {r['ok']:6d}  non-2xx/errors {bad(r)}"
        + (f" ({r['statuses'].strip()})" if r["statuses"].strip() else "")
    )


def median_run(runs: list[dict]) -> dict:
    """The run with the median requests/second (its own latencies go with it)."""
    return sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]


def run_backend(backend: str, broker: str, args) -> None:
    """Submissions in ``args.rounds`` rounds, each right after a round of the bare handler (so a
    host whose speed drifts compares like with like; the ratio reported is the median of the
    rounds'), then the complaint API and the staff queue, ``args.rounds`` rounds each."""
    workdir = tempfile.mkdtemp(prefix=f"kesheng-load-{backend}-")
    db = h.Database(backend, workdir).create()
    queue = f"kesheng-bench-{os.getpid()}"
    server = bare = None
    try:
        per_round = int(args.seconds * 3000) + 1000  # more than a round can use
        h.setup_data(db, workdir, per_round * args.rounds)
        tokens = Path(workdir, "tokens.txt").read_text().split()
        env = {"DATABASE_URL": db.url}
        if args.async_commit:
            env["SURVEY_ASYNC_COMMIT"] = "1"
        if broker == "redis":
            env.update({"REDIS_URL": h.REDIS_URL, "CELERY_QUEUE": queue})
        else:
            env.update({"REDIS_URL": "", "CELERY_BROKER_URL": ""})
        server = h.Server("wsgi:app", args.port, args.workers, env).start()
        bare = h.Server("bench.bare_app:app", args.port + 1, args.workers).start("/bare")
        # Warm-up (not counted): models and templates load on first use in each worker.
        for _ in range(4):
            h.get(server.base + "/complaint")
        Path(workdir, "cookie.txt").write_text(h.sign_in(server.base, "hq"))
        print(f"\n{backend} (analysis {'queued in Redis' if broker == 'redis' else 'inline'}):")
        run = functools.partial(h.wrk, seconds=args.seconds, connections=args.connections)
        bares, subs, ratios = [], [], []
        for n in range(args.rounds):
            chunk = tokens[n * per_round : (n + 1) * per_round]
            Path(workdir, "tokens.txt").write_text("\n".join(chunk) + "\n")
            b = run(bare.base, "get", workdir, path="/bare")
            r = run(server.base, "submit", workdir)
            bares.append(b)
            subs.append(r)
            ratios.append(r["rps"] / b["rps"])
            print(
                f"  round {n + 1}: bare {b['rps']:.0f}/s, submissions {r['rps']:.0f}/s = "
                f"{ratios[-1]:.0%} (p99 {r['p99_ms']:.1f} ms)"
            )
        bare.stop()
        bare = None
        counts = h.submission_counts(db, workdir, env)
        thanks = sum(r["thanks"] for r in subs)
        print(fmt("bare Flask handler GET /bare", median_run(bares)))
        print(fmt("survey submission POST /s/<token>", median_run(subs)))
        print(
            f"    vs the bare handler, round by round: {', '.join(f'{x:.0%}' for x in ratios)}; "
            f"median {statistics.median(ratios):.0%}"
        )
        print(f"    bad responses in all rounds: {sum(bad(r) for r in subs)}")
        print("    " + h.describe_counts(counts, thanks, args.connections * args.rounds))
        if broker == "redis":
            print(f"    jobs waiting in Redis queue: {h.redis_queue_length(queue)}")
        for name, mode, path in (
            ("complaint API POST /api/v1/complaints", "complaint", "/"),
            ("staff queue GET /staff/complaints", "get", "/staff/complaints"),
        ):
            # Warm-up (not counted): a short run first, so that both workers have served the
            # request once (statements compiled, per-process caches filled) and the rounds
            # measure the steady state a running server is in.
            run(server.base, mode, workdir, path=path, seconds=1)
            runs = [run(server.base, mode, workdir, path=path) for _ in range(args.rounds)]
            print(fmt(name, median_run(runs)))
            print(
                "    rounds: "
                + ", ".join(f"{r['rps']:.0f}/s p99 {r['p99_ms']:.0f} ms" for r in runs)
                + f"; bad responses {sum(bad(r) for r in runs)}"
            )
        errors = sum(1 for line in open(server.log, encoding="utf-8") if "Traceback" in line)
        print(f"    tracebacks in the gunicorn log: {errors}")
    finally:
        for running in (server, bare):
            if running:
                running.stop()
        if broker == "redis":
            h.redis_drop_queue(queue)
        db.drop()


def memory(args) -> None:
    """One worker, submissions until --requests; RSS sampled every 10,000 requests."""
    workdir = tempfile.mkdtemp(prefix="kesheng-memory-")
    db = h.Database(args.backend if args.backend != "both" else "sqlite", workdir).create()
    queue = f"kesheng-bench-{os.getpid()}"
    server = None
    try:
        h.setup_data(db, workdir, args.requests + 20_000)
        env = {"DATABASE_URL": db.url, "REDIS_URL": h.REDIS_URL, "CELERY_QUEUE": queue}
        server = h.Server("wsgi:app", args.port, 1, env).start()
        pid = server.worker_pids()[0]
        print(f"memory of one worker (pid {pid}), survey submissions, {db.backend}:")
        print(f"  {'requests':>9}  {'RSS MB':>7}")
        print(f"  {0:>9}  {h.rss_mb(pid):7.1f}")
        total, step = 0, 10_000
        # wrk cannot stop after N requests: run short bursts and sample at each 10k boundary.
        next_mark = step
        offset_dir = Path(workdir)
        tokens = offset_dir.joinpath("tokens.txt").read_text().split()
        while total < args.requests:
            chunk = tokens[total : total + 60_000]
            offset_dir.joinpath("tokens.txt").write_text("\n".join(chunk) + "\n")
            r = h.wrk(server.base, "submit", workdir, seconds=5, connections=8)
            total += r["requests"]
            if total >= next_mark:
                print(
                    f"  {total:>9}  {h.rss_mb(pid):7.1f}   (last burst {r['rps']:.0f}/s)",
                    flush=True,
                )
                next_mark += step
        alive = pid in server.worker_pids()
        print(f"  same worker throughout: {alive}")
    finally:
        if server:
            server.stop()
        h.redis_drop_queue(queue)
        db.drop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--broker", choices=["redis", "inline", "both"], default="redis")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=18731)
    parser.add_argument(
        "--async-commit",
        action="store_true",
        help="SURVEY_ASYNC_COMMIT=1: PostgreSQL submissions do not wait for the WAL flush",
    )
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--requests", type=int, default=100_000)
    args = parser.parse_args()
    h.ensure_wrk()
    print(
        f"machine: {h.machine_note()}; gunicorn -w {args.workers}, wrk -t2 "
        f"-c{args.connections} -d{args.seconds:g}s"
    )
    if args.memory:
        memory(args)
        return
    brokers = ["redis", "inline"] if args.broker == "both" else [args.broker]
    if "redis" in brokers and not h.redis_available():
        print("Redis is not answering at", h.REDIS_URL, "- running inline only")
        brokers = ["inline"]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        for broker in brokers:
            started = time.time()
            run_backend(backend, broker, args)
            print(f"    ({time.time() - started:.0f} s including set-up)")


if __name__ == "__main__":
    main()
