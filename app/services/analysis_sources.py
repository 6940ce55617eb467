"""Where analysable texts live: each source type's loader, registered with the analysis service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select

from app.extensions import db
from app.models import Complaint
from app.services import analysis


def _complaint(complaint_id: int) -> analysis.SourceText | None:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None:
        return None
    text = complaint.content + (f"\n诉求：{complaint.demand}" if complaint.demand else "")
    return analysis.SourceText(text, complaint.branch_id, complaint.received_at)


def _complaint_ids(since: datetime | None) -> Select:
    stmt = select(Complaint.id).order_by(Complaint.id)
    return stmt if since is None else stmt.where(Complaint.received_at >= since)


analysis.register_source("complaint", _complaint, _complaint_ids)
