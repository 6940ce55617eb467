"""Consequential one-click actions ask first (js/confirm.js reads ``data-confirm``): a unit
was deactivated, a case closed or declined and a problem closed with no question asked, while
deactivating an account or ending a campaign did ask."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import select

from app.models import Branch
from app.models.complaint import Complaint
from app.models.improvement import Problem


def _asks(html: str, button: str) -> str:
    """The question a submit button labelled ``button`` asks, or "" if it asks none."""
    for tag in re.findall(r"<button [^>]*>\s*" + re.escape(button) + r"\s*</button>", html):
        found = re.search(r'data-confirm="([^"]*)"', tag)
        if found:
            return unescape(found.group(1))
    return ""


def _first(session, status: str) -> Complaint:
    stmt = select(Complaint).where(Complaint.status == status).order_by(Complaint.id).limit(1)
    return session.scalar(stmt)  # (a case of the demo bank; head office is named in none)


def test_ending_a_case_asks_first(client, auth, db_session):
    received = _first(db_session, "received")
    auth.login("hq")
    page = client.get(f"/staff/complaints/{received.id}").get_data(as_text=True)
    declined = _asks(page, "不予受理")
    assert f"确定不予受理投诉 {received.reference} 吗？" in declined and "不能撤销" in declined
    assert "第十五条" in _asks(page, "登记撤回")
    assert "作为重复投诉结束办理" in _asks(page, "合并")
    assert _asks(page, "受理投诉") == ""  # (an everyday step asks nothing)
    decided = _first(db_session, "decided")
    page = client.get(f"/staff/complaints/{decided.id}").get_data(as_text=True)
    closing = _asks(page, "办结")
    assert f"确定办结投诉 {decided.reference} 吗？" in closing and "\n" in closing


def test_deactivating_or_moving_a_unit_asks_first(client, auth, db_session):
    unit = db_session.scalar(select(Branch).where(Branch.code == "HZ01"))
    auth.login("admin")
    listing = client.get("/admin/branches").get_data(as_text=True)
    assert f"确定停用{unit.name}（HZ01）吗？" in listing  # (the list's 停用 links)
    page = client.get(f"/admin/branches/{unit.id}").get_data(as_text=True)
    assert f"确定停用{unit.name}（HZ01）吗？" in _asks(page, "停用机构")
    assert "看板按新的隶属关系重算以往各期" in _asks(page, "调整")


def test_closing_a_problem_asks_first(client, auth, db_session):
    # (the demo's problem left verified for its owner, the 杭州 manager, to close)
    problem = db_session.scalar(
        select(Problem).where(Problem.title == "信用卡年费减免规则告知不清")
    )
    auth.login("manager")
    page = client.get(f"/manager/improvements/{problem.id}").get_data(as_text=True)
    asked = _asks(page, "闭环")
    assert asked.startswith(f"确定将问题“{problem.title}”闭环吗？")
    assert "不能再添加或修改整改措施" in asked
