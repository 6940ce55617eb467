"""The staff workbench shows today's work and escalation notices for the signed-in user."""

from __future__ import annotations

from datetime import timedelta

from app.models import utcnow
from app.services import complaint_escalation, complaints


def _overdue_complaint(branch_code: str = "HZ01"):
    complaint, _ = complaints.create_complaint(
        complaints.IntakeData(
            channel="hotline",
            name="马先生",
            phone="13900007777",
            branch_code=branch_code,
            content="贷款提前还款后违约金计算有误，多次反映无人处理。",
            received_at=utcnow() - timedelta(days=20),
        )
    )
    return complaint


def test_workbench_counts_link_to_the_queues(auth, client):
    auth.login("agent")
    page = client.get("/staff/").get_data(as_text=True)
    for label in ("我的在办投诉", "3 天内到期", "已超期", "待分派投诉", "今日待回访"):
        assert label in page
    assert "/staff/complaints?queue=overdue" in page


def test_escalation_notice_reaches_the_branch_manager_only(auth, client, db_session):
    complaint = _overdue_complaint()
    assert complaint.reference in complaint_escalation.sweep_deadlines()
    auth.login("manager")  # branch manager of HZ, the case's branch
    page = client.get("/staff/").get_data(as_text=True)
    assert complaint.reference in page and f"/staff/complaints/{complaint.id}" in page
    auth.logout()
    auth.login("manager_nj")
    assert complaint.reference not in client.get("/staff/").get_data(as_text=True)
