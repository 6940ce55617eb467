"""Retention: personal data past RETENTION_DAYS is anonymised, the figures built from it are not.

What changes: customers with no activity since the cut-off lose their name, contact data and
customer number; closed complaints older than the cut-off lose the complainant's name and
contact data and keep their text only redacted; free-text answers and call notes are redacted;
message recipients keep only their masked form; old sign-in attempts (user names and IP
addresses) and rate-limit counters are deleted. What stays: every score, code, status, date,
branch and product, so counts, CSAT/NPS/CES and complaint statistics are unchanged (PIPL Art. 19:
keep personal information no longer than needed; the complaint archive itself stays, Art. 28 of
the complaint rules). Every step selects only rows that still hold personal data, so a second
run changes nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, exists, select

from app.extensions import db
from app.models import (
    Answer,
    CallAttempt,
    Complaint,
    Customer,
    FollowUp,
    Invitation,
    LoginAttempt,
    OutboxMessage,
    Response,
    utcnow,
)
from app.models.complaint import Status
from app.services import audit, ratelimit
from app.services.tx import transactional
from nlp import redact

DEFAULT_RETENTION_DAYS = 5 * 365
ANONYMOUS_NAME = "已匿名"
BATCH = 500


@dataclass
class RetentionReport:
    cutoff: datetime
    customers: int = 0
    complaints: int = 0
    responses: int = 0
    answers: int = 0
    notes: int = 0
    messages: int = 0
    login_attempts: int = 0
    rate_counters: int = 0

    @property
    def changed(self) -> int:
        return sum(v for k, v in asdict(self).items() if k != "cutoff")


def retention_days() -> int:
    return int(current_app.config.get("RETENTION_DAYS") or DEFAULT_RETENTION_DAYS)


def _clean(text: str | None) -> str | None:
    return redact(text).text if text else text


def _customers(cutoff: datetime) -> int:
    recent = (
        exists().where(Complaint.customer_id == Customer.id, Complaint.received_at >= cutoff),
        exists().where(Response.customer_id == Customer.id, Response.submitted_at >= cutoff),
        exists().where(Invitation.customer_id == Customer.id, Invitation.created_at >= cutoff),
    )
    stmt = select(Customer).where(Customer.anonymised.is_(False), Customer.created_at < cutoff)
    for condition in recent:
        stmt = stmt.where(~condition)
    n = 0
    for customer in db.session.scalars(stmt):
        customer.name = ANONYMOUS_NAME
        customer.external_id = f"anon-{customer.id}"
        customer.phone = customer.email = customer.id_number = None
        customer.phone_index = customer.email_index = customer.id_number_index = None
        customer.anonymised = True
        n += 1
    return n


def _complaints(cutoff: datetime) -> int:
    stmt = select(Complaint).where(
        Complaint.status == Status.CLOSED,
        Complaint.closed_at < cutoff,
        Complaint.complainant_name != ANONYMOUS_NAME,
    )
    n = 0
    for complaint in db.session.scalars(stmt):
        complaint.complainant_name = ANONYMOUS_NAME
        complaint.complainant_phone = complaint.complainant_email = None
        complaint.phone_index = None
        complaint.content = _clean(complaint.content) or ""
        complaint.demand = _clean(complaint.demand)
        n += 1
    return n


def _redacted_answers(answers: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in answers.items():
        if isinstance(value, str):
            out[key] = _clean(value)
        elif isinstance(value, dict):
            out[key] = _redacted_answers(value)
        else:
            out[key] = value
    return out


def _responses(cutoff: datetime, report: RetentionReport) -> None:
    old = select(Response).where(Response.submitted_at < cutoff).order_by(Response.id)
    for response in db.session.scalars(old).yield_per(BATCH):
        cleaned = _redacted_answers(response.answers or {})
        if cleaned != response.answers:
            response.answers = cleaned
            report.responses += 1
    rows = (
        select(Answer)
        .join(Response)
        .where(Response.submitted_at < cutoff, Answer.value_text.is_not(None))
    )
    for answer in db.session.scalars(rows).yield_per(BATCH):
        cleaned = _clean(answer.value_text)
        if cleaned != answer.value_text:
            answer.value_text = cleaned
            report.answers += 1


def _notes(cutoff: datetime) -> int:
    n = 0
    for model, column in ((FollowUp, FollowUp.created_at), (CallAttempt, CallAttempt.at)):
        for row in db.session.scalars(select(model).where(column < cutoff, model.note != "")):
            cleaned = _clean(row.note)
            if cleaned != row.note:
                row.note = cleaned
                n += 1
    return n


def _messages(cutoff: datetime) -> int:
    n = 0
    for message in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.created_at < cutoff)
    ):
        if message.recipient != message.recipient_masked:
            message.recipient = message.recipient_masked
            n += 1
    return n


@transactional
def run_retention(*, days: int | None = None, now: datetime | None = None) -> RetentionReport:
    """Anonymise what is older than ``days`` (default RETENTION_DAYS); idempotent.

    One transaction: either all of a run's changes are stored or none. The run is audited with
    its counts (never with the data it removed).
    """
    days = retention_days() if days is None else days
    if days < 1:
        raise ValueError("RETENTION_DAYS must be at least 1")
    now = now or utcnow()
    report = RetentionReport(cutoff=now - timedelta(days=days))
    report.customers = _customers(report.cutoff)
    report.complaints = _complaints(report.cutoff)
    _responses(report.cutoff, report)
    report.notes = _notes(report.cutoff)
    report.messages = _messages(report.cutoff)
    report.login_attempts = (
        db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < report.cutoff)).rowcount
        or 0
    )
    report.rate_counters = ratelimit.prune(now - timedelta(days=1))
    if report.changed:
        detail = {k: v for k, v in asdict(report).items() if k != "cutoff"}
        audit.record(
            "retention.run",
            object_type="retention",
            detail={**detail, "days": days, "cutoff": report.cutoff.isoformat()},
        )
    return report
