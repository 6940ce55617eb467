"""Branch and staff names for busy lists: read once a minute per process, a change through the
process shows at once, a record added elsewhere is found on the first miss."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, update

from app.extensions import db
from app.models import Branch, Role
from app.services import names
from tests import factories

pytestmark = pytest.mark.usefixtures("app")


def test_names_follow_changes_made_through_this_process_at_once():
    agent = factories.user(Role.AGENT, "HZ")
    branch = factories.branch("HZ01")
    assert names.user(agent.id) == agent.display_name
    assert names.branch(branch.id) == branch.name
    agent.display_name, branch.name = "改名后的坐席", "杭州改名支行"
    db.session.flush()
    assert names.user(agent.id) == "改名后的坐席" and names.branch(branch.id) == "杭州改名支行"
    assert names.user(None) is None and names.branch(None) is None


def test_another_workers_rename_shows_within_the_ttl_and_a_new_branch_at_once():
    branch = factories.branch("HZ01")
    before = names.branch(branch.id)
    # another worker renames it (no flush in this process): the copy is kept until it expires
    db.session.execute(update(Branch).where(Branch.id == branch.id).values(name="别处改的名"))
    assert names.branch(branch.id) == before
    names.forget()  # what TTL_SECONDS later amounts to
    assert names.branch(branch.id) == "别处改的名"
    # another worker adds a branch: the first look-up that misses reads the names again
    row = {c.name: getattr(branch, c.name) for c in Branch.__table__.columns if c.name != "id"}
    db.session.execute(
        insert(Branch), {**row, "code": "HZ99", "name": "新开网点", "path": branch.path + "HZ99/"}
    )
    new_id = db.session.scalar(select(Branch.id).where(Branch.code == "HZ99"))
    assert names.branch(new_id) == "新开网点"
    assert names.branch(10**9) is None
