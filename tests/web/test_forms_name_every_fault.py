"""Forms name every fault of a submission at once, not one per round trip (UI review)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.models import Branch, Campaign, Survey, User
from tests.support import csrf_token


def _errors(html: str) -> list[str]:
    return re.findall(r'class="error">([^<]*)<', html)


def test_a_new_account_s_taken_name_is_named_with_the_other_faults(client, auth, db_session):
    auth.login("admin")
    before = db_session.scalar(select(func.count(User.id)))
    page = client.get("/admin/users").text
    sent = client.post(
        "/admin/users",
        data={
            "csrf_token": csrf_token(page),
            "username": "Agent",  # (taken, whatever the case)
            "display_name": "",
            "password": "abc",
            "role": "agent",
            "branch": "HZ",
        },
    )
    assert sent.status_code == 400
    assert set(_errors(sent.text)) >= {"该用户名已被使用", "请输入姓名", "密码至少需要 10 个字符"}
    assert db_session.scalar(select(func.count(User.id))) == before


def test_a_new_unit_s_code_name_and_parent_faults_show_together(client, auth, db_session):
    auth.login("admin")
    before = db_session.scalar(select(func.count(Branch.id)))
    page = client.get("/admin/branches").text
    sent = client.post(
        "/admin/branches",
        data={
            "csrf_token": csrf_token(page),
            "code": "hz 05",
            "name": "",
            "parent": "",
            "kind": "sub_branch",
        },
    )
    assert sent.status_code == 400
    errors = _errors(sent.text)
    assert "请填写机构名称" in errors and any(e.startswith("机构代码只能由") for e in errors)
    assert "请指定上级机构（只有总行没有上级机构）" in errors
    assert db_session.scalar(select(func.count(Branch.id))) == before


def test_a_campaign_s_expiry_and_inverted_window_show_together(client, auth, db_session):
    auth.login("hq")
    before = db_session.scalar(select(func.count(Campaign.id)))
    page = client.get("/manager/campaigns/new").text
    start = datetime.now() + timedelta(days=2)
    sent = client.post(
        "/manager/campaigns/new",
        data={
            "csrf_token": csrf_token(page),
            "name": "回访活动",
            "survey_id": db_session.scalar(
                select(Survey.id).where(Survey.code == "branch-service")
            ),
            "channel": "sms",
            "audience": "anonymous",
            "window_start": start.strftime("%Y-%m-%dT%H:%M"),
            "window_end": (start - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "expires_days": "0",
        },
    )
    assert sent.status_code == 400
    assert set(_errors(sent.text)) >= {"有效期须为 1–90 天", "发送截止时间须晚于开始时间"}
    assert db_session.scalar(select(func.count(Campaign.id))) == before
