"""Drop-down lists offer only the branches and staff of the user's own subtree."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import improvements

NANJING = ("南京分行", "鼓楼支行", "苏州")
NANJING_STAFF = ("王经理（南京分行）", "赵坐席（鼓楼支行）")


def _options(html: str, name: str) -> list[str]:
    """The labels of the options of the drop-down ``name``."""
    select_ = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select_, f"no drop-down {name}"
    return [o.strip("　 ") for o in re.findall(r"<option[^>]*>([^<]*)</option>", select_.group(1))]


def _problem(branch: str = "HZ"):
    hq = db.session.scalar(select(User).where(User.username == "hq"))
    data = improvements.ProblemData(title="排队时间过长", root_cause="process", branch_code=branch)
    return improvements.create_problem(data, actor=hq)


@pytest.mark.parametrize(
    ("who", "path", "name"),
    [
        ("agent", "/staff/responses", "branch_id"),
        ("agent", "/staff/complaints/new", "branch_code"),
        ("manager", "/manager/improvements/new", "branch_code"),
    ],
)
def test_a_hangzhou_user_is_offered_hangzhou_branches_only(client, auth, who, path, name):
    auth.login(who)
    offered = _options(client.get(path).get_data(as_text=True), name)
    assert "萧山支行" in offered and "杭州分行" in offered
    assert not [o for o in offered if o.startswith(NANJING)]


def test_head_office_is_offered_every_branch(client, auth):
    auth.login("hq")
    offered = _options(client.get("/staff/responses").get_data(as_text=True), "branch_id")
    assert "萧山支行" in offered and "鼓楼支行" in offered


def test_a_hangzhou_manager_is_offered_hangzhou_staff_as_owners(client, auth):
    problem = _problem()
    auth.login("manager")
    page = client.get(f"/manager/improvements/{problem.id}").get_data(as_text=True)
    owners = _options(page, "action-owner_id")
    assert any(o.startswith("李坐席（杭州分行）") for o in owners)
    assert not [o for o in owners if o.startswith(NANJING_STAFF + ("周总",))]


def test_head_office_is_offered_the_owners_who_work_where_the_problem_is(client, auth):
    """Head office sees the whole bank, but an action of a 杭州 problem is owned in 杭州, below
    it or above it: a 南京 owner saw the action on their 工作台 and could not open it."""
    problem = _problem()
    auth.login("hq")
    owners = _options(
        client.get(f"/manager/improvements/{problem.id}").get_data(as_text=True), "action-owner_id"
    )
    assert any(o.startswith("李坐席（杭州分行）") for o in owners)
    assert any(o.startswith("周总") for o in owners)  # (head office, the unit above)
    assert not [o for o in owners if o.startswith(NANJING_STAFF)]
