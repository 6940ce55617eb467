"""The top menu highlights the section of the page shown, sub-pages and detail pages included."""

from __future__ import annotations

import re

import pytest

from app.services import complaints
from app.services.complaints import IntakeData

ACTIVE_RE = re.compile(r'<nav class="mainnav"[^>]*>(.*?)</nav>', re.S)


def _active(html: str) -> list[str]:
    """The labels of the highlighted menu entries."""
    menu = ACTIVE_RE.search(html)
    assert menu, "page has no main menu"
    return re.findall(r'<a href="[^"]*" class="active">([^<]+)</a>', menu.group(1))


@pytest.mark.parametrize(
    ("username", "path", "label"),
    [
        ("agent", "/staff/", "工作台"),
        ("agent", "/staff/complaints", "投诉"),
        ("agent", "/staff/complaints/new", "投诉"),
        ("hq", "/manager/triggers", "调查活动"),
        ("hq", "/manager/outbox", "调查活动"),
        ("hq", "/manager/customer-import", "调查活动"),
        ("hq", "/manager/dashboards/regulator-report", "看板"),
        ("hq", "/manager/dashboards/complaints", "看板"),
        ("manager", "/manager/improvements/overview", "整改"),
        ("admin", "/admin/tokens", "接口令牌"),
        ("admin", "/admin/audit", "审计日志"),
        ("hq", "/admin/audit", "工作台"),  # (reached from the workbench: no room in the menu)
    ],
)
def test_the_section_of_a_sub_page_is_highlighted(client, auth, username, path, label):
    auth.login(username)
    response = client.get(path)
    assert response.status_code == 200
    assert _active(response.get_data(as_text=True)) == [label]


def test_a_case_page_highlights_complaints_not_the_workbench(client, auth):
    complaint, _ = complaints.create_complaint(
        IntakeData(
            channel="hotline", content="网点排队太久，要求改进。", name="周静", branch_code="HZ01"
        )
    )
    auth.login("agent")
    page = client.get(f"/staff/complaints/{complaint.id}").get_data(as_text=True)
    assert _active(page) == ["投诉"]
