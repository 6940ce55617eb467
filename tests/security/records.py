"""Records the security tests attack: a complaint, an answered survey (with its follow-up task),
a problem, each in a branch of choice, optionally carrying hostile text."""

from __future__ import annotations

from dataclasses import dataclass

import yaml
from sqlalchemy import select

from app.extensions import db
from app.models import Complaint, FollowUp, Response, User
from app.security.uploads import FileData
from app.services import complaints, improvements, invitations, surveys
from app.services.complaints import IntakeData
from app.services.customers import CustomerData

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS_LINK = "javascript:alert(1)"
HOSTILE = f"{SCRIPT}{IMG} {JS_LINK}"

DETRACTOR_ANSWERS = {
    "q_overall": "1",
    "q_nps": "2",
    "q_wait_time": "gt30",
    **{f"q_aspects__{i}": "2" for i in ("attitude", "skill", "efficiency", "disclosure")},
    "q_aspects__environment": "3",
    "q_effort": "1",
    "q_improve": ["wait"],
}


@dataclass
class Answered:
    token: str
    response: Response
    followup: FollowUp | None


def hq() -> User:
    return db.session.scalar(select(User).where(User.username == "hq"))


def complaint(
    branch: str = "HZ01",
    *,
    text: str = "信用卡年费多收了三百元，要求退还。",
    name: str = "周静",
    filename: str = "凭证.pdf",
    ref: str | None = None,
) -> Complaint:
    data = IntakeData(
        channel="hotline",
        content=text,
        name=name,
        phone="13612345678",
        branch_code=branch,
        external_ref=ref,
        attachments=(FileData(filename, "application/pdf", b"%PDF-1.4 test"),),
    )
    return complaints.create_complaint(data)[0]


def answered(
    client,
    branch: str = "HZ01",
    *,
    survey_code: str = "branch-service",
    ext: str = "SEC0001",
    name: str = "周九",
    comment: str = "排队太久了",
) -> Answered:
    issued = invitations.create_invitation(
        invitations.InvitationRequest(
            survey_code=survey_code,
            customer=CustomerData(external_id=ext, name=name, phone="13811112222"),
            channel="sms",
            branch_code=branch,
        )
    )
    token = issued.url.rsplit("/", 1)[1]
    reply = client.post(f"/s/{token}", data={**DETRACTOR_ANSWERS, "q_comment": comment})
    assert reply.status_code == 200, reply.text
    response = db.session.scalar(
        select(Response).where(Response.invitation_id == issued.invitation.id)
    )
    followup = db.session.scalar(select(FollowUp).where(FollowUp.source_response_id == response.id))
    return Answered(token, response, followup)


def hostile_survey(code: str = "xss-survey"):
    """A published copy of branch-service whose title and question texts are hostile."""
    survey = surveys.create_from_template("branch-service", code=code, actor=hq())
    definition = yaml.safe_load(surveys.editable_text(survey))  # the title is the form's
    for question in definition["questions"]:
        question["title"] = f"{question['title']}{HOSTILE}"
    surveys.update_draft(
        survey.id,
        title=HOSTILE,
        description=HOSTILE,
        text=yaml.safe_dump(definition, allow_unicode=True),
    )
    surveys.publish(survey.id, actor=hq())
    return survey


def problem(branch: str = "HZ", title: str = "信用卡年费告知不清"):
    data = improvements.ProblemData(title=title, root_cause="process", branch_code=branch,
                                    description=title)  # fmt: skip
    return improvements.create_problem(data, actor=hq())
