"""Sign-in: throttling and lock-out, no user enumeration by message, status or timing; and
months counted in Asia/Shanghai time on both databases."""

from __future__ import annotations

import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app

from app.services import invitations, responses
from app.services.customers import CustomerData
from tests import factories
from tests.security.records import DETRACTOR_ANSWERS
from tests.support import PASSWORD, csrf_token

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _login(client, username: str, password: str, ip: str = "127.0.0.1"):
    page = client.get("/login", environ_base={"REMOTE_ADDR": ip})
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(page.text)},
        environ_base={"REMOTE_ADDR": ip},
    )


def _message(response) -> str:
    text = response.get_data(as_text=True)
    text = re.sub(r'value="[^"]{40,}"', "", text)  # CSRF tokens differ per request
    return text[text.find("<main") : text.find("</main>")]


def test_unknown_user_and_wrong_password_look_the_same(client):
    unknown = _login(client, "no-such-user-xyz", "Wrong@2026x")
    wrong = _login(client, "agent", "Wrong@2026x")
    disabled = factories.user(username="disabled1", active=False)
    inactive = _login(client, disabled.username, PASSWORD)
    assert unknown.status_code == wrong.status_code == inactive.status_code == 401
    assert "用户名或密码错误" in unknown.text
    strip = lambda r: _message(r).replace("no-such-user-xyz", "").replace("agent", "")  # noqa: E731
    assert strip(unknown) == strip(wrong) == _message(inactive).replace("disabled1", "")


def test_unknown_user_takes_about_as_long_as_a_wrong_password(client):
    def timed(username: str) -> float:
        best = []
        for n in range(5):
            start = time.perf_counter()
            _login(client, username, "Wrong@2026x", ip=f"10.20.0.{n}")
            best.append(time.perf_counter() - start)
        return sorted(best)[2]  # the median of five, robust to a busy machine

    timed("agent")  # warm up
    unknown, known = timed("nobody-at-all"), timed("hq")
    assert 1 / 3 < unknown / known < 3, (unknown, known)


def test_repeated_failures_lock_the_account_even_for_the_right_password(client):
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    for n in range(limit):
        assert _login(client, "manager", "Wrong@2026x", ip=f"10.30.0.{n}").status_code == 401
    locked = _login(client, "manager", PASSWORD, ip="10.30.1.1")
    assert locked.status_code == 429 and "登录失败次数过多" in locked.text
    assert _login(client, "hq", PASSWORD, ip="10.30.1.1").status_code == 302  # others unaffected


def test_one_address_trying_many_users_is_throttled(client):
    limit = current_app.config["LOGIN_MAX_FAILURES_PER_IP"]
    for n in range(limit):
        _login(client, f"guess{n}", "Wrong@2026x", ip="10.40.0.1")
    assert _login(client, "agent", PASSWORD, ip="10.40.0.1").status_code == 429
    assert _login(client, "agent", PASSWORD, ip="10.40.0.2").status_code == 302


def test_locked_out_unknown_users_get_the_same_answer_as_real_ones(client):
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    for name in ("agent_nj", "ghost-user"):
        for n in range(limit):
            _login(client, name, "Wrong@2026x", ip=f"10.50.{len(name)}.{n}")
    real = _login(client, "agent_nj", "Wrong@2026x", ip="10.50.9.1")
    ghost = _login(client, "ghost-user", "Wrong@2026x", ip="10.50.9.2")
    assert real.status_code == ghost.status_code == 429


# Months in Asia/Shanghai ---------------------------------------------------------------------


def _answer_at(local: datetime, ext: str) -> None:
    moment = local.replace(tzinfo=SHANGHAI)
    issued = invitations.create_invitation(
        invitations.InvitationRequest(
            survey_code="branch-service",
            customer=CustomerData(external_id=ext, name="冯一", phone="13877776666"),
            channel="sms",
            branch_code="HZ01",
        ),
        now=moment,
    )
    token = issued.url.rsplit("/", 1)[1]
    form = {**DETRACTOR_ANSWERS, "q_overall": "5" if "JAN" in ext else "1"}
    responses.submit_link(token, _multidict(form), now=moment)


def _multidict(form):
    from werkzeug.datastructures import MultiDict

    items = []
    for key, value in form.items():
        items += [(key, v) for v in value] if isinstance(value, list) else [(key, value)]
    return MultiDict(items)


def test_an_answer_at_2330_on_31_january_belongs_to_january(client):
    _answer_at(datetime(2026, 1, 31, 23, 30), "TZJAN1")  # 15:30 UTC, still 31 January
    _answer_at(datetime(2026, 2, 1, 0, 30), "TZFEB1")  # 16:30 UTC on 31 January!
    _, secret = factories.api_token("metrics:read")
    reply = client.get(
        "/api/v1/metrics/satisfaction",
        query_string={"group_by": "month", "from": "2026-01-01", "to": "2026-02-28"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert reply.status_code == 200, reply.json
    months = {row["month"]: row for row in reply.json["rows"]}
    assert months["2026-01"]["responses"] == 1 and months["2026-02"]["responses"] == 1
    assert months["2026-01"]["csat_n"] == months["2026-02"]["csat_n"] == 1
    if months["2026-01"]["csat"] is not None:  # shown only above the minimum sample size
        assert months["2026-01"]["csat"] > months["2026-02"]["csat"]
    one_day = client.get(
        "/api/v1/metrics/satisfaction",
        query_string={"group_by": "month", "from": "2026-02-01", "to": "2026-02-01"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert [row["responses"] for row in one_day.json["rows"]] == [1]
