"""Prepare a database for the load benchmarks (not timed).

Usage: .venv/bin/python bench/load_setup.py --database-url URL --tokens N --out DIR

Migrates the (empty) database, loads the demo bank (branches, staff, survey templates, ~300
complaints; few survey answers), then inserts N one-time invitations to the branch-service
survey in bulk and writes their tokens to DIR/tokens.txt (one a line), a full valid answer set
as a url-encoded body to DIR/answers.txt, a complaint JSON body to DIR/complaint.json and an API
token with the complaints:write scope to DIR/api_token.txt. The invitation ids written are all
> DIR/first_invitation_id.txt, so rows can be counted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ANSWERS = [
    ("q_overall", "2"),
    ("q_nps", "3"),
    ("q_wait_time", "gt30"),
    ("q_aspects__attitude", "2"),
    ("q_aspects__skill", "3"),
    ("q_aspects__efficiency", "2"),
    ("q_aspects__disclosure", "3"),
    ("q_aspects__environment", "4"),
    ("q_effort", "2"),
    ("q_improve", "wait"),
    ("q_improve", "attitude"),
    ("q_comment", "排队等了一个多小时，只开了两个窗口，希望增加高峰期的柜员。电话13812345678"),
]

COMPLAINT = {
    "channel": "app",
    "content": "信用卡账单里多了一笔200元的年费，办卡时客户经理明确说首年免年费，要求退还。",
    "customer": {"external_id": "C0000001", "name": "压测客户", "phone": "13800000001"},
    "branch_code": "HZ01",
    "product_code": "CREDIT",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--tokens", type=int, default=30_000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from app import create_app
    from app.config import normalise_database_url
    from app.extensions import db
    from app.models import Customer, Invitation, InvitationStatus, Product, utcnow
    from app.services import demo, invitations, surveys, tokens
    from app.services.responses import VERSION_FIELD, version_key

    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(args.database_url)})
    started = time.perf_counter()
    with app.app_context():
        upgrade()
        demo.seed(customers=40, responses=0)
        version = surveys.published_version("branch-service")
        posted_version = version_key(version.id, version.definition_hash)
        customers = list(db.session.execute(select(Customer.id, Customer.branch_id)))
        product = db.session.scalar(select(Product.id).where(Product.code == "DEBIT"))
        first = db.session.scalar(select(db.func.max(Invitation.id))) or 0
        now = utcnow()
        secrets, batch = [], []
        for n in range(args.tokens):
            token = invitations.new_token()
            secrets.append(token)
            customer_id, branch_id = customers[n % len(customers)]
            batch.append(
                {
                    "token_hash": invitations.hash_token(token),
                    "survey_id": version.survey_id,
                    "version_id": version.id,
                    "campaign_id": None,
                    "customer_id": customer_id,
                    "branch_id": branch_id,
                    "product_id": product,
                    "channel": "sms",
                    "source": "api",
                    "status": InvitationStatus.SENT,
                    "scheduled_at": now,
                    "sent_at": now,
                    "expires_at": now + timedelta(days=14),
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(batch) == 5000:
                db.session.execute(insert(Invitation), batch)
                batch.clear()
        if batch:
            db.session.execute(insert(Invitation), batch)
        issued = tokens.create_token("load benchmark", "complaints:write,complaints:read")
        db.session.commit()
        Path(args.out, "api_token.txt").write_text(issued.secret + "\n")
    Path(args.out, "tokens.txt").write_text("\n".join(secrets) + "\n")
    Path(args.out, "first_invitation_id.txt").write_text(f"{first}\n")
    # what the form posts: the answers and its hidden version field (responses.VERSION_FIELD)
    posted = [*ANSWERS, (VERSION_FIELD, posted_version)]
    Path(args.out, "answers.txt").write_text(urlencode(posted))
    Path(args.out, "complaint.json").write_text(json.dumps(COMPLAINT, ensure_ascii=False))
    took = time.perf_counter() - started
    print(f"set-up: demo bank + {args.tokens:,} invitations in {took:.1f} s")


if __name__ == "__main__":
    main()
