"""Lists page the same way (app/services/paging.py): a page number past the end shows the
last page, one below 1 or not a number the first; the pager says where the reader is."""

from __future__ import annotations

import re

import pytest

from app.services import customers
from tests import factories


def _listed(page: str) -> list[str]:
    return re.findall(r">(PG\d{4})</a>", page)


@pytest.fixture
def fifty_five(db_session):
    rows = [
        factories.customer("HZ01", external_id=f"PG{n:04d}", name="分页测试") for n in range(55)
    ]
    db_session.commit()
    return [r.external_id for r in rows]


def test_pages_of_a_list_split_it_without_gap_or_overlap(auth, client, fifty_five):
    auth.login("agent")
    first = client.get("/staff/customers?q=分页测试").get_data(as_text=True)
    second = client.get("/staff/customers?q=分页测试&page=2").get_data(as_text=True)
    assert len(_listed(first)) == customers.PAGE_SIZE == 50
    assert sorted(_listed(first) + _listed(second)) == sorted(fifty_five)  # newest first, all once
    assert "第 1 / 2 页，共 55 条" in first and "第 2 / 2 页，共 55 条" in second
    assert "下一页" in first and "上一页" not in first
    assert "上一页" in second and "下一页" not in second


@pytest.mark.parametrize(
    ("asked", "shown"), [("0", 1), ("-4", 1), ("abc", 1), ("3", 2), ("99999999999999999999", 2)]
)
def test_a_page_number_out_of_range_shows_the_nearest_page(auth, client, fifty_five, asked, shown):
    auth.login("agent")
    response = client.get(f"/staff/customers?q=分页测试&page={asked}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"第 {shown} / 2 页，共 55 条" in page
    assert len(_listed(page)) == (50 if shown == 1 else 5)


def test_an_empty_list_has_one_empty_page(auth, client, db_session):
    auth.login("agent")
    response = client.get("/staff/customers?q=无此客户&page=7")
    assert response.status_code == 200
    assert not _listed(response.get_data(as_text=True))


def test_a_long_list_is_counted_only_up_to_the_cap(auth, client, fifty_five, monkeypatch):
    """Past paging.COUNT_CAP the list says 超过 N 条 and pages through the first N (counting a
    million rows for every page took seconds); under it the count is exact."""
    from app.services import paging

    monkeypatch.setattr(paging, "COUNT_CAP", 40)
    monkeypatch.setattr(customers, "PAGE_SIZE", 20)
    auth.login("agent")
    first = client.get("/staff/customers?q=分页测试").get_data(as_text=True)
    last = client.get("/staff/customers?q=分页测试&page=9").get_data(as_text=True)
    assert "第 1 / 2 页，超过 40 条" in first and "第 2 / 2 页，超过 40 条" in last
    assert "更早的记录请用筛选条件" in last and "更早的记录请用筛选条件" not in first
    shown = _listed(first) + _listed(last)
    assert len(set(shown)) == 40 and set(shown) < set(fifty_five)  # the newest 40
    monkeypatch.setattr(paging, "COUNT_CAP", 55)  # exactly as many as match: counted exactly
    page = client.get("/staff/customers?q=分页测试&page=3").get_data(as_text=True)
    assert "第 3 / 3 页，共 55 条" in page and "更早的记录" not in page
