"""投诉进度查询 in the browser: from the receipt page to the case's stage, in Chinese, with
nothing personal on it; wrong or malformed input explained with a 4xx."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlalchemy import select

from app.models import Complaint, Role, utcnow
from app.services import complaint_clock as clock
from app.services import complaint_handling as handling
from app.services import complaint_progress
from tests import factories
from tests.services.test_complaints import TEXT, decide
from tests.support import csrf_token

PAGE = "/complaint/progress"


def _file_complaint(client) -> Complaint:
    page = client.get("/complaint").get_data(as_text=True)
    done = client.post(
        "/complaint",
        data={
            "csrf_token": csrf_token(page),
            "name": "吴敏",
            "phone": "13700001234",
            "branch_code": "HZ02",
            "content": TEXT,
            "consent": "y",
        },
    )
    assert done.status_code == 201
    assert f'href="{PAGE}">查询处理进度</a>' in done.get_data(as_text=True)
    ref = done.get_data(as_text=True).split('pc-ref mono">')[1].split("<")[0]
    from app.extensions import db

    return db.session.scalar(select(Complaint).where(Complaint.reference == ref))


def _ask(client, reference: str, phone: str):
    page = client.get(PAGE).get_data(as_text=True)
    return client.post(
        PAGE, data={"csrf_token": csrf_token(page), "reference": reference, "phone": phone}
    )


def test_a_complainant_follows_their_case_and_sees_nothing_personal(client, db_session):
    form = client.get(PAGE)
    assert form.status_code == 200 and "<h1>投诉进度查询</h1>" in form.get_data(as_text=True)
    assert 'href="/complaint/progress"' in client.get("/complaint").get_data(as_text=True)
    c = _file_complaint(client)
    # the receipt by SMS says where to look (links only from PUBLIC_BASE_URL)
    from app.extensions import db
    from app.models.outbox import OutboxMessage

    receipt = db.session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.related_id == c.id, OutboxMessage.purpose == "acknowledgement"
        )
    )
    base = client.application.config["PUBLIC_BASE_URL"].rstrip("/")
    assert receipt.body.endswith(f"凭编号和手机号码可查询进度：{base}{PAGE}")
    agent = factories.user(Role.AGENT, "HZ", display_name="钱处理")
    handling.accept(c.id, actor=agent)
    decide(c, agent)
    handling.record_notice(c.id, actor=agent, method="phone", purpose="decision", outcome="reached")
    shown = _ask(client, c.reference.lower(), "137 0000 1234")
    page = unescape(shown.get_data(as_text=True))
    assert shown.status_code == 200 and c.reference in page
    current = re.search(r'<li class="now" aria-current="step">([^<]+)</li>', page)
    assert current and current[1] == "已答复"
    assert "已告知您" in page and "向我行上级机构书面申请核查，最迟于" in page
    for private in ("吴敏", "13700001234", "钱处理", "退还年费三百元", "调取了账单"):
        assert private not in page, private


def test_wrong_or_malformed_input_is_explained(client, db_session):
    c = _file_complaint(client)
    malformed = _ask(client, "", "123")
    text = malformed.get_data(as_text=True)
    assert malformed.status_code == 400
    assert "请填写投诉编号" in text and "请填写 11 位手机号码" in text
    wrong = _ask(client, c.reference, "13911112222")
    assert wrong.status_code == 404
    assert "未查到与该投诉编号和手机号码相符的投诉" in wrong.get_data(as_text=True)
    for _ in range(complaint_progress.FAILED_LIMIT - 1):
        _ask(client, c.reference, "13911112222")
    limited = _ask(client, c.reference, "13700001234")
    assert limited.status_code == 429 and "查询次数过多" in limited.get_data(as_text=True)
    # no hotline configured: no "拨打客服热线" without a number to dial
    assert "或联系我行客服查询" in limited.get_data(as_text=True)
    assert "拨打客服热线" not in limited.get_data(as_text=True)


def test_a_refused_lookup_gives_the_hotline_by_its_number(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "BANK_HOTLINE", "400-888-0000")
    for _ in range(complaint_progress.FAILED_LIMIT):
        _ask(client, "TS20261201-000123", "13911112222")
    limited = _ask(client, "TS20261201-000123", "13911112222")
    assert limited.status_code == 429
    assert "请一小时后再试，或拨打客服热线 400-888-0000 查询。" in limited.get_data(as_text=True)


def _dates(page: str) -> dict[str, str]:
    return dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page))


def test_the_pages_call_the_outcome_by_one_name_and_count_the_last_day(
    app, client, db_session, monkeypatch
):
    """The form said 作出处理决定, the receipt 告知您处理结果, the progress page 处理意见最迟 and
    "作出处理意见"; the last day to ask for a review read "可于 <day> 前", as if excluding it,
    beside dates that said （含当日）. Now: the 处理结果 is told by a day (its last day counted),
    the 处理决定 is what is made; every last day says （含当日）."""
    monkeypatch.setitem(app.config, "BANK_HOTLINE", "400-888-0000")
    form = client.get("/complaint").get_data(as_text=True)
    assert "15 日内告知您处理结果" in form
    c = _file_complaint(client)
    page = unescape(_ask(client, c.reference, "13700001234").get_data(as_text=True))
    due = clock.local_date(c.due_at)
    assert _dates(page)["处理结果"] == f"最迟于 {due:%Y年%m月%d日}（含当日）告知您"
    assert "处理结果将通过短信、电话或书面方式告知您。" in page
    agent = factories.user(Role.AGENT, "HZ")
    handling.accept(c.id, actor=agent)
    decide(c, agent)
    handling.record_notice(c.id, actor=agent, method="phone", purpose="decision", outcome="reached")
    page = unescape(_ask(client, c.reference, "13700001234").get_data(as_text=True))
    today = clock.local_date(utcnow())
    assert _dates(page)["处理决定"].startswith(f"{today:%Y年%m月%d日} 作出，")
    last = today + timedelta(days=30)
    assert (
        "如对处理决定有异议，您可以向我行上级机构书面申请核查，"
        f"最迟于 {last:%Y年%m月%d日}（含当日）提出，办理方式可拨打客服热线 "
        '<a href="tel:4008880000" style="white-space: nowrap">400-888-0000</a> 咨询' in page
    )
    assert " 前向我行" not in page
    assert "处理决定的具体内容以我们通过短信、电话或书面方式告知您的为准。" in page
    for shown in (form, page):
        assert "处理意见" not in shown


def test_a_declined_or_withdrawn_case_is_not_told_of_a_decision(client, db_session):
    """Both ended with "处理意见的具体内容以…告知您的为准": there is no decision to speak of."""
    agent = factories.user(Role.AGENT, "HZ")
    declined = _file_complaint(client)
    handling.decline(declined.id, actor=agent, ground="not_entitled", reason="非本人提出的投诉")
    page = unescape(_ask(client, declined.reference, "13700001234").get_data(as_text=True))
    assert "不予受理的理由以我们通过短信、电话或书面方式告知您的为准。" in page
    assert "具体内容以" not in page and "处理意见" not in page
    withdrawn = _file_complaint(client)
    handling.withdraw(withdrawn.id, actor=agent, reason="客户来电撤回投诉")
    page = unescape(_ask(client, withdrawn.reference, "13700001234").get_data(as_text=True))
    assert "具体内容以" not in page and "如仍有问题需要反映，可以重新提交投诉。" in page
    assert '<a class="button" href="/complaint">提交新的投诉</a>' in page
