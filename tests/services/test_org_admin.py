"""Maintaining the branch tree and the products: create, edit, move, deactivate (both databases).

A move rewrites the whole subtree's paths at once, and branch scope and the dashboards follow it
without any cache or rollup to rebuild; an inactive unit or product keeps its history but takes
no new business, while a complaint about it is still taken.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import (
    AuditLog,
    Branch,
    BranchKind,
    Customer,
    Invitation,
    Product,
    Role,
    Survey,
    User,
    utcnow,
)
from app.services import (
    campaigns,
    complaints,
    customers,
    dashboard_filters,
    invitations,
    metrics,
    org_branches,
    org_products,
    scope,
    survey_triggers,
    users,
)
from app.services.customers import CustomerData
from app.services.errors import Conflict, NotFound, ValidationFailed
from app.services.org_branches import BranchData
from tests import factories
from tests.services.test_dashboard_figures import _local, _save_responses


@pytest.fixture
def admin(db_session):
    return factories.user(Role.ADMIN, None)


def unit(code: str, parent: str = "HZ", kind: str = "sub_branch", actor=None) -> Branch:
    return org_branches.create_branch(
        BranchData(code=code, name=f"{code}支行", kind=kind, parent_code=parent), actor=actor
    )


def _audit(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_new_unit_sits_under_its_parent_and_is_audited(admin):
    branch = org_branches.create_branch(
        BranchData(
            code="ｈｚ０９",  # typed full-width on a Chinese keyboard
            name=" 拱墅\n支行 ",
            kind="sub_branch",
            parent_code="hz",
            city="杭州",
            address="",
        ),
        actor=admin,
    )
    assert (branch.code, branch.name, branch.path) == ("HZ09", "拱墅 支行", "/HO/HZ/HZ09/")
    assert branch.active and branch.address is None and branch.parent.code == "HZ"
    (entry,) = _audit("branch.create")
    assert entry.actor_id == admin.id and entry.object_id == str(branch.id)
    assert entry.detail["parent"] == "HZ"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (BranchData("HZ01", "重复", "sub_branch", "HZ"), "code", "已存在"),
        (BranchData("a_b", "下划线", "sub_branch", "HZ"), "code", "大写字母"),
        (BranchData("HQ2", "第二总行", "head_office"), "kind", "只有一个总行"),
        (BranchData("HZ09", "无上级", "sub_branch"), "kind", "请指定上级机构"),
        (BranchData("HZ09", "总行下挂总行", "head_office", "HZ"), "kind", "只有一个总行"),
        (BranchData("HZ09", "分行挂支行下", "branch", "HZ01"), "parent", "不能设在支行/网点之下"),
        (BranchData("HZ09", "", "sub_branch", "HZ"), "name", "请填写机构名称"),
        (BranchData("HZ09", "未知上级", "sub_branch", "XX"), "parent", "XX 不存在"),
        (BranchData("HZ09", "城市太长", "sub_branch", "HZ", city="城" * 51), "city", "50"),
    ],
)
def test_a_new_unit_that_breaks_a_rule_is_refused_with_nothing_written(
    db_session, data, field, message
):
    before = _count(Branch)
    with pytest.raises((ValidationFailed, Conflict)) as err:
        org_branches.create_branch(data, actor=None)
    assert message in err.value.message and field in err.value.fields
    assert _count(Branch) == before and not _audit("branch.create")


def test_no_unit_is_created_under_an_inactive_one(db_session):
    closed = unit("HZ09")
    org_branches.set_branch_active(closed.id, False, actor=None)
    with pytest.raises(ValidationFailed, match="已停用"):
        unit("HZ09A", parent="HZ09")


def _edit(branch: Branch, kind: str, **fields):
    values = {"name": branch.name, "city": None, "address": None, "customer_count": None}
    return org_branches.update_branch(branch.id, kind=kind, actor=None, **{**values, **fields})


def test_editing_keeps_the_level_consistent_with_the_tree_and_audits_the_changes(admin):
    second = unit("HZ-B", kind="branch")  # a second-level branch (二级分行) under 杭州分行
    with pytest.raises(ValidationFailed, match="其下有分行，不能改为支行/网点"):
        _edit(factories.branch("HZ"), "sub_branch")
    with pytest.raises(ValidationFailed, match="只有一个总行"):
        _edit(second, "head_office")
    with pytest.raises(ValidationFailed, match="总行是机构树的根"):
        _edit(factories.branch("HO"), "branch")
    with pytest.raises(ValidationFailed, match="请填写机构名称"):
        _edit(second, "branch", name=" ")
    with pytest.raises(ValidationFailed, match="非负整数"):
        _edit(second, "branch", customer_count=-1)
    org_branches.update_branch(
        second.id,
        name="城北支行",
        kind="sub_branch",
        city="杭州",
        address="莫干山路 1 号",
        customer_count=1200,
        actor=admin,
    )
    (entry,) = _audit("branch.update")
    assert entry.actor_id == admin.id
    assert entry.detail["changes"]["kind"] == ["branch", "sub_branch"]
    assert entry.detail["changes"]["customer_count"] == [None, 1200]
    assert db.session.get(Branch, second.id).name == "城北支行"


def _scoped_customers(user) -> set[str]:
    scope.bind(db.session, scope.scope_for(user))
    try:
        return {c.branch.code for c in db.session.scalars(select(Customer))}
    finally:
        scope.bind(db.session, scope.WHOLE_BANK)


def test_a_move_rewrites_the_whole_subtree_and_the_scopes_follow_at_once(admin):
    moved, below = unit("HZ09"), unit("HZ09A", parent="HZ09")
    factories.customer("HZ09A")
    hz_manager = factories.user(Role.BRANCH_MANAGER, "HZ")
    nj_manager = factories.user(Role.BRANCH_MANAGER, "NJ")
    assert "HZ09A" in _scoped_customers(hz_manager)
    assert "HZ09A" not in _scoped_customers(nj_manager)
    org_branches.move_branch(moved.id, "NJ", actor=admin)
    db.session.expire_all()
    assert db.session.get(Branch, moved.id).path == "/HO/NJ/HZ09/"
    assert db.session.get(Branch, below.id).path == "/HO/NJ/HZ09/HZ09A/"
    assert db.session.get(Branch, moved.id).parent.code == "NJ"
    # (branch scope is read from the paths by every query: nothing is left stale)
    assert "HZ09A" not in _scoped_customers(hz_manager)
    assert "HZ09A" in _scoped_customers(nj_manager)
    (entry,) = _audit("branch.move")
    assert entry.detail["changes"]["parent"] == ["HZ", "NJ"]
    assert entry.detail["path"] == ["/HO/HZ/HZ09/", "/HO/NJ/HZ09/"] and entry.detail["units"] == 2


def _case_at(code: str, assignee: User):
    from app.services import complaint_casework, complaints

    c, _ = complaints.create_complaint(
        complaints.IntakeData(
            channel="branch", content="信用卡年费被多收，要求退还。", name="王五", branch_code=code
        )
    )
    complaint_casework.assign(c.id, assignee.id, actor=assignee)
    return c


def _history(c) -> list[str]:
    from app.services import complaints

    return [e.text for e in complaints.history(c) if e.kind == "assigned"]


def test_cases_whose_handler_no_longer_has_them_in_scope_go_back_to_be_assigned(admin):
    """A unit moved to another 分行 (a 撤并 or a regrouping): its cases in work held by a
    handler of the 分行 it left can no longer be opened by them, so they go back to 待分派 with
    the reason in their history (and the move's audit entry counts them); cases a handler of
    the moved unit itself, or head office, holds stay. The same for a handler transferred
    elsewhere or given a role that handles no cases (the account edit), and for a unit moved by
    an import of the tree."""
    from app.services import org_import

    moved = unit("HZ09")
    hz_manager = factories.user(Role.BRANCH_MANAGER, "HZ", display_name="杭经理")
    local = factories.user(Role.AGENT, "HZ09", display_name="本网点坐席")
    head = factories.user(Role.HQ_MANAGER, "HO", display_name="总行经理")
    left = _case_at("HZ09", hz_manager)
    kept_local, kept_head = _case_at("HZ09", local), _case_at("HZ09", head)
    elsewhere = _case_at("HZ01", hz_manager)
    from app.models import FollowUp
    from app.services import followups

    customer = factories.customer("HZ09")
    call = followups.assign_manually(
        external_id=customer.external_id, survey_code="branch-service", note="", actor=head
    )
    call.assigned_to_id = hz_manager.id
    db.session.commit()
    org_branches.move_branch(moved.id, "NJ", actor=admin)
    db.session.expire_all()
    assert db.session.get(FollowUp, call.id).assigned_to_id is None  # (back to the queue)
    assert left.assignee_id is None and _history(left)[-1] == (
        "本投诉所属机构已调整至其他上级机构，处理人 杭经理 不再管辖本投诉，退回待分派，请重新分派"
    )
    assert (kept_local.assignee_id, kept_head.assignee_id) == (local.id, head.id)
    assert elsewhere.assignee_id == hz_manager.id
    assert _audit("branch.move")[-1].detail["complaints_released"] == 1
    # a transfer: the Hangzhou manager placed at Nanjing no longer holds Hangzhou's cases nor
    # the calls to Hangzhou's customers; a Nanjing customer's call stays theirs
    calls = {}
    for code in ("HZ01", "NJ01"):
        customer = factories.customer(code)
        calls[code] = followups.assign_manually(
            external_id=customer.external_id, survey_code="branch-service", note="", actor=head
        )
        calls[code].assigned_to_id = hz_manager.id
    db.session.commit()
    users.update_user(
        hz_manager.id, role="branch_manager", branch_code="NJ", display_name="杭经理", actor=admin
    )
    db.session.expire_all()
    assert elsewhere.assignee_id is None and "岗位或所属机构已调整" in _history(elsewhere)[-1]
    assert _audit("user.update")[-1].detail["complaints_released"] == 1
    assert _audit("user.update")[-1].detail["followups_released"] == 1
    assert db.session.get(FollowUp, calls["HZ01"].id).assigned_to_id is None
    assert db.session.get(FollowUp, calls["NJ01"].id).assigned_to_id == hz_manager.id
    # an import that moves the unit back releases the case Nanjing's manager took meanwhile
    again = _case_at("HZ09", hz_manager)
    body = "code,name,kind,parent_code\nHZ09,HZ09支行,sub_branch,HZ\n".encode()
    report = org_import.import_branches("tree.csv", body, actor=admin)
    db.session.expire_all()
    assert report.released == 1 and again.assignee_id is None
    assert (kept_local.assignee_id, kept_head.assignee_id) == (local.id, head.id)


@pytest.mark.parametrize(
    ("code", "parent", "message"),
    [
        ("HZ", "HZ01", "不能移到本机构或其下级机构之下"),
        ("HZ", "HZ", "不能移到本机构或其下级机构之下"),
        ("HO", "HZ", "总行是机构树的根，不能移动"),
        ("NJ", "HZ01", "分行不能设在支行/网点之下"),
        ("NJ01", "XX", "XX 不存在"),
    ],
)
def test_a_move_that_would_break_the_tree_is_refused(db_session, code, parent, message):
    paths = dict(db.session.execute(select(Branch.code, Branch.path)).tuples().all())
    with pytest.raises(ValidationFailed, match=message):
        org_branches.move_branch(factories.branch(code).id, parent, actor=None)
    assert dict(db.session.execute(select(Branch.code, Branch.path)).tuples().all()) == paths
    assert not _audit("branch.move")


def test_a_move_reads_the_tree_again_once_it_holds_the_lock(db_session, backend):
    """The page that asked for the move had read the units; another administrator's move
    committed before this one took the tree lock. (SQLite: every writer starts from a fresh
    transaction, so nothing read before can be stale.)"""
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: SQLite writers never start from an older read")
    hz01, nj = factories.branch("HZ01"), factories.branch("NJ")
    unit("HZ01A", parent="HZ01")
    assert hz01.path == "/HO/HZ/HZ01/"  # (as the page read it)
    moved_away = func.replace(Branch.path, "/HO/HZ/", "/HO/NJ/")
    for stmt in (
        update(Branch).where(Branch.path.startswith("/HO/HZ/HZ01/")).values(path=moved_away),
        update(Branch).where(Branch.code == "HZ01").values(parent_id=nj.id),
    ):  # (the other administrator's move, behind this session's back)
        db.session.execute(stmt.execution_options(synchronize_session=False))
    org_branches.move_branch(hz01.id, "SZ", actor=None)
    paths = dict(db.session.execute(select(Branch.code, Branch.path)).tuples().all())
    assert (paths["HZ01"], paths["HZ01A"]) == ("/HO/SZ/HZ01/", "/HO/SZ/HZ01/HZ01A/")
    (entry,) = _audit("branch.move")
    assert entry.detail["changes"]["parent"] == ["NJ", "SZ"]


def test_moving_to_the_same_parent_changes_nothing(db_session):
    org_branches.move_branch(factories.branch("HZ01").id, "HZ", actor=None)
    assert factories.branch("HZ01").path == "/HO/HZ/HZ01/" and not _audit("branch.move")


def test_the_dashboards_count_a_moved_unit_under_its_new_parent_without_a_rebuild(app):
    moved = unit("HZ09")
    _save_responses([("HZ09", _local(2026, 1, 5 + i), 5, 10) for i in range(4)])

    def responses(code: str) -> int:
        f = dashboard_filters.parse({"from": "2026-01-01", "to": "2026-01-31", "branch": code})
        return metrics.satisfaction_total(f).responses

    hz_before, nj_before = responses("HZ"), responses("NJ")
    org_branches.move_branch(moved.id, "NJ", actor=None)
    assert (responses("HZ"), responses("NJ")) == (hz_before - 4, nj_before + 4)
    f = dashboard_filters.parse({"from": "2026-01-01", "to": "2026-01-31", "branch": "NJ"})
    groups = {g.key: g.sums.responses for g in metrics.satisfaction_by(f, "child")}
    assert groups["HZ09"] == 4  # a row of its own on 南京分行's branch page


def test_a_unit_with_active_staff_or_sub_units_cannot_be_deactivated(admin):
    closing = unit("HZ09")
    unit("HZ09A", parent="HZ09")
    clerk = factories.user(Role.AGENT, "HZ09", username="clerk09")
    db.session.commit()  # (a refused use case rolls back what is not committed)
    with pytest.raises(ValidationFailed) as err:
        org_branches.set_branch_active(closing.id, False, actor=admin)
    assert "1 个启用的员工账号（clerk09）" in err.value.message
    assert "1 个启用的下级机构（HZ09A）" in err.value.message
    assert db.session.get(Branch, closing.id).active
    users.set_active(clerk.id, False, actor=admin)
    org_branches.set_branch_active(factories.branch("HZ09A").id, False, actor=admin)
    org_branches.set_branch_active(closing.id, False, actor=admin)
    assert not db.session.get(Branch, closing.id).active
    assert [e.detail["code"] for e in _audit("branch.disable")] == ["HZ09A", "HZ09"]
    with pytest.raises(ValidationFailed, match="总行不能停用"):
        org_branches.set_branch_active(factories.branch("HO").id, False, actor=admin)
    # a sub-unit comes back only under an active parent
    with pytest.raises(ValidationFailed, match="请先启用上级机构"):
        org_branches.set_branch_active(factories.branch("HZ09A").id, True, actor=admin)
    org_branches.set_branch_active(closing.id, True, actor=admin)
    assert db.session.get(Branch, closing.id).active and _audit("branch.enable")


@pytest.fixture
def closed(admin):
    """HZ09, closed, with one (disabled) clerk and one customer placed there before."""
    branch = unit("HZ09")
    clerk = factories.user(Role.AGENT, "HZ09", username="clerk09", active=False)
    factories.customer("HZ09", external_id="C-HZ09")
    org_branches.set_branch_active(branch.id, False, actor=admin)
    return branch, clerk


def test_an_inactive_unit_takes_no_staff(closed, admin):
    branch, clerk = closed
    with pytest.raises(ValidationFailed, match="已停用，不能再安排员工"):
        users.create_user("newclerk", "agent", "Kesheng#2026ab", branch_code="HZ09", actor=admin)
    with pytest.raises(ValidationFailed, match="所属机构 HZ09支行（HZ09）已停用"):
        users.set_active(clerk.id, True, actor=admin)
    # the disabled account may keep its unit while it is renamed, or be moved and re-enabled
    users.update_user(clerk.id, role="agent", branch_code="HZ09", display_name="改名", actor=admin)
    users.update_user(clerk.id, role="agent", branch_code="HZ01", display_name="改名", actor=admin)
    assert users.set_active(clerk.id, True, actor=admin).active


def _campaign(audience: str, **chosen) -> campaigns.CampaignInput:
    survey = db.session.scalar(select(Survey).where(Survey.code == "branch-service"))
    now = datetime.now(UTC)
    end = now.replace(year=now.year + 1)
    return campaigns.CampaignInput("调查", survey.id, "sms", audience, now, end, **chosen)


def _customer(external_id: str, branch: str | None = None) -> CustomerData:
    return CustomerData(external_id, "王五", phone="13800009999", branch_code=branch)


def test_an_inactive_unit_takes_no_invitation_event_customer_or_campaign(closed, admin):
    request = invitations.InvitationRequest(
        "branch-service", _customer("C-NEW1"), "sms", branch_code="HZ09"
    )
    with pytest.raises(ValidationFailed, match="HZ09支行（HZ09）已停用") as err:
        invitations.create_invitation(request)
    assert "branch_code" in err.value.fields
    event = survey_triggers.EventData(
        "account.opened", _customer("C-NEW2"), utcnow(), branch_code="HZ09"
    )
    with pytest.raises(ValidationFailed, match="已停用"):
        survey_triggers.record_event(event)
    with pytest.raises(ValidationFailed, match="已停用"):
        customers.upsert_customer(_customer("C-NEW3", "HZ09"))
    # a customer already there is still synchronised (the core system still says HZ09)
    kept, created = customers.upsert_customer(_customer("C-HZ09", "HZ09"))
    assert not created and kept.branch.code == "HZ09"
    data = _campaign("branch", branch_id=closed[0].id)
    with pytest.raises(ValidationFailed, match="已停用") as err:
        campaigns.create_campaign(data, actor=admin)
    assert "branch_id" in err.value.fields
    assert not db.session.scalar(select(Customer).where(Customer.external_id.like("C-NEW%")))


def test_a_campaign_made_before_its_unit_or_product_closed_no_longer_sends(admin):
    branch = unit("HZ09")
    factories.customer("HZ09", external_id="C-HZ09", phone="13800009998")
    product = org_products.create_product("OLD-CARD", "旧卡", "card", actor=admin)
    by_branch = campaigns.create_campaign(_campaign("branch", branch_id=branch.id), actor=admin)
    by_product = campaigns.create_campaign(_campaign("product", product_id=product.id), actor=admin)
    org_branches.set_branch_active(branch.id, False, actor=admin)
    org_products.set_product_active(product.id, False, actor=admin)
    # tomorrow at noon in Beijing: in the window, out of the quiet hours
    noon = (datetime.now(UTC) + timedelta(days=1)).replace(hour=4, minute=0)
    for campaign, why in (
        (by_branch, "目标机构 HZ09支行（HZ09）已停用，不再发送"),
        (by_product, "目标产品 旧卡（OLD-CARD）已停用，不再发送"),
    ):
        done = campaigns.run_campaign(campaign.id, now=noon)
        assert (done.status, done.note, done.total, done.sent_count) == ("draft", why, 0, 0)
    assert not _count(Invitation)
    # reactivated, the same campaign sends as it would have
    org_branches.set_branch_active(branch.id, True, actor=admin)
    done = campaigns.run_campaign(by_branch.id, now=noon)
    assert (done.status, done.note, done.sent_count) == ("sent", "", 1)


def test_a_complaint_about_an_inactive_unit_or_product_is_still_taken(closed):
    product = org_products.create_product("OLD-WM", "已停售理财", "wealth", actor=None)
    org_products.set_product_active(product.id, False, actor=None)
    complaint, created = complaints.create_complaint(
        complaints.IntakeData(
            channel="hotline",
            content="撤并前在该网点购买的理财产品到期未兑付，要求说明。",
            name="赵六",
            external_id="C-COMPLAINT-9",
            branch_code="HZ09",
            product_code="OLD-WM",
        )
    )
    assert created and complaint.branch.code == "HZ09" and complaint.product_id == product.id
    # handled by the unit above: its agents see it (scope) and are its candidates
    assert "HZ09" in _scoped_customers(factories.user(Role.AGENT, "HZ"))


def test_products_are_created_edited_and_deactivated_with_audit(admin):
    product = org_products.create_product(" credit-gold ", "金卡信用卡", "银行卡", actor=admin)
    assert (product.code, product.category, product.active) == ("CREDIT-GOLD", "card", True)
    with pytest.raises(Conflict, match="已存在"):
        org_products.create_product("CREDIT-GOLD", "重复", "card", actor=admin)
    for code, name, category, field in (
        ("金卡", "x", "card", "code"),
        ("P1", "", "card", "name"),
        ("P1", "x", "股票", "category"),
    ):
        with pytest.raises(ValidationFailed) as err:
            org_products.create_product(code, name, category, actor=admin)
        assert field in err.value.fields
    org_products.update_product(product.id, name="白金信用卡", category="card", actor=admin)
    org_products.set_product_active(product.id, False, actor=admin)
    actions = [e.action for e in db.session.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions[-3:] == ["product.create", "product.update", "product.disable"]
    (update,) = _audit("product.update")
    assert update.detail["changes"] == {"name": ["金卡信用卡", "白金信用卡"]}
    with pytest.raises(NotFound):
        org_products.update_product(999_999, name="x", category="card", actor=admin)


def test_an_inactive_product_takes_no_invitation_or_campaign(admin):
    product = db.session.scalar(select(Product).where(Product.code == "FUND"))
    org_products.set_product_active(product.id, False, actor=admin)
    request = invitations.InvitationRequest(
        "branch-service", _customer("C-NEW4"), "sms", product_code="FUND"
    )
    with pytest.raises(ValidationFailed, match="代销基金（FUND）已停用") as err:
        invitations.create_invitation(request)
    assert "product_code" in err.value.fields
    data = _campaign("product", product_id=product.id)
    with pytest.raises(ValidationFailed, match="已停用"):
        campaigns.create_campaign(data, actor=admin)


def test_the_offered_lists_leave_out_inactive_units_and_mark_them_elsewhere(closed):
    from app.services import org

    assert "HZ09" not in {b.code for b in org.list_branches(active_only=True)}
    everything = {b.code: b for b in org.list_branches()}
    assert everything["HZ09"].option_label == "　　HZ09支行（已停用）"
    assert everything["HZ01"].option_label == "　　西湖支行"
    assert BranchKind(everything["HZ09"].kind) is BranchKind.SUB_BRANCH


def test_a_second_active_unit_or_product_of_one_name_is_refused(admin):
    from app.services import org_products

    db.session.commit()  # (a refused use case rolls back what is not committed)
    with pytest.raises(Conflict, match="已有名为“西湖支行”的机构（代码 HZ01）") as err:
        org_branches.create_branch(BranchData("HZ09", "西湖支行", "sub_branch", "HZ"), actor=admin)
    assert err.value.fields == {"name": err.value.message}
    other = unit("HZ09")  # (the same name elsewhere in the tree is another unit: allowed)
    unit_nj = org_branches.create_branch(
        BranchData("NJ09", "西湖支行", "sub_branch", "NJ"), actor=admin
    )
    assert unit_nj.name == "西湖支行"
    db.session.commit()
    with pytest.raises(Conflict, match="代码 HZ01"):
        org_branches.update_branch(
            other.id,
            name="西湖支行",
            kind="sub_branch",
            city=None,
            address=None,
            customer_count=None,
            actor=admin,
        )
    fund = db.session.scalar(select(Product).where(Product.code == "FUND"))
    with pytest.raises(Conflict, match=f"已有名为“{fund.name}”的启用产品（代码 FUND）"):
        org_products.create_product("FUND2", fund.name, "wealth", actor=admin)
    gold = org_products.create_product("GOLD9", "金卡九号", "card", actor=admin)
    db.session.commit()
    with pytest.raises(Conflict, match="代码 FUND"):
        org_products.update_product(gold.id, name=fund.name, category="card", actor=admin)
    assert db.session.get(Product, gold.id).name == "金卡九号"
