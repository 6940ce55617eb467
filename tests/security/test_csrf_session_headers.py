"""CSRF on every state-changing form, session fixation and replay, cookie flags, security headers
on every page type, and no debugger in the production configuration."""

from __future__ import annotations

import re

import pytest

from app import create_app
from tests.security.helpers import build_path, methods, page_csrf, rules, sign_in
from tests.security.test_access_matrix import PUBLIC, SIGNED_IN, WEB_ACCESS
from tests.support import TEST_SECRET, csrf_token

EXEMPT_PREFIXES = ("/api/", "/s/")  # token-authorised, no browser session


def _caller_for(endpoint: str) -> str | None:
    allowed = WEB_ACCESS.get(endpoint, PUBLIC)  # unclassified: test_access_matrix reports it
    if allowed in (PUBLIC,):
        return None
    if allowed == SIGNED_IN:
        return "agent"
    return sorted(allowed)[0]


def _post_routes(app):
    return [
        r for r in rules(app) if "POST" in methods(r) and not r.rule.startswith(EXEMPT_PREFIXES)
    ]


def test_there_are_forms_to_check(app):
    assert len(_post_routes(app)) > 20


@pytest.mark.parametrize("who", [None, "agent", "hq", "manager", "admin"])
def test_every_post_route_rejects_a_missing_or_foreign_csrf_token(app, client, who):
    """Missing, empty and another session's tokens all get 400, before the view runs."""
    other = app.test_client()
    foreign = csrf_token(other.get("/login").text)
    if who:
        sign_in(client, who)
    checked = 0
    for rule in _post_routes(app):
        if _caller_for(rule.endpoint) != who:
            continue
        path = build_path(rule)
        for data in ({}, {"csrf_token": ""}, {"csrf_token": foreign}):
            response = client.post(path, data=data)
            assert response.status_code == 400, f"POST {path} with {data}: {response.status_code}"
            assert "安全校验失败" in response.text
        checked += 1
    assert checked or who == "manager"


def test_session_fixation_a_planted_session_is_replaced_at_sign_in(client):
    client.get("/login")
    planted = client.get_cookie("kesheng_session").value
    sign_in(client, "agent")
    after = client.get_cookie("kesheng_session").value
    assert after != planted
    attacker = client.application.test_client()
    attacker.set_cookie("kesheng_session", planted)
    assert attacker.get("/staff/").status_code == 302  # the planted cookie is still anonymous


def test_a_session_cookie_is_worthless_after_sign_out(client):
    sign_in(client, "agent")
    stolen = client.get_cookie("kesheng_session").value
    assert client.post("/logout", data={"csrf_token": page_csrf(client)}).status_code == 302
    replay = client.application.test_client()
    replay.set_cookie("kesheng_session", stolen)
    response = replay.get("/staff/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_requests_without_a_session_get_no_cookie_and_sessions_still_work(app, client):
    """No session cookie in, none out (a customer's link, the API, the health check); a
    page that starts a session sets one, and a tampered cookie is an empty session."""
    anonymous = app.test_client()
    for path in ("/healthz", "/s/not-a-token", "/api/v1/complaints/1"):
        response = anonymous.get(path)
        assert "Set-Cookie" not in response.headers, path
    assert "Cookie" in anonymous.get("/s/not-a-token").headers.get("Vary", "")  # session read
    client.get("/login")
    assert client.get_cookie("kesheng_session") is not None  # the login form's CSRF token
    sign_in(client, "agent")
    assert client.get("/staff/").status_code == 200
    forged = app.test_client()
    forged.set_cookie("kesheng_session", client.get_cookie("kesheng_session").value + "x")
    assert forged.get("/staff/").status_code == 302


@pytest.fixture
def production_app(monkeypatch, tmp_path):
    monkeypatch.setenv("KESHENG_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET + "-production")
    monkeypatch.setenv("FLASK_DEBUG", "1")  # a stray debug flag must not win in production
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.db'}")
    app = create_app()

    @app.get("/__boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    return app


def test_production_cookies_are_secure_httponly_samesite(production_app):
    config = production_app.config
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["REMEMBER_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert config["REMEMBER_COOKIE_SAMESITE"] in ("Lax", "Strict")
    with production_app.test_request_context("/login", base_url="https://kesheng.example"):
        from flask import session

        session["x"] = 1
        response = production_app.make_response("ok")
        production_app.session_interface.save_session(production_app, session, response)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_no_debugger_in_production(production_app):
    from werkzeug.debug import DebuggedApplication

    assert production_app.debug is False and not production_app.config["DEBUG"]
    assert not isinstance(production_app.wsgi_app, DebuggedApplication)
    client = production_app.test_client()
    response = client.get("/__boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "hunter2" not in body and "Werkzeug" not in body
    assert "服务器" in body or "错误" in body


def test_wsgi_entry_point_runs_without_debug():
    with open("wsgi.py", encoding="utf-8") as f:
        source = f.read()
    assert "debug=True" not in source and "DebuggedApplication" not in source


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def _check_headers(response, url) -> list[str]:
    headers, bad = response.headers, []
    csp = headers.get("Content-Security-Policy", "")
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in csp.split(";") if part.strip()
    )
    script = directives.get("script-src", directives.get("default-src", []))
    if not csp or "'unsafe-inline'" in script or "'unsafe-eval'" in script or "*" in script:
        bad.append(f"{url}: CSP {csp!r}")
    if directives.get("object-src") != ["'none'"] or directives.get("frame-ancestors") != [
        "'none'"
    ]:
        bad.append(f"{url}: CSP lacks object-src/frame-ancestors 'none'")
    expected = {
        # (a survey page's address holds its one-time token: no referrer even to this site)
        "Referrer-Policy": "no-referrer" if url.startswith("/s/") else "same-origin",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }
    for name, value in expected.items():
        if headers.get(name) != value:
            bad.append(f"{url}: {name}={headers.get(name)!r}")
    if response.mimetype == "text/html":
        html = response.get_data(as_text=True)
        if INLINE_SCRIPT.search(html) or EVENT_HANDLER.search(html):
            bad.append(f"{url}: inline script or event handler attribute")
    return bad


@pytest.mark.parametrize("who", ["anonymous", "agent", "hq", "admin"])
def test_security_headers_on_every_page_type(app, client, who):
    if who != "anonymous":
        sign_in(client, who)
    problems, kinds = [], set()
    for rule in rules(app):
        if "GET" not in methods(rule):
            continue
        url = build_path(rule)
        response = client.get(url)
        response.close()
        kinds.add((response.status_code, response.mimetype))
        problems += _check_headers(response, url)
    for url in ("/no-such-page", "/static/../wsgi.py"):
        problems += _check_headers(client.get(url), url)
    assert len(kinds) >= 3
    assert not problems, "\n".join(problems)


def test_signed_in_pages_are_not_cached(client):
    sign_in(client, "agent")
    assert client.get("/staff/complaints").headers.get("Cache-Control") == "no-store"


def test_hsts_behind_https(client):
    response = client.get("/login", base_url="https://kesheng.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def _as_a_browser_posts(client, page, url: str, data: dict, base: str):
    """POST a form the way a browser does under the page's Referrer-Policy: with the page's
    address as Referer when the policy lets a same-origin request carry it, else none."""
    policy = page.headers["Referrer-Policy"]
    referer = {"Referer": base + url} if policy in ("same-origin", "strict-origin") else {}
    token = csrf_token(page.get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data}, base_url=base, headers=referer)


def test_forms_work_over_https_behind_the_tls_proxy(client):
    """Over HTTPS Flask-WTF requires a same-origin Referer on every form POST; the pages sent
    Referrer-Policy: no-referrer, so browsers sent none: behind the bank's TLS proxy nobody could
    sign in, and customers could not send the complaint form ("页面停留时间过长")."""
    base = "https://kesheng.example"
    page = client.get("/login", base_url=base)
    signed = _as_a_browser_posts(
        client, page, "/login", {"username": "agent", "password": "Kesheng@2026"}, base
    )
    assert signed.status_code == 302 and "/login" not in signed.headers["Location"]
    anonymous = client.application.test_client()
    form = anonymous.get("/complaint/progress", base_url=base)
    looked_up = _as_a_browser_posts(
        anonymous,
        form,
        "/complaint/progress",
        {"reference": "TS20990101-000001", "phone": "13800000000"},
        base,
    )
    assert looked_up.status_code != 400 and "安全校验失败" not in looked_up.get_data(as_text=True)
    # no referrer leaves for another site, and a survey page sends none at all
    assert page.headers["Referrer-Policy"] == "same-origin"
