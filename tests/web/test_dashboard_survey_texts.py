"""看板 · 问卷结果: each quoted free-text answer opens its response (staff 答卷详情, with the whole
answer) for a viewer who may open it, in the viewer's branch scope; no link otherwise."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

from sqlalchemy import select

from app.extensions import db
from app.models import Response
from tests.services.test_dashboard_survey_results import JAN, _answers, _save

RANGE = "from=2026-01-01&to=2026-01-31&survey=branch-service"
LONG = "等候时间太长，叫号系统经常出错，" * 20 + "希望增加窗口。"


def _section(html: str) -> str:
    return html.split('id="table-text_answers"')[1].split("</table>")[0]


def _ids() -> dict[str, int]:
    return {
        r.answers["comment"]: r.id
        for r in db.session.scalars(select(Response))
        if r.answers.get("comment") in (LONG, "南京网点推销太多")
    }


def test_each_quoted_answer_opens_its_response_with_the_whole_answer(client, auth):
    _save(
        [
            ("HZ01", JAN, _answers(2, 3, "gt30", ["wait"], LONG)),
            (
                "NJ01",
                JAN + timedelta(hours=1),
                _answers(1, 0, "gt30", ["wait"], "南京网点推销太多"),
            ),
        ]
    )
    ids = _ids()
    auth.login("hq")
    html = client.get(f"/manager/dashboards/surveys?{RANGE}").get_data(as_text=True)
    table = unescape(_section(html))
    assert "最新的文字回答" in html
    links = dict(re.findall(r'<a href="(/staff/responses/\d+)"[^>]*>#(\d+)</a>', table))
    assert links == {f"/staff/responses/{n}": str(n) for n in ids.values()}
    assert LONG not in table and LONG[:200] + "…" in table  # cut short on the dashboard ...
    detail = client.get(f"/staff/responses/{ids[LONG]}")
    assert detail.status_code == 200 and LONG in unescape(
        detail.get_data(as_text=True)
    )  # ... whole

    auth.logout()
    auth.login("manager")  # 杭州分行: only its own answers, and each one opens
    table = unescape(_section(client.get(f"/manager/dashboards/surveys?{RANGE}").get_data(True)))
    assert re.findall(r'<a href="/staff/responses/(\d+)"', table) == [str(ids[LONG])]
    assert "南京网点推销太多" not in table
    assert client.get(f"/staff/responses/{ids[LONG]}").status_code == 200


def test_no_link_for_a_viewer_who_may_not_open_responses(client, auth, monkeypatch):
    from app.web.manager import dashboards

    _save([("HZ01", JAN, _answers(2, 3, "gt30", ["wait"], LONG))])
    ids = _ids()
    monkeypatch.setattr(dashboards, "may_open_responses", lambda user: False)
    auth.login("hq")
    table = unescape(_section(client.get(f"/manager/dashboards/surveys?{RANGE}").get_data(True)))
    assert f"#{ids[LONG]}" in table and LONG[:200] + "…" in table  # the row stays ...
    assert "/staff/responses/" not in table  # ... without the link
