"""Personal data: masked by default on pages, exports and logs; every unmasked view audited with
who, when, what, why and from where; the audit log cannot be edited; the retention job
anonymises old data without moving any figure, and a second run changes nothing."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Answer,
    AuditLog,
    Complaint,
    Customer,
    Invitation,
    LoginAttempt,
    Response,
    User,
    utcnow,
)
from app.models.audit import AuditLogImmutable
from app.services import complaint_handling as handling
from app.services import improvements, retention
from tests.security import records
from tests.security.helpers import page_csrf, rules, sign_in

PHONE = "13811112222"  # records.answered's customer
COMPLAINT_PHONE = "13612345678"  # records.complaint's complainant


def test_pages_show_phone_numbers_masked(app, client):
    answered = records.answered(client, ext="PII001", comment=f"请打我电话{PHONE}")
    complaint = records.complaint(text=f"我的手机{COMPLAINT_PHONE}，卡号 6222020200112233446")
    hq = db.session.scalar(select(User).where(User.username == "hq"))
    handling.add_note(complaint.id, actor=hq, text=f"客户留了另一个号码{PHONE}")
    problem = improvements.create_problem(
        improvements.ProblemData(title="年费告知", root_cause="process", branch_code="HZ"),
        actor=hq,
    )
    sign_in(client, "hq")
    ids = {
        "complaint_id": complaint.id,
        "response_id": answered.response.id,
        "task_id": answered.followup.id,
        "customer_id": answered.response.customer_id,
        "problem_id": problem.id,
    }
    leaks = []
    # lists whose first page need not hold the new case: narrowed to it
    for path in (
        f"/staff/complaints?queue=all&q={complaint.reference}",
        f"/manager/improvements/{problem.id}/cases?q=手机",
    ):
        body = client.get(path).get_data(as_text=True)
        assert complaint.reference in body, path
        leaks += [f"{path}: {n}" for n in (PHONE, COMPLAINT_PHONE) if n in body]
    for rule in rules(app):
        if "GET" not in rule.methods or rule.rule.startswith(("/static", "/vendor", "/api/v1")):
            continue
        if any(f"<{k}>" not in rule.rule and f":{k}>" not in rule.rule for k in ()):
            continue
        path = rule.rule
        for name, value in ids.items():
            path = path.replace(f"<int:{name}>", str(value))
        if "<" in path:
            continue
        body = client.get(path).get_data(as_text=True)
        for number in (PHONE, COMPLAINT_PHONE, "6222020200112233446"):
            if number in body:
                leaks.append(f"{path}: {number}")
    assert not leaks, leaks


def test_response_export_masks_and_is_audited(client):
    records.answered(client, ext="PII002", comment=f"电话{PHONE}")
    sign_in(client, "hq")
    response = client.post(
        "/staff/responses/export", data={"csrf_token": page_csrf(client), "format": "csv"}
    )
    assert response.status_code == 200
    text = response.data.decode("utf-8-sig")
    assert PHONE not in text and "138****2222" in text
    entry = db.session.scalar(
        select(AuditLog).where(AuditLog.action == "responses.export").order_by(AuditLog.id.desc())
    )
    assert entry.actor_name == "hq" and entry.ip and entry.at


def test_unmasked_view_needs_a_reason_and_records_who_when_what_why_where(client):
    complaint = records.complaint()
    client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    sign_in(client, "manager")
    token = page_csrf(client)
    refused = client.post(
        f"/staff/complaints/{complaint.id}/reveal",
        data={"reveal-csrf_token": token, "reveal-reason": ""},
    )
    assert refused.status_code == 400
    assert COMPLAINT_PHONE not in refused.get_data(as_text=True)
    shown = client.post(
        f"/staff/complaints/{complaint.id}/reveal",
        data={"reveal-csrf_token": token, "reveal-reason": "客户来电核实身份"},
    )
    assert COMPLAINT_PHONE in shown.get_data(as_text=True)
    entry = db.session.scalar(
        select(AuditLog)
        .where(AuditLog.object_type == "complaint", AuditLog.object_id == str(complaint.id))
        .where(AuditLog.action.like("%unmasked%"))
    )
    assert entry is not None
    assert entry.actor_name == "manager"  # who
    assert entry.at is not None  # when
    assert entry.object_id == str(complaint.id)  # what
    assert entry.reason == "客户来电核实身份"  # why
    assert entry.ip == "10.1.2.3"  # from where


def test_the_audit_log_cannot_be_edited_or_deleted(client):
    sign_in(client, "agent")  # writes an audit entry
    entry = db.session.scalar(select(AuditLog).limit(1))
    assert entry is not None
    entry.reason = "篡改"
    with pytest.raises(AuditLogImmutable):
        db.session.flush()
    db.session.rollback()
    entry = db.session.scalar(select(AuditLog).limit(1))
    db.session.delete(entry)
    with pytest.raises(AuditLogImmutable):
        db.session.flush()
    db.session.rollback()


def test_no_route_of_the_app_changes_the_audit_log(app):
    audit_routes = [r for r in rules(app) if "audit" in r.rule]
    assert audit_routes and all(r.methods <= {"GET", "HEAD", "OPTIONS"} for r in audit_routes)


def test_personal_data_stays_out_of_the_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    records.answered(client, ext="PII003", comment=f"电话{PHONE}")
    records.complaint(text=f"手机{COMPLAINT_PHONE}")
    sign_in(client, "agent")
    client.get("/staff/complaints")
    assert PHONE not in caplog.text and COMPLAINT_PHONE not in caplog.text


# Retention -----------------------------------------------------------------------------------

LONG_AGO = timedelta(days=2000)


def _age(client):
    """An answered survey, its customer and a closed complaint, all 2,000 days old."""
    answered = records.answered(client, ext="OLD001", comment=f"排队太久，回电{PHONE}")
    complaint = records.complaint(text=f"手机{COMPLAINT_PHONE}多扣年费", name="周静")
    old = utcnow() - LONG_AGO
    response = answered.response
    response.submitted_at = old
    customer = db.session.get(Customer, response.customer_id)
    customer.created_at = old
    db.session.get(Invitation, response.invitation_id).created_at = old
    complaint.customer_id = None
    complaint.status, complaint.received_at, complaint.closed_at = "closed", old, old
    db.session.add(LoginAttempt(username="someone", ip="10.9.9.9", succeeded=False, at=old))
    db.session.flush()
    return response, customer, complaint


def _figures():
    scores = db.session.execute(
        select(
            Response.branch_id,
            func.count(Response.id),
            func.sum(Response.csat),
            func.sum(Response.nps),
            func.sum(Response.ces),
        )
        .group_by(Response.branch_id)
        .order_by(Response.branch_id)
    ).all()
    complaints = db.session.execute(
        select(Complaint.branch_id, Complaint.status, Complaint.code_business, func.count())
        .group_by(Complaint.branch_id, Complaint.status, Complaint.code_business)
        .order_by(Complaint.branch_id, Complaint.status, Complaint.code_business)
    ).all()
    customers = db.session.scalar(select(func.count(Customer.id)))
    return scores, complaints, customers


def test_retention_anonymises_old_data_keeps_figures_and_is_idempotent(app, client):
    response, customer, complaint = _age(client)
    before = _figures()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["retention", "run", "--days", "1000"])
    assert first.exit_code == 0, first.output
    assert "客户已匿名化：1" in first.output
    db.session.expire_all()
    customer = db.session.get(Customer, customer.id)
    assert customer.anonymised and customer.name == "已匿名"
    assert customer.phone is None and customer.phone_index is None
    assert customer.external_id == f"anon-{customer.id}"
    complaint = db.session.get(Complaint, complaint.id)
    assert complaint.complainant_name == "已匿名" and complaint.complainant_phone is None
    assert COMPLAINT_PHONE not in complaint.content and "多扣年费" in complaint.content
    response = db.session.get(Response, response.id)
    assert PHONE not in str(response.answers) and "排队太久" in str(response.answers)
    texts = db.session.scalars(
        select(Answer.value_text).where(Answer.response_id == response.id)
    ).all()
    assert not any(PHONE in (t or "") for t in texts)
    assert db.session.scalar(select(func.count()).where(LoginAttempt.ip == "10.9.9.9")) == 0
    assert _figures() == before  # every count and score sum unchanged
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "retention.run"))

    snapshot = (customer.name, complaint.content, dict(response.answers))
    second = runner.invoke(args=["retention", "run", "--days", "1000"])
    assert second.exit_code == 0 and "没有需要处理的数据" in second.output, second.output
    db.session.expire_all()
    assert (
        db.session.get(Customer, customer.id).name,
        db.session.get(Complaint, complaint.id).content,
        dict(db.session.get(Response, response.id).answers),
    ) == snapshot
    assert _figures() == before


def test_retention_leaves_recent_data_alone(client):
    answered = records.answered(client, ext="NEW001", comment=f"回电{PHONE}")
    report = retention.run_retention(days=1000)
    assert report.customers == 0
    db.session.refresh(answered.response)
    customer = db.session.get(Customer, answered.response.customer_id)
    assert customer.phone == PHONE and not customer.anonymised


def test_retention_celery_task_runs_and_is_idempotent(client):
    from flask import current_app

    from app.jobs.broker import bound
    from app.jobs.retention import retention_run

    _age(client)
    retention_run = bound(retention_run)  # this app's task, not Celery's default app's
    current_app.config["RETENTION_DAYS"] = 1000
    try:
        assert retention_run.delay().get() > 0
        assert retention_run.delay().get() == 0
    finally:
        current_app.config["RETENTION_DAYS"] = retention.DEFAULT_RETENTION_DAYS
