"""批量导入 on 机构管理 and 产品管理: the administrator uploads the same files as ``flask branches
import`` / ``products import`` (CSV in UTF-8 or GBK, XLSX), all rows or none, every bad line
listed, audited; the templates to start from; nobody else may upload (both databases)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditLog, Branch, Product, User
from tests.support import csrf_token
from tests.uploads import LARGE_UPLOADS, MB, xlsx

pytestmark = LARGE_UPLOADS

BRANCH_HEADER = "机构代码,机构名称,层级,上级机构代码,城市,地址\n"


def _upload(client, page: str, filename: str, data: bytes, *, token: bool = True):
    form = {"file": (io.BytesIO(data), filename)}
    if token:
        form["csrf_token"] = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(f"{page}/import", data=form, content_type="multipart/form-data")


def _paths() -> dict[str, str]:
    db.session.expire_all()
    return dict(db.session.execute(select(Branch.code, Branch.path)).tuples().all())


def _products() -> dict[str, tuple[str, str]]:
    db.session.expire_all()
    rows = db.session.execute(select(Product.code, Product.name, Product.category))
    return {code: (name, str(category)) for code, name, category in rows}


def _imports(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def _admin_id() -> int:
    return db.session.scalar(select(User.id).where(User.username == "admin"))


def _bad_lines(html: str) -> dict[int, str]:
    return {
        int(n): text
        for n, text in re.findall(r'<td class="nowrap">第 (\d+) 行</td><td>([^<]*)</td>', html)
    }


def test_both_pages_offer_the_upload_and_its_template(client, auth):
    auth.login("admin")
    for page, name in (("/admin/branches", "机构文件"), ("/admin/products", "产品文件")):
        html = client.get(page).get_data(as_text=True)
        form = re.search(rf'<form method="post" action="{page}/import"[^>]*>.*?</form>', html, re.S)
        assert form and 'enctype="multipart/form-data"' in form[0], page
        assert 'type="file" name="file"' in form[0] and "校验并导入" in form[0]
        assert name in form[0] and 'name="csrf_token"' in form[0]
        # our button in Chinese for the script to put in place of the browser's own
        assert (
            '<label for="file" class="pc-pick" hidden><span class="pc-pick-button">选择文件'
            in (form[0])
        )
        assert f'href="{page}/import-template.csv"' in html
        # (the new item's form posts to the list, whatever address the page is shown at)
        assert f'<form method="post" action="{page}" novalidate>' in html


def test_a_gbk_branch_file_is_imported_and_audited(client, auth):
    auth.login("admin")
    body = "GS0101,城西网点,网点,GS01,杭州,文一路 9 号\nGS01,城西支行,支行,HZ,杭州,\n"
    reply = _upload(client, "/admin/branches", "机构.csv", (BRANCH_HEADER + body).encode("gbk"))
    assert reply.status_code == 302 and reply.location.endswith("/admin/branches")
    page = client.get(reply.location).get_data(as_text=True)
    assert "导入完成。共 2 行：新建 2 个，更新 0 个，未变 0 个。" in page
    assert _paths()["GS0101"] == "/HO/HZ/GS01/GS0101/" and ">城西网点</a>" in page
    (entry,) = _imports("branches.import")
    assert entry.actor_id == _admin_id() and entry.detail["file"] == "机构.csv"
    assert sorted(entry.detail["created"]) == ["GS01", "GS0101"]
    # a second upload moving a unit says so, as the command line does
    moved = BRANCH_HEADER + "GS01,城西支行,支行,NJ,南京,\n"
    again = _upload(client, "/admin/branches", "机构.csv", moved.encode())
    page = client.get(again.location).get_data(as_text=True)
    assert "共 1 行：新建 0 个，更新 1 个（其中调整上级 1 个），未变 0 个" in page
    assert _paths()["GS0101"] == "/HO/NJ/GS01/GS0101/"


def test_every_bad_line_is_listed_and_nothing_is_stored(client, auth):
    auth.login("admin")
    before = _paths()
    body = (
        "GS01,城西支行,支行,HZ,杭州,\n"
        "hz 6,上城支行,支行,HZ,杭州,\n"
        "\n"
        "GS02,临平支行,分理处,HZ,杭州,\n"
        "GS03,余杭支行,支行,XX,杭州,\n"
        "GS01,城西支行,支行,HZ,杭州,\n"
    )
    reply = _upload(client, "/admin/branches", "机构.csv", (BRANCH_HEADER + body).encode())
    html = reply.get_data(as_text=True)
    assert reply.status_code == 400
    assert "文件中有 4 处错误，未导入任何数据" in html and "错误明细（共 4 行，未导入）" in html
    lines = _bad_lines(html)
    assert sorted(lines) == [3, 5, 6, 7]  # (the blank line 4 is skipped but counted)
    assert "代码“hz 6”无效" in lines[3] and "机构层级“分理处”无效" in lines[5]
    assert "上级机构代码 XX 既不在文件中" in lines[6] and "在文件中重复（第 2 行已有）" in lines[7]
    assert _paths() == before and _imports("branches.import") == []
    # the refused upload comes first, above the tree, with the tree and its forms still there
    assert html.index("错误明细") < html.index(">西湖支行</a>") and "新建机构" in html


def test_an_xlsx_product_file_creates_then_updates_then_changes_nothing(client, auth):
    auth.login("admin")
    rows = [["产品代码", "产品名称", "产品类别"], ["CREDIT-GOLD", "金卡信用卡", "银行卡"]]
    rows.append(["debit", "借记卡（新版）", "card"])
    reply = _upload(client, "/admin/products", "产品.xlsx", xlsx(rows))
    assert reply.status_code == 302, reply.get_data(as_text=True)[-500:]
    page = client.get(reply.location).get_data(as_text=True)
    assert "共 2 行：新建 1 个，更新 1 个，未变 0 个" in page
    products = _products()
    assert products["CREDIT-GOLD"] == ("金卡信用卡", "card")
    assert products["DEBIT"] == ("借记卡（新版）", "card")
    again = _upload(client, "/admin/products", "产品.xlsx", xlsx(rows))
    assert "新建 0 个，更新 0 个，未变 2 个" in client.get(again.location).get_data(as_text=True)
    assert [e.detail["created"] for e in _imports("products.import")] == [1, 0]


def test_bad_product_lines_are_listed_and_nothing_is_stored(client, auth):
    auth.login("admin")
    before = _products()
    body = "code,name,category\nCREDIT-GOLD,金卡信用卡,银行卡\nX Y,,保险\n".encode()
    reply = _upload(client, "/admin/products", "products.csv", body)
    html = reply.get_data(as_text=True)
    assert reply.status_code == 400 and "错误明细（共 1 行，未导入）" in html
    (line,) = _bad_lines(html).items()
    assert line[0] == 3 and "代码“X Y”无效" in line[1] and "产品类别“保险”无效" in line[1]
    assert _products() == before and _imports("products.import") == []


@pytest.mark.parametrize("page", ["/admin/branches", "/admin/products"])
def test_a_file_too_large_of_another_kind_or_unreadable_is_refused_in_chinese(client, auth, page):
    auth.login("admin")
    before = (_paths(), _products())
    for filename, data, message in (
        ("大文件.csv", b"code,name\n" + b"x" * (9 * MB), "文件不能超过 8 MB"),
        ("机构.exe", b"MZ\x90\x00", "请上传 .csv 或 .xlsx 文件"),
        ("机构.xlsx", b"not a zip", "无法读取 Excel 文件"),
        ("", b"", "请选择要上传的文件"),
        ("机构.csv", "代码,名字\nA,B\n".encode(), "表头缺少必需的列"),
        (
            "机构.csv",
            BRANCH_HEADER.encode(),
            f"文件中没有{'机构' if 'branch' in page else '产品'}数据",
        ),
    ):
        reply = _upload(client, page, filename, data)
        html = reply.get_data(as_text=True)
        assert reply.status_code == 400, filename
        assert message in html and '<p class="error">' in html, (filename, message)
    too_large = _upload(client, page, "机构.csv", b"x" * (11 * MB))
    assert too_large.status_code == 413 and "内容过大" in too_large.get_data(as_text=True)
    assert (_paths(), _products()) == before


def test_an_upload_without_its_csrf_token_changes_nothing(client, auth):
    auth.login("admin")
    body = (BRANCH_HEADER + "GS01,城西支行,支行,HZ,杭州,\n").encode()
    reply = _upload(client, "/admin/branches", "机构.csv", body, token=False)
    assert reply.status_code == 400 and "GS01" not in _paths()
    products = "code,name,category\nNEWCARD,新卡,card\n".encode()
    reply = _upload(client, "/admin/products", "p.csv", products, token=False)
    assert reply.status_code == 400 and "NEWCARD" not in _products()


@pytest.mark.parametrize("username", ["hq", "manager", "agent"])
def test_only_the_administrator_may_upload_or_download_the_templates(client, auth, username):
    auth.login(username)
    token = csrf_token(client.get("/staff/").get_data(as_text=True))
    body = (BRANCH_HEADER + "GS01,城西支行,支行,HZ,杭州,\n").encode()
    for page in ("/admin/branches", "/admin/products"):
        reply = client.post(
            f"{page}/import",
            data={"csrf_token": token, "file": (io.BytesIO(body), "a.csv")},
            content_type="multipart/form-data",
        )
        assert reply.status_code == 403
        assert client.get(f"{page}/import-template.csv").status_code == 403
    assert "GS01" not in _paths()
    imports = select(func.count(AuditLog.id)).where(AuditLog.action.like("%.import"))
    assert db.session.scalar(imports) == 0


@pytest.mark.parametrize(
    ("page", "filename", "header", "example"),
    [
        (
            "/admin/branches",
            "机构导入模板.csv",
            ["机构代码", "机构名称", "机构层级", "上级机构代码", "城市", "地址"],
            "HZ05",
        ),
        (
            "/admin/products",
            "产品导入模板.csv",
            ["产品代码", "产品名称", "产品类别"],
            "CREDIT-GOLD",
        ),
    ],
)
def test_the_template_is_a_header_and_an_example_that_imports_as_it_is(
    client, auth, page, filename, header, example
):
    auth.login("admin")
    reply = client.get(f"{page}/import-template.csv")
    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    assert "attachment" in reply.headers["Content-Disposition"]
    assert "filename*=UTF-8''" in reply.headers["Content-Disposition"]  # (the Chinese name)
    assert reply.data.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(reply.data.decode("utf-8-sig"))))
    assert rows[0] == header and len(rows) == 2 and rows[1][0] == example
    imported = _upload(client, page, filename, reply.data)
    assert imported.status_code == 302
    assert "新建 1 个" in client.get(imported.location).get_data(as_text=True)
    assert example in (_paths() if "branches" in page else _products())
