"""Loading the branch tree and the products from a file: all or nothing, line-numbered Chinese
errors, parents later in the file, a second run updates (both databases)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Branch, Product
from app.services import org_branches, org_import
from app.services.errors import ValidationFailed
from app.services.imports import ImportRejected
from tests import factories

HEADER = "code,name,kind,parent_code,city,address\n"


def _csv(body: str, header: str = HEADER, encoding: str = "utf-8") -> bytes:
    return (header + body).encode(encoding)


def _paths() -> dict[str, str]:
    return dict(db.session.execute(select(Branch.code, Branch.path)).tuples().all())


def _rejected(body: str, header: str = HEADER) -> dict[int, str]:
    before = _paths()
    with pytest.raises(ImportRejected) as err:
        org_import.import_branches("branches.csv", _csv(body, header), actor=None)
    assert _paths() == before  # nothing stored
    return dict(err.value.report.errors)


def test_parents_may_come_later_and_a_second_run_updates_instead_of_duplicating(db_session):
    body = (
        "GS0101,城西网点,网点,GS01,杭州,文一路 9 号\n"
        "GS01,城西支行,支行,HZ,杭州,\n"
        "JS,江苏分行,分行,HO,南京,\n"
        "JS01,玄武支行,sub_branch,JS,南京,\n"
    )
    report = org_import.import_branches("branches.csv", _csv(body), actor=None)
    assert (report.rows, report.created, report.updated, report.unchanged) == (4, 4, 0, 0)
    paths = _paths()
    assert paths["GS0101"] == "/HO/HZ/GS01/GS0101/" and paths["JS01"] == "/HO/JS/JS01/"
    assert factories.branch("GS0101").address == "文一路 9 号"
    again = org_import.import_branches("branches.csv", _csv(body), actor=None)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert db.session.scalar(select(func.count()).where(Branch.code.like("GS%"))) == 2
    entries = db.session.scalars(select(AuditLog).where(AuditLog.action == "branches.import"))
    first, second = list(entries)
    assert sorted(first.detail["created"]) == ["GS01", "GS0101", "JS", "JS01"]
    assert second.detail["unchanged"] == 4 and second.detail["created"] == []


def test_a_changed_parent_moves_the_unit_with_its_subtree(db_session):
    org_import.import_branches(
        "a.csv", _csv("GS01,城西支行,支行,HZ,,\nGS0101,城西网点,网点,GS01,,\n"), actor=None
    )
    # a later file without the city and address columns: they stay as they are
    report = org_import.import_branches(
        "b.csv",
        _csv("HZ01,西湖支行（新）,支行,NJ\n", header="机构代码,机构名称,层级,上级机构代码\n"),
        actor=None,
    )
    assert (report.updated, report.moved) == (1, 1)
    hz01 = factories.branch("HZ01")
    assert (hz01.path, hz01.name, hz01.city) == ("/HO/NJ/HZ01/", "西湖支行（新）", "杭州")
    assert _paths()["GS0101"] == "/HO/HZ/GS01/GS0101/"  # (not below HZ01: untouched)


def test_every_bad_line_is_reported_in_chinese_and_nothing_is_stored(db_session):
    errors = _rejected(
        "GS01,城西支行,支行,GS02,,\n"  # 2: a cycle with line 3
        "GS02,城东支行,支行,GS01,,\n"  # 3
        "GS03,,支行,XX,,\n"  # 4: no name, unknown parent
        "HQ2,第二总行,总行,,,\n"  # 5: a second head office
        "a b,x,分行,HO,,\n"  # 6: bad code
        "GS04,新分行,分行,HZ01,,\n"  # 7: a 分行 under a 支行
        "GS05,新网点,营业厅,HZ,,\n"  # 8: unknown level
        "GS06,新网点,支行,,,\n"  # 9: no parent
        "GS01,重复,支行,HZ,,\n"  # 10: a code twice
        "HO,总行,分行,HZ,,\n"  # 11: the root made a child
        ",无代码支行,支行,HZ,,\n"  # 12: no code
    )
    assert "上级关系形成循环：GS01 → GS02 → GS01" in errors[2]
    assert "上级关系形成循环：GS02 → GS01 → GS02" in errors[3]
    assert "请填写机构名称" in errors[4] and "上级机构代码 XX 既不在文件中" in errors[4]
    assert "只能有一个总行：已有总行 HO" in errors[5]
    assert "代码“a b”无效" in errors[6]
    assert "分行不能设在支行/网点之下" in errors[7]
    assert "机构层级“营业厅”无效" in errors[8]
    assert "请指定上级机构" in errors[9]
    assert "GS01 在文件中重复（第 2 行已有）" in errors[10]
    assert "HO 是总行" in errors[11]
    assert "代码为空：每一行都要填写代码" in errors[12]  # (it read 代码“（空）”无效)
    assert set(errors) == set(range(2, 13))


def test_a_file_refuses_what_the_forms_refuse_about_inactive_units(db_session):
    org_import.import_branches("a.csv", _csv("GS01,城西支行,支行,HZ,,\n"), actor=None)
    org_branches.set_branch_active(factories.branch("GS01").id, False, actor=None)
    errors = _rejected("GS0101,城西网点,网点,GS01,,\nHZ,杭州分行,支行,HO,,\n")
    assert "上级机构 GS01 已停用" in errors[2]
    hz = _rejected("HZ-X,二级分行,分行,HZ,,\nHZ,杭州分行,支行,HO,,\n")
    assert "其下有" not in hz.get(3, "")  # (its file children are checked on their own lines)
    assert "分行不能设在支行/网点之下" in hz[2]


def test_a_spreadsheet_saved_by_chinese_excel_is_read(db_session):
    body = _csv(
        "GS01,城西支行,支行,HZ,杭州,\n", header="机构代码,机构名称,层级,上级机构代码,城市,地址\n"
    )
    gbk = body.decode("utf-8").encode("gb18030")
    assert org_import.import_branches("branches.csv", gbk, actor=None).created == 1
    assert factories.branch("GS01").name == "城西支行"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "没有机构数据"),
        (b"code,name\nX,y\n", "表头缺少必需的列"),
        (b"\xff\xfe\x00bad", "编码"),
    ],
)
def test_an_unreadable_file_is_refused(db_session, data, message):
    with pytest.raises(ValidationFailed, match=message):
        org_import.import_branches("branches.csv", data, actor=None)


def test_products_are_created_then_updated_all_or_nothing(db_session):
    header = "code,name,category\n"
    report = org_import.import_products(
        "p.csv", _csv("GOLD,金卡,银行卡\nFUND,代销基金（新）,wealth\n", header), actor=None
    )
    assert (report.created, report.updated) == (1, 1)
    fund = db.session.scalar(select(Product).where(Product.code == "FUND"))
    assert fund.name == "代销基金（新）"
    before = db.session.scalar(select(func.count()).select_from(Product))
    with pytest.raises(ImportRejected) as err:
        org_import.import_products(
            "p.csv", _csv("NEW1,新品,card\nNEW2,,股票\nNEW1,又一个,card\n", header), actor=None
        )
    errors = dict(err.value.report.errors)
    assert "请填写产品名称" in errors[3] and "产品类别“股票”无效" in errors[3]
    assert "产品代码 NEW1 在文件中重复（第 2 行已有）" in errors[4]
    assert db.session.scalar(select(func.count()).select_from(Product)) == before


def test_a_file_refuses_a_second_active_unit_or_product_of_one_name(db_session):
    errors = _rejected("HZ09,西湖支行,支行,HZ,,\nNJ09,西湖支行,支行,NJ,,\n")
    assert errors == {2: "同一上级机构下已有名为“西湖支行”的机构（代码 HZ01）"}
    errors = _rejected("GS01,城西支行,支行,HZ,,\nGS02,城西支行,支行,HZ,,\n")
    assert "代码 GS01" in errors[3] and 2 not in errors
    fund = db.session.scalar(select(Product).where(Product.code == "FUND"))
    before = db.session.scalar(select(func.count()).select_from(Product))
    with pytest.raises(ImportRejected) as err:
        org_import.import_products(
            "p.csv", _csv(f"NEW1,{fund.name},wealth\n", "code,name,category\n"), actor=None
        )
    assert dict(err.value.report.errors) == {2: f"已有名为“{fund.name}”的启用产品（代码 FUND）"}
    assert db.session.scalar(select(func.count()).select_from(Product)) == before
