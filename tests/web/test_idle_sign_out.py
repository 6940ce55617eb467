"""A staff session unused for SESSION_IDLE_MINUTES ends: the next request signs in again."""

from __future__ import annotations

import time

import pytest

from app.web.auth.idle import SEEN_KEY
from tests.support import csrf_token


def _age(client, seconds: int) -> None:
    """Make the session's last request ``seconds`` old, as that much idle time would."""
    with client.session_transaction() as session:
        session[SEEN_KEY] = int(time.time()) - seconds


def test_a_session_idle_past_the_limit_is_signed_out_and_comes_back_to_its_page(app, client, auth):
    auth.login("agent")
    assert client.get("/staff/complaints").status_code == 200
    _age(client, 29 * 60)  # inside the 30 minutes: still signed in, and the clock restarts
    assert client.get("/staff/complaints").status_code == 200
    _age(client, 31 * 60)
    gone = client.get("/staff/complaints?queue=mine")
    assert gone.status_code == 302
    assert gone.headers["Location"] == "/login?next=/staff/complaints?queue%3Dmine"
    page = client.get(gone.headers["Location"]).get_data(as_text=True)
    assert "超过 30 分钟未操作，已自动退出，请重新登录" in page
    assert client.get("/staff/complaints").status_code == 302  # the session is gone for good


def test_a_form_sent_after_the_limit_leads_back_to_its_page(client, auth):
    auth.login("agent")
    page = client.get("/account/password").get_data(as_text=True)
    _age(client, 40 * 60)
    sent = client.post(
        "/account/password",
        data={"csrf_token": csrf_token(page)},
        headers={"Referer": "http://localhost/account/password"},
    )
    assert sent.status_code == 302
    assert sent.headers["Location"] == "/login?next=/account/password"


def test_the_page_s_keepalive_restarts_the_clock(client, auth):
    auth.login("agent")
    page = client.get("/staff/complaints").get_data(as_text=True)
    assert 'data-idle-seconds="1800"' in page and "js/idle.js" in page
    _age(client, 25 * 60)  # typing a long decision without sending it
    alive = client.post("/account/keepalive", headers={"X-CSRFToken": csrf_token(page)})
    assert alive.status_code == 204
    with client.session_transaction() as session:
        assert time.time() - session[SEEN_KEY] < 5  # the 30 minutes start again from now
    refused = client.post("/account/keepalive")  # no CSRF token: not a page of ours
    assert refused.status_code == 400


@pytest.mark.parametrize("minutes", [0])
def test_the_limit_can_be_turned_off(app, client, auth, minutes):
    app.config["SESSION_IDLE_MINUTES"] = minutes
    try:
        auth.login("agent")
        _age(client, 10 * 3600)
        page = client.get("/staff/complaints")
        assert page.status_code == 200 and "js/idle.js" not in page.get_data(as_text=True)
    finally:
        app.config["SESSION_IDLE_MINUTES"] = 30


def test_customers_and_the_api_are_not_concerned(client):
    page = client.get("/complaint").get_data(as_text=True)
    assert "data-idle-seconds" not in page and "js/idle.js" not in page
