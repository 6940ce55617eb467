"""Benchmark: create and send a campaign to 100,000 customers through the outbox channel.

Usage: .venv/bin/python bench/campaign_bench.py [--customers N] [--database-url URL]
Builds a fresh migrated SQLite database (or uses the URL given, which must be empty), inserts the
customers in bulk (not timed), then times create_campaign + run_campaign and prints
customers/second and peak memory (max RSS of this process).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="kesheng-bench-")
    url = args.database_url or f"sqlite:///{os.path.join(workdir, 'bench.db')}"

    from flask_migrate import upgrade
    from sqlalchemy import func, insert, select

    from app import create_app
    from app.extensions import db
    from app.models import Branch, Customer, OutboundMessage
    from app.security import pii
    from app.services import campaigns, demo, surveys

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret"})
    with app.app_context():
        upgrade()
        demo.seed(customers=1, responses=0)
        outlets = list(db.session.scalars(select(Branch.id).where(Branch.code.like("%0_"))))
        started = time.perf_counter()
        batch = []
        for n in range(args.customers):
            phone = f"13{n:09d}"
            batch.append(
                {
                    "external_id": f"B{n:08d}",
                    "name": "压测客户",
                    "segment": "mass",
                    "branch_id": outlets[n % len(outlets)],
                    "phone": phone,
                    "phone_index": pii.blind_index("phone", phone),
                    "opted_out": n % 97 == 0,
                    "opted_out_channels": "",
                    "anonymised": False,
                }
            )
            if len(batch) == 10_000:
                db.session.execute(insert(Customer), batch)
                batch.clear()
        if batch:
            db.session.execute(insert(Customer), batch)
        db.session.commit()
        print(
            f"set-up: {args.customers:,} customers inserted "
            f"in {time.perf_counter() - started:.1f} s"
        )

        now = datetime.now(UTC).replace(hour=2, minute=0)  # 10:00 in Beijing: no quiet hours
        head_office = db.session.scalar(select(Branch.id).where(Branch.code == "HO"))
        survey = surveys.survey_by_code("branch-service")
        started = time.perf_counter()
        campaign = campaigns.create_campaign(
            campaigns.CampaignInput(
                name="压测活动",
                survey_id=survey.id,
                channel="sms",
                audience="branch",
                branch_id=head_office,
                window_start=now - timedelta(hours=1),
                window_end=now + timedelta(days=7),
            ),
            actor=None,
        )
        campaign = campaigns.run_campaign(campaign.id, now=now)
        elapsed = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        messages = db.session.scalar(select(func.count(OutboundMessage.id)))
        print(
            f"campaign: {campaign.total:,} customers, {campaign.sent_count:,} sent, "
            f"{campaign.skipped_count:,} skipped, {messages:,} outbox messages"
        )
        print(f"time: {elapsed:.1f} s  ->  {campaign.total / elapsed:,.0f} customers/second")
        print(f"peak memory (max RSS): {peak_mb:.0f} MB")
        again = time.perf_counter()
        rerun = campaigns.run_campaign(campaign.id, now=now)
        print(
            f"re-run: {rerun.sent_count:,} sent in total (unchanged), "
            f"{time.perf_counter() - again:.1f} s"
        )
        assert rerun.sent_count == campaign.sent_count


if __name__ == "__main__":
    main()
