"""Benchmark: the complaint ledger export (投诉台账, CSV and Excel) over a large database.

Usage: .venv/bin/python bench/ledger_export_bench.py --database-url URL [--runs N]
       [--user hq] [--query "queue=all&received_from=2026-01-01"]

The database must hold the demo bank's accounts (``flask demo seed``) and many complaints
(e.g. the ~52,000 of a bulk-loaded copy). Signs in through the Flask test client, as a person
would, and times ``GET /staff/complaints/export.{csv,xlsx}?<query>`` in process (server-side
time, no network), printing the status, rows, size and seconds of each run. Nothing is
asserted; nothing is written but the audit entries of the exports.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PASSWORD = "Kesheng@2026"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--user", default="hq")
    parser.add_argument("--query", default="queue=all&received_from=2026-01-01")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    from app import create_app

    app = create_app()
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    signed = client.post(
        "/login",
        data={"username": args.user, "password": PASSWORD, "csrf_token": token[1] if token else ""},
    )
    if signed.status_code not in (302, 303):
        sys.exit(f"sign-in as {args.user} failed ({signed.status_code})")
    for fmt in ("csv", "xlsx"):
        for run in range(1, args.runs + 1):
            started = time.perf_counter()
            reply = client.get(f"/staff/complaints/export.{fmt}?{args.query}")
            seconds = time.perf_counter() - started
            rows = "?"
            if reply.status_code == 200 and fmt == "csv":
                rows = len(list(csv.reader(io.StringIO(reply.data.decode("utf-8-sig"))))) - 1
            elif reply.status_code == 200:
                from openpyxl import load_workbook

                book = load_workbook(io.BytesIO(reply.data), read_only=True)
                rows = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1
            print(
                f"{fmt:4} run {run}: HTTP {reply.status_code}, {rows} rows, "
                f"{len(reply.data) / 1e6:.1f} MB, {seconds:.1f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
