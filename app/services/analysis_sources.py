"""Where analysable texts live: each source type's loader, registered with the analysis service."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select

from app.extensions import db
from app.models import CallAttempt, Complaint, FollowUp, Response
from app.services import analysis


def complaint_text(content: str, demand: str | None) -> str:
    """What is read of a complaint: its content and, on a line of its own, its demand (诉求).
    The intake's category suggestion reads the same text as the analysis, so that the two
    never name different categories for one case."""
    return content + (f"\n诉求：{demand}" if demand else "")


def _complaint(complaint_id: int) -> analysis.SourceText | None:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None:
        return None
    text = complaint_text(complaint.content, complaint.demand)
    return analysis.SourceText(text, complaint.branch_id, complaint.received_at)


def _complaint_ids(since: datetime | None) -> Select:
    stmt = select(Complaint.id).order_by(Complaint.id)
    return stmt if since is None else stmt.where(Complaint.received_at >= since)


analysis.register_source("complaint", _complaint, _complaint_ids)


def _response(response_id: int) -> analysis.SourceText | None:
    response = db.session.get(Response, response_id)
    if response is None:
        return None
    # The free-text answers, already redacted when the response was stored.
    return analysis.SourceText(response.comment_redacted, response.branch_id, response.submitted_at)


def _response_ids(since: datetime | None) -> Select:
    stmt = select(Response.id).where(Response.comment_redacted != "").order_by(Response.id)
    return stmt if since is None else stmt.where(Response.submitted_at >= since)


def _call_note(attempt_id: int) -> analysis.SourceText | None:
    row = db.session.execute(
        select(CallAttempt.note, FollowUp.branch_id, CallAttempt.at)
        .join(FollowUp, FollowUp.id == CallAttempt.followup_id)
        .where(CallAttempt.id == attempt_id)
    ).first()
    return None if row is None else analysis.SourceText(row.note, row.branch_id, row.at)


def _call_note_ids(since: datetime | None) -> Select:
    stmt = select(CallAttempt.id).where(CallAttempt.note != "").order_by(CallAttempt.id)
    return stmt if since is None else stmt.where(CallAttempt.at >= since)


analysis.register_source("response", _response, _response_ids)
analysis.register_source("call_note", _call_note, _call_note_ids)
