"""IDOR: staff of another branch who guess the ids of HZ's complaints, responses, follow-ups,
problems, customers and attachments get 404 on every route that takes them, GET and POST."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import MAX_ROW_ID, Complaint, ComplaintAttachment, TextAnalysis
from tests import factories
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


@pytest.mark.parametrize("who", ["hq", "admin"])
@pytest.mark.parametrize("number", [str(MAX_ROW_ID + 1), "99999999999999999999"])
def test_ids_beyond_what_a_column_holds_are_404_on_every_route(app, client, who, number):
    """Not a driver overflow (500 on SQLite) or an out-of-range error (400 on PostgreSQL)."""
    sign_in(client, who)
    token = page_csrf(client)
    wrong = []
    for rule in rules(app):
        if "<int:" not in rule.rule:
            continue
        path = re.sub(r"<int:\w+>", number, build_path_keeping_ints(rule))
        for method in methods(rule):
            data = {**VALID_INPUT, "csrf_token": token} if method == "POST" else None
            response = client.open(path, method=method, data=data)
            # (405: another route of the same shape, e.g. an export, takes GET only)
            if response.status_code != 404 and (method == "GET" or response.status_code != 405):
                wrong.append(f"{method} {path}: {response.status_code}")
    assert not wrong, "\n".join(wrong)
    _, secret = factories.api_token("complaints:read,invitations:write,responses:read")
    headers = {"Authorization": f"Bearer {secret}"}
    for path in (f"/api/v1/complaints/{number}", f"/api/v1/invitations/{number}"):
        assert client.get(path, headers=headers).status_code == 404, path
    page = client.get(f"/api/v1/responses?invitation_id={number}", headers=headers)
    assert page.status_code == 422 and page.json["error"]["code"]


def build_path_keeping_ints(rule) -> str:
    """The rule's URL with the other arguments filled in and the ``<int:...>`` parts kept."""
    path = rule.rule
    for match in re.finditer(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>", rule.rule):
        converter, options, name = match.groups()
        if converter == "int":
            continue
        value = options.split(",")[0].strip() if converter == "any" else PATH_VALUES.get(name, "x")
        path = path.replace(match.group(0), value, 1)
    return path
