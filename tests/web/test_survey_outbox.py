"""消息发件箱 (/manager/outbox): filters by channel, status, kind, days and recipient (LIKE
wildcards typed are matched as themselves), pages of 50 with the total, bad values refused in
Chinese (400, nothing listed), and survey links still masked in the previews."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest

from app.extensions import db
from app.models import OutboundMessage
from app.services import invitations, survey_outbox
from app.services.rollups import TZ
from tests import factories

NOW = datetime.now(UTC)


def _message(recipient: str, **fields) -> OutboundMessage:
    values = {
        "channel": "sms",
        "backend": "outbox",
        "kind": "invitation",
        "subject": "",
        "body": "【银行】邀请您参加满意度调查",
        "status": "sent",
        "attempts": 1,
        "created_at": NOW,
        **fields,
    }
    row = OutboundMessage(recipient_masked=recipient, **values)
    db.session.add(row)
    return row


def _recipients(html: str) -> list[str]:
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r'<td class="mono nowrap">([^<]*)</td>', unescape(body))


def test_the_outbox_pages_fifty_at_a_time_with_the_total_and_keeps_the_filter(client, auth):
    for n in range(55):
        _message(f"OBP****{n:04d}", created_at=NOW - timedelta(minutes=n))
    db.session.flush()
    auth.login("hq")
    first = client.get("/manager/outbox?q=OBP")
    html = first.get_data(as_text=True)
    assert first.status_code == 200
    assert _recipients(html) == [f"OBP****{n:04d}" for n in range(50)]  # newest first
    assert "符合条件的消息共 55 条，第 1 / 2 页" in html and "第 1 / 2 页，共 55 条" in html
    assert "上一页" not in html
    following = re.search(r'href="([^"]*)">下一页</a>', html).group(1)
    assert "q=OBP" in following and "page=2" in following  # (the filter goes with the pager)
    second = client.get(unescape(following)).get_data(as_text=True)
    assert _recipients(second) == [f"OBP****{n:04d}" for n in range(50, 55)]
    assert "上一页" in second and "下一页" not in second
    assert survey_outbox.PAGE_SIZE == 50


def test_channel_status_kind_and_days_narrow_the_list(client, auth):
    _message("OBF****0001", channel="sms", status="sent")
    _message("OBF****0002", channel="email", status="dead", last_error="邮件服务器拒收")
    _message("OBF****0003", channel="wechat", status="failed", kind="reminder")
    _message("OBF****0004", channel="sms", status="pending", created_at=NOW - timedelta(days=40))
    db.session.flush()
    auth.login("hq")

    def listed(query: str) -> set[str]:
        reply = client.get(f"/manager/outbox?q=OBF&{query}")
        assert reply.status_code == 200
        return set(_recipients(reply.get_data(as_text=True)))

    assert listed("") == {f"OBF****000{n}" for n in (1, 2, 3, 4)}
    assert listed("channel=sms") == {"OBF****0001", "OBF****0004"}
    assert listed("status=dead") == {"OBF****0002"}
    assert listed("kind=reminder") == {"OBF****0003"}
    assert listed("channel=sms&status=sent") == {"OBF****0001"}
    old = (NOW - timedelta(days=40)).astimezone(TZ).date()
    assert listed(f"from={old}&to={old}") == {"OBF****0004"}
    assert listed(f"to={old - timedelta(days=1)}") == set()
    html = client.get("/manager/outbox?q=OBF&status=dead").get_data(as_text=True)
    assert "失败" in html and "邮件服务器拒收" in html
    # the chosen values stay chosen in the form
    assert re.search(r'<option value="dead"\s+selected>', html)
    empty = client.get("/manager/outbox?q=OBF&channel=app").get_data(as_text=True)
    assert "没有符合筛选条件的消息" in empty and "发件箱是空的" not in empty


def test_the_recipient_search_takes_wildcards_literally_and_finds_a_customer(client, auth):
    _message("OBW%1****")
    _message("OBWx1****")
    _message("OBW_2****")
    _message("OBWy2****")
    customer = factories.customer("HZ01", phone="13955550123", external_id="OBW-CUST-1")
    _message("139****0123", customer_id=customer.id, channel="sms")
    db.session.flush()
    auth.login("hq")

    def listed(q: str) -> set[str]:
        reply = client.get("/manager/outbox", query_string={"q": q})
        assert reply.status_code == 200
        return set(_recipients(reply.get_data(as_text=True)))

    assert listed("OBW%") == {"OBW%1****"}  # (not every OBW…: % is not a wildcard here)
    assert listed("OBW_") == {"OBW_2****"}
    assert listed("OBW-CUST-1") == {"139****0123"}  # the customer's number
    assert listed("139 5555 0123") == {"139****0123"}  # a full mobile number, as typed


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"channel": "fax"}, "渠道取值无效，请从列表中选择"),
        ({"status": "lost"}, "状态取值无效，请从列表中选择"),
        ({"kind": "notice"}, "类型取值无效，请从列表中选择"),
        ({"from": "2026-13-01"}, "开始日期应为 2026-01-31 这样的“年-月-日”"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "开始日期不能晚于结束日期"),
        ({"q": "x" * 101}, "搜索内容不能超过 100 个字"),
    ],
)
def test_a_bad_filter_value_is_named_in_chinese_and_nothing_is_listed(client, auth, query, message):
    _message("OBE****0001")
    db.session.flush()
    auth.login("hq")
    reply = client.get("/manager/outbox", query_string=query)
    assert reply.status_code == 400
    html = reply.get_data(as_text=True)
    assert message in html and "请更正筛选条件后再查询" in html
    assert _recipients(html) == [] and "筛选条件有误，未查询" in html
    assert 'aria-invalid="true"' in html


def test_previews_of_a_filtered_page_still_mask_survey_link_tokens(client, auth):
    token = invitations.new_token()
    _message("OBM****0001", body=f"【银行】邀请您参加调查：{invitations.link_for(token)} 7天内有效")
    db.session.flush()
    auth.login("hq")
    html = client.get("/manager/outbox?q=OBM&channel=sms").get_data(as_text=True)
    assert _recipients(html) == ["OBM****0001"]
    assert f"/s/{token[:4]}…" in html
    assert token[:8] not in html and token[4:] not in html


def test_the_page_names_the_channels_that_only_reach_the_outbox(client, auth, app, monkeypatch):
    """It said 「开发环境中消息不会真正发出」 whatever the channels' settings."""
    auth.login("hq")
    monkeypatch.setitem(app.config, "SURVEY_CHANNEL_BACKENDS", {})
    html = client.get("/manager/outbox").get_data(as_text=True)
    assert "短信、电子邮件、微信、手机银行推送使用开发用发件箱" in html
    every = {"sms": "gateway", "email": "smtp", "wechat": "gateway", "app": "outbox"}
    monkeypatch.setitem(app.config, "SURVEY_CHANNEL_BACKENDS", every)
    html = client.get("/manager/outbox").get_data(as_text=True)
    assert "使用开发用发件箱" in html.split("手机银行推送使用开发用发件箱")[0] + "使用开发用发件箱"
    assert "微信、手机银行推送使用" not in html and "。手机银行推送使用开发用发件箱" in html
    monkeypatch.setitem(app.config, "SURVEY_CHANNEL_BACKENDS", {**every, "app": "gateway"})
    html = client.get("/manager/outbox").get_data(as_text=True)
    assert "开发用发件箱" not in html and "不会真正发出" not in html
