"""IDOR: staff of another branch who guess the ids of HZ's complaints, responses, follow-ups,
problems, customers and attachments get 404 on every route that takes them, GET and POST."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Complaint, ComplaintAttachment, TextAnalysis
from tests.security import records
from tests.security.helpers import PATH_VALUES, methods, page_csrf, rules, sign_in

# Valid input for the forms, so that a refusal comes from the scope, not from a form error.
VALID_INPUT = {
    "reason": "核实客户身份",
    "outcome": "busy",
    "field": "sentiment",
    "value": "negative",
    "source_type": "complaint",
    "note": "已联系",
}

ID_ARGS = {
    "complaint_id",
    "response_id",
    "task_id",
    "problem_id",
    "customer_id",
    "attachment_id",
    "analysis_id",
}


@pytest.fixture
def hz(client):
    complaint = records.complaint("HZ01")
    answered = records.answered(client, "HZ01", ext="IDOR01")
    problem = records.problem("HZ")
    attachment = db.session.scalar(
        select(ComplaintAttachment.id).where(ComplaintAttachment.complaint_id == complaint.id)
    )
    analysis = db.session.scalar(
        select(TextAnalysis.id).where(TextAnalysis.branch_id == complaint.branch_id).limit(1)
    )
    return {
        "complaint_id": complaint.id,
        "response_id": answered.response.id,
        "task_id": answered.followup.id,
        "problem_id": problem.id,
        "customer_id": answered.response.customer_id,
        "attachment_id": attachment,
        "analysis_id": analysis,
    }


def _targets(app, ids):
    for rule in rules(app):
        if rule.rule.startswith("/api/"):
            continue
        names = set(re.findall(r"<(?:[^:>]+:)?(\w+)>", rule.rule))
        if not names & ID_ARGS:
            continue
        path = rule.rule
        for match in re.finditer(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>", rule.rule):
            converter, options, name = match.groups()
            if name in ids and ids[name] is not None:
                value = ids[name]
            elif converter == "int":
                value = 1
            elif converter == "any":
                value = options.split(",")[0]
            else:
                value = PATH_VALUES.get(name, "close")
            path = path.replace(match.group(0), str(value), 1)
        for method in methods(rule):
            yield method, path


@pytest.mark.parametrize("who", ["manager_nj", "agent_nj"])
def test_other_branch_gets_404_for_every_id(app, client, hz, who):
    sign_in(client, who)
    token = page_csrf(client)
    targets = list(_targets(app, hz))
    assert len(targets) > 15
    leaks = []
    for method, path in targets:
        data = {**VALID_INPUT, "csrf_token": token, "ids": str(hz["complaint_id"])}
        data = data if method == "POST" else None
        response = client.open(path, method=method, data=data)
        if response.status_code not in (403, 404):
            leaks.append(f"{method} {path}: {response.status_code}")
    assert not leaks, "\n".join(leaks)
    db.session.expire_all()
    complaint = db.session.get(Complaint, hz["complaint_id"])
    assert complaint.assignee_id is None and complaint.status == "received"


def test_the_records_are_visible_in_their_own_branch(client, hz):
    sign_in(client, "manager")
    for path in (
        f"/staff/complaints/{hz['complaint_id']}",
        f"/staff/responses/{hz['response_id']}",
        f"/staff/followups/{hz['task_id']}",
        f"/manager/improvements/{hz['problem_id']}",
        f"/staff/customers/{hz['customer_id']}",
    ):
        assert client.get(path).status_code == 200, path


def test_lists_of_another_branch_do_not_show_the_records(client, hz):
    sign_in(client, "manager_nj")
    complaint = db.session.get(Complaint, hz["complaint_id"])
    for path in ("/staff/complaints", "/staff/responses", "/staff/followups"):
        page = client.get(path).text
        assert complaint.reference not in page
        assert f'/staff/complaints/{hz["complaint_id"]}"' not in page
        assert f'/staff/responses/{hz["response_id"]}"' not in page
