"""complaint.identity_check: how the complainant's identity was checked (Art. 22)

A decision is now made only on a complaint whose complainant's identity was checked: on
accepting, or stated with the decision. The method is kept on the case; cases accepted before
this revision with a stated method (it was kept in the history only) get it from there. Cases
decided without one stay without it.

Revision ID: d8b2e5f1a694
Revises: c4e7a1d9b352
Create Date: 2026-12-23 09:00:00

"""

import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d8b2e5f1a694"
down_revision = "c4e7a1d9b352"
branch_labels = None
depends_on = None

UNCHECKED = "not_verified"


def upgrade():
    with op.batch_alter_table("complaint") as batch:
        batch.add_column(sa.Column("identity_check", sa.String(20), nullable=True))
    _backfill(op.get_bind())


def _backfill(bind) -> None:
    """The latest method stated in each case's history (an acceptance's, or an entry of its
    own as a decision records it); 暂未核验 is no check."""
    events = sa.table(
        "complaint_event",
        sa.column("id", sa.Integer),
        sa.column("complaint_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("detail", sa.JSON),
    )
    complaint = sa.table(
        "complaint", sa.column("id", sa.Integer), sa.column("identity_check", sa.String)
    )
    rows = bind.execute(
        sa.select(events.c.complaint_id, events.c.detail)
        .where(
            events.c.kind.in_(("status", "identity")),
            sa.cast(events.c.detail, sa.Text).like('%"identity_check"%'),
        )
        .order_by(events.c.id)
    )
    found = {}
    for complaint_id, detail in rows:
        if isinstance(detail, str):
            detail = json.loads(detail)
        method = (detail or {}).get("identity_check")
        if method and method != UNCHECKED:
            found[complaint_id] = str(method)[:20]
    if found:  # (one statement, executed for every case: executemany)
        bind.execute(
            complaint.update()
            .where(complaint.c.id == sa.bindparam("case_id"))
            .values(identity_check=sa.bindparam("method")),
            [{"case_id": k, "method": v} for k, v in found.items()],
        )


def downgrade():
    with op.batch_alter_table("complaint") as batch:
        batch.drop_column("identity_check")
