"""Benchmark: dashboards over 1,000,000 responses and 100,000 complaints on PostgreSQL.

Usage: .venv/bin/python bench/dashboard_bench.py [--responses N] [--complaints N] [--runs N]
       [--units N] [--admin-url postgresql://postgres@127.0.0.1:5432/test] [--keep]

Creates a dedicated database, migrates it, seeds the demo bank (branches, products, surveys,
staff; with --units, that many more units: 分行 of 50 网点 each, as a large bank has), bulk-loads
responses, complaints, text analyses, follow-ups and calls with COPY, then
1. rebuilds every rollup in a subprocess (``flask dashboards rebuild``) and prints its time and
   peak memory,
2. runs the ten-minute safety net (``refresh_recent_rollups``: the last two days) once and
   prints its time, and
3. calls every dashboard endpoint with filters through the Flask test client (server-side time,
   in process) as the head-office manager and as a branch manager, printing median and p95.
The database is dropped at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_MS = 150.0
KEYWORDS = [
    "年费",
    "利息",
    "排队",
    "态度",
    "转账",
    "限额",
    "短信",
    "理财",
    "收费",
    "系统",
    "网点",
    "贷款",
    "额度",
    "柜员",
    "退款",
    "密码",
    "挂失",
    "催收",
    "手续费",
    "客服",
]
COMMENTS = [
    "排队时间太长了",
    "柜员态度很好，办理很快",
    "手机银行转账经常失败",
    "年费扣得莫名其妙",
    "理财经理介绍得很清楚",
    "贷款审批太慢",
    "客服电话一直打不通",
    "网点环境干净整洁",
]


def _admin(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _execute(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_admin(admin_url), autocommit=True) as conn:
        conn.execute(sql)


def _copy(conn, table: str, columns: list[str], rows) -> int:
    n = 0
    with conn.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
    return n


def _grow(db, units: int) -> None:
    """Add ``units`` units as a large bank has them: 分行 under the head office (codes Y000…),
    each over 50 网点 (codes X0000…)."""
    from sqlalchemy import insert, select

    from app.models import Branch

    if units <= 0:
        return
    head = db.session.execute(
        select(Branch.id, Branch.path).where(Branch.parent_id.is_(None))
    ).one()
    now = datetime.now(UTC)
    stamp = {"active": True, "created_at": now, "updated_at": now}
    regions = max(1, units // 51)
    db.session.execute(
        insert(Branch),
        [
            {
                "code": f"Y{r:03d}",
                "name": f"扩展分行{r:03d}",
                "kind": "branch",
                "parent_id": head.id,
                "path": f"{head.path}Y{r:03d}/",
                **stamp,
            }
            for r in range(regions)
        ],
    )
    parents = list(db.session.execute(select(Branch.id, Branch.path).where(Branch.code.like("Y%"))))
    rows = []
    for i in range(units - regions):
        parent_id, path = parents[i % len(parents)]
        code = f"X{i:04d}"
        rows.append(
            {
                "code": code,
                "name": f"扩展网点{i:04d}",
                "kind": "sub_branch",
                "parent_id": parent_id,
                "path": f"{path}{code}/",
                **stamp,
            }
        )
    db.session.execute(insert(Branch), rows)
    db.session.commit()


def _plan(db, select):
    from app.models import Branch, Customer, Product, Survey
    from app.services.surveys import definition_of

    outlets = list(db.session.scalars(select(Branch.id).where(Branch.kind == "sub_branch")))
    products = list(db.session.scalars(select(Product.id)))
    customers = list(db.session.scalars(select(Customer.id)))
    surveys = []
    for s in db.session.scalars(select(Survey)):
        if s.latest_version is not None:
            surveys.append((s.id, s.latest_version.id, definition_of(s.latest_version)))
    return outlets, products, customers, surveys


def _answers(rng, defn, mood):
    from surveys import QuestionType

    out = {}
    for q in defn.questions:
        if q.type is QuestionType.RATING:
            out[q.id] = max(1, min(5, round(rng.gauss(3.2 + mood, 1))))
        elif q.type is QuestionType.NPS:
            out[q.id] = max(0, min(10, round(rng.gauss(6.5 + 2 * mood, 2.2))))
        elif q.type is QuestionType.CES:
            out[q.id] = rng.randint(1, 7)
        elif q.type is QuestionType.MATRIX and q.items:
            out[q.id] = {i.id: max(1, min(5, round(rng.gauss(3.4 + mood, 1)))) for i in q.items}
        elif q.type is QuestionType.SINGLE and q.options:
            out[q.id] = rng.choice(q.options).value
        elif q.type is QuestionType.MULTIPLE and q.options and mood < 0:
            plain = [o.value for o in q.options if not o.other]
            out[q.id] = rng.sample(plain, rng.randint(1, min(3, len(plain))))
        elif q.type is QuestionType.TEXT and rng.random() < 0.6:
            out[q.id] = "办理速度还可以，希望改进排队"
    return out


def load(conn, n_responses: int, n_complaints: int, plan, now: datetime) -> dict[str, int]:
    from surveys import is_detractor, score_response

    outlets, products, customers, surveys = plan
    rng = random.Random(2026)
    channels = ["sms", "wechat", "app", "email", "kiosk", "phone"]
    start = now - timedelta(days=365)
    counts = {}
    survey_products = {sid: rng.sample(products, 2) for sid, _, _ in surveys}
    detractors: list[tuple] = []

    def responses():
        for n in range(n_responses):
            sid, vid, defn = surveys[n % len(surveys)]
            branch = outlets[rng.randrange(len(outlets))]
            mood = (outlets.index(branch) % 5 - 2) * 0.15
            answers = _answers(rng, defn, mood)
            scores = score_response(defn, answers)
            at = start + timedelta(seconds=rng.randrange(365 * 86400))
            det = is_detractor(scores)
            if det and len(detractors) < n_responses // 10:
                detractors.append((n + 1, sid, vid, branch, at))
            yield (
                sid,
                vid,
                rng.choice(channels[:4] if n % 3 else channels),
                at,
                scores.csat,
                scores.nps,
                scores.ces,
                scores.index,
                det,
                json.dumps(answers),
                rng.choice(COMMENTS) if n % 4 == 0 else "",
                branch,
                rng.choice(survey_products[sid]),
            )

    counts["responses"] = _copy(
        conn,
        "survey_response",
        [
            "survey_id",
            "version_id",
            "channel",
            "submitted_at",
            "csat",
            "nps",
            "ces",
            "index_score",
            "detractor",
            "answers",
            "comment_redacted",
            "branch_id",
            "product_id",
        ],
        responses(),
    )
    b_codes = ["B01", "B02", "B03", "B04", "B05", "B06"]
    c_codes = ["C01", "C02", "C03", "C05", "C06", "C11"]
    a_codes = ["A01", "A02", "A03", "A04"]
    cchannels = ["hotline", "web", "app", "branch", "wechat", "email", "regulator"]

    def complaints():
        for n in range(n_complaints):
            received = start + timedelta(seconds=rng.randrange(365 * 86400))
            due = received + timedelta(days=15)
            decided = received + timedelta(days=rng.choice([1, 3, 5, 8, 12, 14, 16, 25, 40]))
            done = decided < now - timedelta(days=2)
            t = datetime.now(UTC)
            yield (
                f"BX{n:010d}",
                rng.choice(cchannels),
                "closed" if done else "in_progress",
                received,
                "测试客户",
                "信用卡年费扣款有争议，要求退还",
                rng.choice(a_codes),
                rng.choice(b_codes),
                rng.choice(c_codes),
                due,
                decided if done else None,
                decided + timedelta(days=1) if done else None,
                outlets[n % len(outlets)],
                rng.choice(products),
                False,
                0,
                1,
                "[]",
                "{}",
                "[]",
                "[]",
                "[]",
                "normal",
                False,
                t,
                t,
                None if n % 20 else received.date(),
            )

    counts["complaints"] = _copy(
        conn,
        "complaint",
        [
            "reference",
            "channel",
            "status",
            "received_at",
            "complainant_name",
            "content",
            "code_channel",
            "code_business",
            "code_cause",
            "due_at",
            "decided_at",
            "closed_at",
            "branch_id",
            "product_id",
            "is_major",
            "extension_level",
            "version",
            "pauses",
            "suggestion",
            "urgency_reasons",
            "named_staff_ids",
            "remedies",
            "priority",
            "customer_unreachable",
            "created_at",
            "updated_at",
            "review_requested_on",
        ],
        complaints(),
    )
    counts["complaint_events"] = _load_history(conn)
    return counts | _load_texts_and_followups(conn, rng, plan, detractors, n_complaints, now)


def _load_history(conn) -> int:
    """Each loaded complaint's history: the 作出处理决定 step by one of the demo bank's agents at
    its decision time (who ``decided_by_id`` names, as the 处理人员 page reads it), six more
    entries (notes, calls) spread over its life, and the open cases assigned to an agent
    (about 700,000 entries for 100,000 complaints, as a desk writes them)."""
    with conn.cursor() as cur:
        agents = cur.execute(
            "SELECT id, display_name FROM staff_user WHERE role = 'agent' ORDER BY id"
        ).fetchall()
        values = ", ".join(f"({i}, {uid}, '{name}')" for i, (uid, name) in enumerate(agents))
        staff = f"(VALUES {values}) AS s(k, uid, name)"
        n = len(agents)
        cur.execute(
            f"""INSERT INTO complaint_event (complaint_id, at, actor_id, actor_name, kind,
                    from_status, to_status, text, detail)
                SELECT c.id, c.decided_at, s.uid, s.name, 'status', 'in_progress', 'decided',
                       '作出处理决定', '{{"action": "decide"}}'
                FROM complaint c JOIN {staff} ON s.k = c.id % {n}
                WHERE c.reference LIKE 'BX%' AND c.decided_at IS NOT NULL"""
        )
        cur.execute(
            f"""INSERT INTO complaint_event (complaint_id, at, actor_id, actor_name, kind, text,
                    detail)
                SELECT c.id, c.received_at + (g * interval '9 hours'), s.uid, s.name,
                       CASE WHEN g % 2 = 0 THEN 'note' ELSE 'contact' END, '处理记录', '{{}}'
                FROM complaint c CROSS JOIN generate_series(1, 6) AS g
                JOIN {staff} ON s.k = (c.id + g) % {n}
                WHERE c.reference LIKE 'BX%'"""
        )
        cur.execute(
            f"""UPDATE complaint c SET assignee_id = s.uid FROM {staff}
                WHERE s.k = c.id % {n} AND c.reference LIKE 'BX%' AND c.decided_at IS NULL"""
        )
        cur.execute(
            f"""UPDATE complaint c SET decided_by_id = s.uid FROM {staff}
                WHERE s.k = c.id % {n} AND c.reference LIKE 'BX%' AND c.decided_at IS NOT NULL"""
        )
        return cur.execute("SELECT count(*) FROM complaint_event").fetchone()[0]


def _load_texts_and_followups(conn, rng, plan, detractors, n_complaints, now) -> dict[str, int]:
    outlets, _, customers, _ = plan
    with conn.cursor() as cur:
        first = cur.execute("SELECT min(id) FROM complaint WHERE reference LIKE 'BX%'").fetchone()[
            0
        ]
    sentiments = ["negative"] * 5 + ["neutral"] * 3 + ["positive"] * 2
    t = datetime.now(UTC)
    start = now - timedelta(days=365)

    def texts():
        for n in range(n_complaints):
            at = start + timedelta(seconds=rng.randrange(365 * 86400))
            yield (
                "complaint",
                first + n,
                "done",
                1,
                at,
                rng.choice(sentiments),
                json.dumps(rng.sample(KEYWORDS, 3), ensure_ascii=False),
                rng.randrange(10),
                rng.choice(COMMENTS),
                outlets[n % len(outlets)],
                False,
                "",
                "{}",
                t,
                t,
            )

    counts = {
        "text_analyses": _copy(
            conn,
            "text_analysis",
            [
                "source_type",
                "source_id",
                "status",
                "attempts",
                "source_created_at",
                "sentiment",
                "keywords",
                "topic_id",
                "redacted_text",
                "branch_id",
                "corrected",
                "redaction_kinds",
                "detail",
                "created_at",
                "updated_at",
            ],
            texts(),
        )
    }

    def followups():
        for rid, sid, vid, branch, at in detractors:
            yield (
                rng.choice(customers),
                sid,
                vid,
                rid,
                "detractor",
                "",
                "done",
                at,
                1,
                3,
                branch,
                at,
                at,
            )

    counts["followups"] = _copy(
        conn,
        "followup",
        [
            "customer_id",
            "survey_id",
            "version_id",
            "source_response_id",
            "reason",
            "note",
            "status",
            "due_at",
            "attempts",
            "max_attempts",
            "branch_id",
            "created_at",
            "updated_at",
        ],
        followups(),
    )
    with conn.cursor() as cur:
        first_f = cur.execute("SELECT min(id) FROM followup").fetchone()[0]

    def calls():
        for i, (_, _, _, _, at) in enumerate(detractors):
            yield (
                first_f + i,
                rng.choice(["reached", "reached", "no_answer"]),
                at + timedelta(hours=rng.choice([2, 20, 40, 60, 90])),
                "",
            )

    counts["call_attempts"] = _copy(
        conn, "call_attempt", ["followup_id", "outcome", "at", "note"], calls()
    )
    return counts


def _time(client, path: str, runs: int) -> tuple[float, float, int]:
    client.get(path)  # warm-up (imports, caches)
    samples = []
    status = 0
    for _ in range(runs):
        started = time.perf_counter()
        resp = client.get(path)
        samples.append(1000 * (time.perf_counter() - started))
        status = resp.status_code
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(round(0.95 * len(samples))) - 1)]
    return statistics.median(samples), p95, status


def endpoints(app, runs: int) -> list[tuple[str, str, float, float, int]]:
    import re

    paths = [
        "/manager/dashboards/",
        "/manager/dashboards/?grain=week&from="
        + (datetime.now(UTC) - timedelta(days=91)).date().isoformat(),
        "/manager/dashboards/?grain=week",
        "/manager/dashboards/?branch=HZ&product=CREDIT&channel=sms",
        "/manager/dashboards/branches",
        "/manager/dashboards/branches?branch=NJ",
        "/manager/dashboards/products",
        "/manager/dashboards/products?survey=branch-service",
        "/manager/dashboards/complaints",
        "/manager/dashboards/complaints?branch=SZ&channel=regulator",
        "/manager/dashboards/handlers",
        "/manager/dashboards/handlers?branch=NJ",
        "/manager/dashboards/annual-disclosure",
        "/manager/dashboards/voice",
        "/manager/dashboards/followups",
        "/manager/dashboards/surveys",
        "/manager/dashboards/surveys?survey=branch-service&branch=HZ",
        "/manager/dashboards/drill/responses?branch=HZ01",
        "/manager/dashboards/drill/complaints?branch=HZ01",
    ]
    out = []
    for user in ("hq", "manager"):
        client = app.test_client()
        html = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        client.post(
            "/login", data={"username": user, "password": "Kesheng@2026", "csrf_token": token}
        )
        for path in paths:
            if user == "manager" and ("branch=NJ" in path or "branch=SZ" in path):
                continue
            median, p95, status = _time(client, path, runs)
            out.append((user, path, median, p95, status))
    from app.extensions import db
    from app.services import tokens

    with app.app_context():
        secret = tokens.create_token("bench", "metrics:read").secret
        db.session.remove()
    client = app.test_client()
    for group in ("branch", "product", "channel", "month"):
        path = f"/api/v1/metrics/satisfaction?group_by={group}"
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
        median, p95, status = _time(client, path, runs)
        out.append(("token", path, median, p95, status))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--units", type=int, default=0, help="more units to add (e.g. 2000: 39 分行 of 50 网点)"
    )
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "KESHENG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--no-endpoints", action="store_true", help="rollups only")
    args = parser.parse_args()
    name = f"kesheng_dash_bench_{uuid.uuid4().hex[:8]}"
    _execute(args.admin_url, f'CREATE DATABASE "{name}"')
    url = _admin(args.admin_url).rsplit("/", 1)[0] + f"/{name}"
    print(f"database {name}")
    try:
        run(url, args)
    finally:
        if not args.keep:
            _execute(args.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(url: str, args) -> None:
    import psycopg
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app
    from app.extensions import db
    from app.services import demo

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://"),
            "SECRET_KEY": "bench-secret",
            "WTF_CSRF_ENABLED": True,
        }
    )
    with app.app_context():
        upgrade()
        demo.seed(customers=2000, responses=0)
        _grow(db, args.units)
        plan = _plan(db, select)
        db.session.remove()
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        counts = load(conn, args.responses, args.complaints, plan, datetime.now(UTC))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    print(f"loaded {counts} in {time.perf_counter() - started:.0f} s (COPY)")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-secret"}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "dashboards", "rebuild"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    print("full rollup rebuild (flask dashboards rebuild):")
    print("  " + result.stdout.strip().replace("\n", "\n  "))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        for table in (
            "rollup_satisfaction",
            "rollup_question",
            "rollup_answer_value",
            "rollup_complaint",
            "rollup_voice",
            "rollup_followup",
        ):
            n = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            print(f"  {table}: {n} rows")
    with app.app_context():
        from app.jobs.dashboards import refresh_recent_rollups

        started = time.perf_counter()
        stored = refresh_recent_rollups()
        print(
            f"periodic refresh of the last two days (refresh_recent_rollups): {stored} rows in "
            f"{time.perf_counter() - started:.1f} s"
        )
        db.session.remove()
    if args.no_endpoints:
        return
    rows = endpoints(app, args.runs)
    print(
        f"\nserver-side time per request, {args.runs} runs each (ms); target p95 < {TARGET_MS:.0f}"
    )
    print(f"{'who':8} {'median':>8} {'p95':>8}  status  endpoint")
    worst = 0.0
    for who, path, median, p95, status in rows:
        flag = "" if p95 < TARGET_MS or "/drill/" in path else "  <-- over target"
        if "/drill/" not in path:
            worst = max(worst, p95)
        print(f"{who:8} {median:8.1f} {p95:8.1f}  {status:6}  {path}{flag}")
    print(f"\nworst dashboard p95: {worst:.1f} ms (drill-down pages are raw paginated reads)")


if __name__ == "__main__":
    main()
