"""The administrator's 机构管理 and 产品管理 pages: forms with CSRF, bad input, audit, and what
the other pages offer once a unit or product is inactive."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import AuditLog, Branch, Product
from app.services import org_branches, org_products
from tests import factories
from tests.support import csrf_token


def _post(client, path: str, page_path: str | None = None, **fields):
    page = client.get(page_path or path).get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_token(page), **fields})


def _branch(code: str) -> Branch | None:
    db.session.expire_all()
    return db.session.scalar(select(Branch).where(Branch.code == code))


def _options(html: str, name: str) -> dict[str, str]:
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    return dict(re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)</option>', select_html[1]))


NEW = {"code": "HZ09", "name": "拱墅支行", "kind": "sub_branch", "parent": "HZ", "city": "杭州"}


def test_the_tree_lists_every_unit_indented_with_counts_and_status(client, auth):
    auth.login("admin")
    html = client.get("/admin/branches").get_data(as_text=True)
    assert "<h1>机构管理</h1>" in html and "新建机构" in html
    assert 'href="/admin/branches"' in html and 'href="/admin/products"' in html  # the menu
    row = re.search(r'<tr class="" id="branch-\d+">(?:(?!</tr>).)*>HZ01<.*?</tr>', html, re.S)[0]
    assert "padding-left: 3.6em" in row and "西湖支行" in row and "启用" in row
    assert 'action="/admin/branches/import"' in html and "wsgi branches import" in html


def test_a_new_unit_is_created_from_the_form_and_audited(client, auth):
    auth.login("admin")
    response = _post(client, "/admin/branches", **NEW)
    assert response.status_code == 302
    branch = _branch("HZ09")
    assert branch.path == "/HO/HZ/HZ09/" and branch.city == "杭州"
    assert response.location.endswith(f"/admin/branches#branch-{branch.id}")
    assert "已新建机构 拱墅支行（HZ09）" in client.get(response.location).get_data(as_text=True)
    log = client.get("/admin/audit?action=branch.create").get_data(as_text=True)
    assert "新建机构" in log and f'href="/admin/branches#branch-{branch.id}"' in log


def test_a_form_without_its_csrf_token_changes_nothing(client, auth):
    auth.login("admin")
    assert client.post("/admin/branches", data=NEW).status_code == 400
    hz01 = _branch("HZ01")
    refused = client.post(f"/admin/branches/{hz01.id}/active", data={"active": "0"})
    assert refused.status_code == 400
    assert _branch("HZ09") is None and _branch("HZ01").active


def test_bad_input_is_shown_in_chinese_beside_the_field_and_nothing_is_stored(client, auth):
    auth.login("admin")
    for fields, message in (
        ({"code": "HZ01"}, "机构代码 HZ01 已存在"),
        ({"code": "hz 9"}, "机构代码只能由大写字母"),
        ({"name": ""}, "请填写机构名称"),
        ({"kind": "head_office", "parent": ""}, "已有总行 总行（HO）"),
        ({"kind": "branch", "parent": "HZ01"}, "分行不能设在支行/网点之下"),
        ({"parent": ""}, "请指定上级机构"),
        ({"parent": "XX"}, "不是有效的选择"),
    ):
        response = _post(client, "/admin/branches", **{**NEW, **fields})
        html = response.get_data(as_text=True)
        assert response.status_code == 400, fields
        assert message in html, (fields, message)
        assert 'aria-invalid="true"' in html
    assert _branch("HZ09") is None
    assert not db.session.scalars(select(AuditLog).where(AuditLog.action == "branch.create")).all()


def test_a_unit_is_edited_and_its_customer_count_registered(client, auth):
    auth.login("admin")
    hz01 = _branch("HZ01")
    path = f"/admin/branches/{hz01.id}"
    page = client.get(path).get_data(as_text=True)
    assert 'value="西湖支行"' in page and "调整上级机构" in page and "停用机构" in page
    assert set(_options(page, "kind")) == {"branch", "sub_branch"}  # (never a second 总行)
    bad = _post(client, path, name="西湖支行", kind="sub_branch", customer_count="很多")
    assert bad.status_code == 400 and "不是有效的整数" in bad.get_data(as_text=True)
    negative = _post(client, path, name="西湖支行", kind="sub_branch", customer_count="-3")
    assert "登记客户数应为非负整数" in negative.get_data(as_text=True)
    ok = _post(
        client, path, name="西湖支行营业部", kind="sub_branch", city="杭州", customer_count="43000"
    )
    assert ok.status_code == 302
    assert (_branch("HZ01").name, _branch("HZ01").customer_count) == ("西湖支行营业部", 43000)
    log = client.get("/admin/audit?action=branch.update").get_data(as_text=True)
    assert "名称 西湖支行→西湖支行营业部" in log and "登记客户数 42000→43000" in log


def test_a_unit_moves_with_its_subtree_and_the_form_offers_only_possible_parents(client, auth):
    auth.login("admin")
    hz = _branch("HZ")
    path = f"/admin/branches/{hz.id}"
    targets = _options(client.get(path).get_data(as_text=True), "parent")
    assert "HO" in targets and "NJ" in targets  # (a second-level branch under 南京分行)
    assert not {"HZ", "HZ01", "NJ01"} & set(targets)  # itself, its subtree, a lower level
    refused = _post(client, f"{path}/move", path, parent="HZ01")
    assert refused.status_code == 400 and "不是有效的选择" in refused.get_data(as_text=True)
    moved = _post(client, f"{path}/move", path, parent="NJ")
    assert moved.status_code == 302
    assert (_branch("HZ").path, _branch("HZ03").path) == ("/HO/NJ/HZ/", "/HO/NJ/HZ/HZ03/")
    flash = client.get(moved.location).get_data(as_text=True)
    assert "已将 杭州分行 及其下级机构调整到 南京分行 之下" in flash


def test_deactivation_is_refused_with_the_reason_while_staff_work_there(client, auth):
    auth.login("admin")
    hz = _branch("HZ")
    detail = client.get(f"/admin/branches/{hz.id}").get_data(as_text=True)
    assert "目前不能停用" in detail and "启用的员工账号" in detail
    response = _post(client, f"/admin/branches/{hz.id}/active", "/admin/branches", active="0")
    assert response.status_code == 302
    assert response.location.endswith("/admin/branches")  # (the top, where the message shows)
    page = client.get(response.location).get_data(as_text=True)
    assert "不能停用 杭州分行：还有" in page and "flash-error" in page
    assert _branch("HZ").active


def test_an_inactive_unit_is_marked_and_no_longer_offered_for_accounts_or_campaigns(client, auth):
    org_branches.create_branch(
        org_branches.BranchData("HZ09", "拱墅支行", "sub_branch", "HZ"), actor=None
    )
    auth.login("admin")
    hz09 = _branch("HZ09")
    response = _post(
        client,
        f"/admin/branches/{hz09.id}/active",
        f"/admin/branches/{hz09.id}",
        active="0",
        back="item",
    )
    assert response.location.endswith(f"/admin/branches/{hz09.id}")
    page = client.get(response.location).get_data(as_text=True)
    assert "机构 拱墅支行 已停用" in page and "启用机构" in page
    assert "HZ09" not in _options(client.get("/admin/users").get_data(as_text=True), "branch")
    new_user = _post(
        client,
        "/admin/users",
        username="gs_agent",
        display_name="新坐席",
        role="agent",
        branch="HZ09",
        password="Kesheng#2026ab",
    )
    assert new_user.status_code == 400  # (not among the choices)
    auth.logout()
    auth.login("hq")
    overview = client.get("/manager/").get_data(as_text=True)
    assert '拱墅支行 <span class="badge">已停用</span>' in overview
    campaign = client.get("/manager/campaigns/new").get_data(as_text=True)
    assert "拱墅支行" not in campaign
    entry = client.get("/staff/complaints/new").get_data(as_text=True)
    assert _options(entry, "branch_code")["HZ09"] == "　　拱墅支行（已停用）"
    dashboards = client.get("/manager/dashboards/").get_data(as_text=True)
    assert "拱墅支行（已停用）" in dashboards


def test_products_are_listed_created_edited_and_deactivated(client, auth):
    auth.login("admin")
    page = client.get("/admin/products").get_data(as_text=True)
    assert "<h1>产品管理</h1>" in page and "代销基金" in page
    bad = _post(client, "/admin/products", code="FUND", name="重复", category="wealth")
    assert bad.status_code == 400 and "产品代码 FUND 已存在" in bad.get_data(as_text=True)
    bad = _post(client, "/admin/products", code="金卡", name="金卡", category="card")
    assert bad.status_code == 400 and "产品代码只能由大写字母" in bad.get_data(as_text=True)
    created = _post(client, "/admin/products", code="gold", name="金卡", category="card")
    assert created.status_code == 302
    gold = db.session.scalar(select(Product).where(Product.code == "GOLD"))
    path = f"/admin/products/{gold.id}"
    edited = _post(client, path, name="金卡信用卡", category="card")
    assert edited.status_code == 302
    off = _post(client, f"{path}/active", "/admin/products", active="0")
    assert off.location.endswith(f"/admin/products#product-{gold.id}")
    db.session.expire_all()
    gold = db.session.get(Product, gold.id)
    assert (gold.name, gold.active) == ("金卡信用卡", False)
    actions = db.session.scalars(
        select(AuditLog.action).where(AuditLog.object_type == "product").order_by(AuditLog.id)
    ).all()
    assert actions == ["product.create", "product.update", "product.disable"]
    listed = client.get("/admin/products").get_data(as_text=True)
    assert re.search(rf'<tr class="muted" id="product-{gold.id}">', listed)


def test_an_inactive_product_is_offered_for_complaints_only(client, auth, db_session):
    fund = db.session.scalar(select(Product).where(Product.code == "FUND"))
    org_products.set_product_active(fund.id, False, actor=None)
    auth.login("hq")
    campaign = _options(client.get("/manager/campaigns/new").get_data(as_text=True), "product_id")
    assert "代销基金" not in campaign.values()
    entry = _options(client.get("/staff/complaints/new").get_data(as_text=True), "product_code")
    assert entry["FUND"] == "代销基金（已停用）"
    assert list(entry)[-1] == "FUND"  # after the products still sold


def test_only_administrators_reach_the_pages(client, auth, db_session):
    hz = factories.branch("HZ")
    for user in ("hq", "manager", "agent"):
        auth.login(user)
        for path in ("/admin/branches", f"/admin/branches/{hz.id}", "/admin/products"):
            assert client.get(path).status_code == 403, (user, path)
        auth.logout()
    auth.login("admin")
    assert client.get("/admin/branches/999999").status_code == 404
    assert client.get("/admin/products/999999").status_code == 404


def test_the_api_says_which_units_and_products_are_active(client, db_session):
    hz09 = org_branches.create_branch(
        org_branches.BranchData("HZ09", "拱墅支行", "sub_branch", "HZ"), actor=None
    )
    org_branches.set_branch_active(hz09.id, False, actor=None)
    _, secret = factories.api_token()
    headers = {"Authorization": f"Bearer {secret}"}
    branches = {b["code"]: b for b in client.get("/api/v1/branches", headers=headers).json["items"]}
    assert branches["HZ09"]["active"] is False and branches["HZ01"]["active"] is True
    products = client.get("/api/v1/products", headers=headers).json["items"]
    assert all(p["active"] is True for p in products)
    invitation = client.post(
        "/api/v1/invitations",
        headers=headers,
        json={
            "survey_code": "branch-service",
            "customer": {"external_id": "C-API-9", "name": "钱七", "phone": "13800007777"},
            "channel": "sms",
            "branch_code": "HZ09",
        },
    )
    assert invitation.status_code == 422
    assert "已停用" in invitation.json["error"]["message"]
