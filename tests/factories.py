"""Small factories for test data (flushed, never committed outside the test's transaction)."""

from __future__ import annotations

import itertools
from datetime import datetime, time, timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.models import (
    ApiToken,
    Branch,
    BranchKind,
    Complaint,
    Customer,
    Invitation,
    Response,
    Role,
    SurveyVersion,
    User,
    utcnow,
)
from app.security.passwords import hash_password
from app.services import complaint_clock, complaint_handling, complaints, invitations, tokens
from app.services.customers import CustomerData

_seq = itertools.count(1)
_HASH = None


def branch(code: str) -> Branch:
    return db.session.scalar(select(Branch).where(Branch.code == code))


def sub_branch(code: str, name: str, parent: str = "HZ") -> Branch:
    """A fresh sub-branch (no demo data in it), for figures that must count only the test's."""
    row = Branch(code=code, name=name, kind=BranchKind.SUB_BRANCH)
    row.place_under(branch(parent))
    db.session.add(row)
    db.session.flush()
    return row


def scored_responses(branch_code: str, at: datetime, scores: list[int], metric: str = "csat"):
    """Bare answers with one score each (``metric``: csat or nps), five minutes apart from at;
    the satisfaction rollup brought up to date for them (commits), as a submission's is."""
    from app.services import rollups
    from app.services.surveys import definition_of
    from surveys import Metric

    version = db.session.scalars(select(SurveyVersion).order_by(SurveyVersion.id)).first()
    question = definition_of(version).key_question(Metric(metric))  # (the rollup scores answers)
    branch_id = branch(branch_code).id
    dirty = rollups.DirtyCells()
    for i, score in enumerate(scores):
        dirty.add("satisfaction", at + timedelta(minutes=5 * i), branch_id)
        db.session.add(
            Response(
                survey_id=version.survey_id,
                version_id=version.id,
                channel="web",
                submitted_at=at + timedelta(minutes=5 * i),
                answers={question.id: score},
                branch_id=branch_id,
                **{metric: score},
            )
        )
    db.session.flush()
    rollups.refresh(dirty)


def nps_answers(promoters: int, passives: int, detractors: int) -> list[int]:
    return [10] * promoters + [8] * passives + [3] * detractors


def user(
    role: Role = Role.AGENT,
    branch_code: str | None = "HZ",
    password: str = "Kesheng@2026",
    **fields,
) -> User:
    global _HASH
    if _HASH is None:
        _HASH = hash_password("Kesheng@2026")
    n = next(_seq)
    row = User(
        username=fields.pop("username", f"user{n}"),
        display_name=fields.pop("display_name", f"测试员工{n}"),
        password_hash=_HASH if password == "Kesheng@2026" else hash_password(password),
        role=role,
        branch=branch(branch_code) if branch_code else None,
        **fields,
    )
    db.session.add(row)
    db.session.flush()
    return row


def customer(branch_code: str = "HZ01", phone: str | None = None, **fields) -> Customer:
    n = next(_seq)
    row = Customer(
        external_id=fields.pop("external_id", f"T{n:07d}"),
        name=fields.pop("name", "测试客户"),
        branch=branch(branch_code),
        **fields,
    )
    row.set_contact(phone=phone or f"139{n:08d}")
    db.session.add(row)
    db.session.flush()
    return row


def api_token(scopes: str | None = None, name: str = "test") -> tuple[ApiToken, str]:
    issued = tokens.create_token(name, scopes)
    return issued.token, issued.secret


def survey_link(
    external_id: str,
    *,
    survey_code: str = "branch-service",
    name: str = "孙丽",
    phone: str = "13800005555",
    branch_code: str = "HZ01",
    now: datetime | None = None,
) -> tuple[str, invitations.IssuedInvitation]:
    """A one-time SMS invitation for a (new or known) customer: the link's token and the
    issued invitation."""
    issued = invitations.create_invitation(
        invitations.InvitationRequest(
            survey_code=survey_code,
            customer=CustomerData(external_id=external_id, name=name, phone=phone),
            channel="sms",
            branch_code=branch_code,
        ),
        now=now,
    )
    return issued.url.rsplit("/", 1)[1], issued


def expire_invitation(invitation_id: int, ago: timedelta = timedelta(hours=1)) -> None:
    """Let an invitation's link run out ``ago`` (before any sweep marks it expired)."""
    db.session.execute(
        update(Invitation).where(Invitation.id == invitation_id).values(expires_at=utcnow() - ago)
    )


def accepted_complaint(days_ago: int, content: str, branch_code: str = "HZ01") -> Complaint:
    """A hotline complaint received at 09:30 ``days_ago`` Beijing days ago, accepted."""
    today = complaint_clock.local_date(utcnow())
    received = datetime.combine(today - timedelta(days=days_ago), time(9, 30))
    c, _ = complaints.create_complaint(
        complaints.IntakeData(
            channel="hotline",
            content=content,
            name="周静",
            phone="13612345678",
            branch_code=branch_code,
            received_at=received.replace(tzinfo=complaint_clock.TZ),
        )
    )
    complaint_handling.accept(c.id, actor=user(branch_code="HZ"), identity_check="caller_number")
    return c
