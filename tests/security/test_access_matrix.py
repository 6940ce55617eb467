"""Access control over EVERY route of the app × every kind of caller.

The routes are collected from ``app.url_map``: a new route that is not classified below makes
``test_every_route_is_classified`` fail, so nothing is added without deciding who may use it.
Ids in the URLs exist nowhere, so an allowed caller gets past the role gate (404 or a form error)
while a refused one is stopped at the gate (403, or the sign-in page for anonymous callers).
"""

from __future__ import annotations

import pytest

from app.models import Role
from app.web.api.registry import ENDPOINTS
from tests import factories
from tests.security.helpers import build_path, methods, page_csrf, rules, sign_in

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed-in"  # any signed-in staff member
STAFF = frozenset({"agent", "manager", "manager_nj", "hq"})
MANAGERS = frozenset({"manager", "manager_nj", "hq"})
HQ = frozenset({"hq"})
ADMIN = frozenset({"admin"})

WEB_ACCESS: dict[str, object] = {
    "static": PUBLIC,
    "vendor_asset": PUBLIC,
    "favicon": PUBLIC,
    "public.index": PUBLIC,
    "public.healthz": PUBLIC,
    "public.complaint_form": PUBLIC,
    "public.complaint_progress_page": PUBLIC,
    "public.survey_link": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": SIGNED_IN,
    "auth.change_password": SIGNED_IN,
    "auth.keepalive": SIGNED_IN,
    "api.openapi_json": PUBLIC,
    "admin.audit_log": ADMIN | HQ,
    "admin.branches": ADMIN,
    "admin.branch_edit": ADMIN,
    "admin.branch_move": ADMIN,
    "admin.branch_active": ADMIN,
    "admin.products": ADMIN,
    "admin.org_upload": ADMIN,
    "admin.org_template": ADMIN,
    "admin.users_import": ADMIN,
    "admin.users_template": ADMIN,
    "admin.product_edit": ADMIN,
    "admin.product_active": ADMIN,
    "admin.audit_export": ADMIN | HQ,
    "admin.status": ADMIN,
    "admin.tokens": ADMIN,
    "admin.token_revoke": ADMIN,
    "admin.users": ADMIN,
    "admin.user_active": ADMIN,
    "admin.user_edit": ADMIN,
    "admin.user_password": ADMIN,
    "staff.home": STAFF,
    "staff.correct_analysis": STAFF,
    "staff.complaint_queue": STAFF,
    "staff.complaint_ledger_export": MANAGERS,
    "staff.complaint_detail": STAFF,
    "staff.complaint_action": STAFF,
    "staff.complaint_attachment": STAFF,
    "staff.complaint_reveal": STAFF,
    "staff.complaint_letter": STAFF,
    "staff.complaint_new": STAFF,
    "staff.customers": STAFF,
    "staff.customer_detail": STAFF,
    "staff.customer_opt_out": STAFF,
    "staff.followups_queue": STAFF,
    "staff.followup_detail": STAFF,
    "staff.followup_answers": STAFF,
    "staff.followup_attempt": STAFF,
    "staff.followup_phone": STAFF,
    "staff.responses_list": STAFF,
    "staff.response_detail": STAFF,
    "staff.response_to_complaint": STAFF,
    "staff.responses_export": STAFF,
    "manager.home": MANAGERS,
    "manager.dashboards": MANAGERS,
    "manager.dashboard_export": MANAGERS,
    "manager.dashboard_drill": MANAGERS,
    "manager.regulator_report_page": MANAGERS,
    "manager.annual_disclosure_page": MANAGERS,
    "manager.topic_names_page": MANAGERS,
    "manager.topic_names_save": HQ,
    "manager.improvements_board": MANAGERS,
    "manager.improvements_overview": MANAGERS,
    "manager.improvement_detail": MANAGERS,
    "manager.improvement_new": MANAGERS,
    "manager.improvement_edit": MANAGERS,
    "manager.improvement_action_add": MANAGERS,
    "manager.improvement_action_change": MANAGERS,
    "manager.improvement_action_edit": MANAGERS,
    "manager.improvement_action_cancel": MANAGERS,
    "manager.improvement_attachment": MANAGERS,
    "manager.improvement_cases": MANAGERS,
    "manager.improvement_cases_link": MANAGERS,
    "manager.improvement_close": MANAGERS,
    "manager.improvement_unlink": MANAGERS,
    "manager.improvement_override": MANAGERS,
    "manager.improvement_link_case": STAFF,
    "manager.surveys_list": HQ,
    "manager.survey_edit": HQ,
    "manager.survey_action": HQ,
    "manager.survey_preview": HQ,
    "manager.survey_definition_data": HQ,
    "manager.survey_definition_text": HQ,
    "manager.campaigns_list": HQ,
    "manager.campaign_new": HQ,
    "manager.campaign_detail": HQ,
    "manager.campaign_qr": HQ,
    "manager.campaign_action": HQ,
    "manager.customer_import": HQ,
    "manager.customer_import_template": HQ,
    "manager.triggers": HQ,
    "manager.trigger_toggle": HQ,
    "manager.trigger_delete": HQ,
    "manager.outbox": HQ,
}

# API endpoint -> the scopes of which a token needs one.
API_SCOPES: dict[str, tuple[str, ...]] = {
    "api.list_branches": (),
    "api.list_products": (),
    "api.list_surveys": (),
    "api.get_survey_version": (),
    "api.create_complaint": ("complaints:write",),
    "api.get_complaint": ("complaints:read",),
    "api.put_customer": ("customers:write",),
    "api.get_customer": ("customers:read",),
    "api.post_event": ("events:write",),
    "api.create_invitation": ("invitations:write",),
    "api.get_invitation": ("invitations:write", "responses:read"),
    "api.satisfaction": ("metrics:read",),
    "api.list_responses": ("responses:read",),
}

ALL_SCOPES = (
    "complaints:write,complaints:read,invitations:write,events:write,responses:read,"
    "metrics:read,customers:read,customers:write"
)
CALLERS = ["anonymous", "agent", "manager", "manager_nj", "hq", "admin"]
PASSED_GATE = {200, 201, 204, 302, 400, 404, 405, 409, 410, 422}


def _web_rules(app):
    """Classified web routes (an unclassified one fails test_every_route_is_classified)."""
    return [r for r in rules(app) if not r.rule.startswith("/api/v1/") and r.endpoint in WEB_ACCESS]


def test_every_route_is_classified(app):
    unclassified = [
        r.endpoint
        for r in rules(app)
        if r.endpoint not in WEB_ACCESS and r.endpoint not in API_SCOPES
    ]
    assert not unclassified, f"classify these routes in tests/security: {unclassified}"
    stale = set(WEB_ACCESS) | set(API_SCOPES)
    stale -= {r.endpoint for r in rules(app)}
    assert not stale, f"routes classified but gone: {sorted(stale)}"


def test_api_declarations_match_the_table(app):
    declared = {f"api.{_view_name(app, e)}": e.scope for e in ENDPOINTS}
    for endpoint, scope in declared.items():
        names = () if scope is None else ((scope,) if isinstance(scope, str) else scope)
        assert set(names) == set(API_SCOPES[endpoint]), endpoint


def _view_name(app, e) -> str:
    for rule in app.url_map.iter_rules():
        if rule.rule.endswith(e.rule) and e.method.upper() in rule.methods:
            return rule.endpoint.removeprefix("api.")
    raise AssertionError(e.rule)


@pytest.mark.parametrize("caller", CALLERS)
def test_web_routes_by_caller(app, client, caller):
    if caller != "anonymous":
        sign_in(client, caller)
    token = page_csrf(client)
    failures = []
    for rule in _web_rules(app):
        allowed = WEB_ACCESS[rule.endpoint]
        for method in methods(rule):
            path = build_path(rule)
            if rule.endpoint == "auth.logout":
                continue  # signing out ends the session the loop relies on; see test below
            data = {"csrf_token": token} if method == "POST" else None
            response = client.open(path, method=method, data=data)
            status = response.status_code
            response.close()
            expected = _expected(allowed, caller)
            if expected == "login":
                ok = status == 302 and "/login" in response.headers["Location"]
            elif expected == "refused":
                ok = status == 403
            else:
                ok = status in PASSED_GATE
            if not ok:
                failures.append(f"{method} {path}: {status} (expected {expected})")
    assert not failures, "\n".join(failures)


def _expected(allowed, caller: str) -> str:
    if allowed == PUBLIC:
        return "pass"
    if caller == "anonymous":
        return "login"
    if allowed == SIGNED_IN or caller in allowed:
        return "pass"
    return "refused"


def test_logout_needs_a_signed_in_user(client):
    token = page_csrf(client)
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_staff_pages_ignore_api_tokens(app, client, db_session):
    _, secret = factories.api_token(ALL_SCOPES)
    headers = {"Authorization": f"Bearer {secret}"}
    for rule in _web_rules(app):
        if WEB_ACCESS[rule.endpoint] == PUBLIC or "GET" not in rule.methods:
            continue
        response = client.get(build_path(rule), headers=headers)
        assert response.status_code == 302, rule.rule
        assert "/login" in response.headers["Location"]


def _api_rules(app):
    return [r for r in rules(app) if r.rule.startswith("/api/v1/")]


def _call(client, rule, method, headers):
    kwargs = {"json": {}} if method in ("POST", "PUT") else {}
    return client.open(build_path(rule), method=method, headers=headers, **kwargs)


def test_api_without_a_token_or_with_a_wrong_one_is_401(app, client, auth):
    auth.login("hq")  # a staff session is no API credential
    for rule in _api_rules(app):
        for method in methods(rule):
            for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": "x"}):
                response = _call(client, rule, method, headers)
                assert response.status_code == 401, f"{method} {rule.rule} {headers}"
                assert response.json["error"]["code"] == "unauthorized"


def test_api_scopes(app, client, db_session):
    every = ALL_SCOPES.split(",")
    for rule in _api_rules(app):
        needed = API_SCOPES[rule.endpoint]
        for method in methods(rule):
            if needed:
                others = ",".join(s for s in every if s not in needed)
                _, secret = factories.api_token(others)
                response = _call(client, rule, method, {"Authorization": f"Bearer {secret}"})
                assert response.status_code == 403, f"{method} {rule.rule} without scope"
                assert response.json["error"]["code"] == "insufficient_scope"
            for scope in needed or every[:1]:
                _, secret = factories.api_token(scope)
                response = _call(client, rule, method, {"Authorization": f"Bearer {secret}"})
                assert response.status_code in PASSED_GATE, (
                    f"{method} {rule.rule} with {scope}: {response.status_code}"
                )


def test_revoked_token_is_refused(client, db_session):
    from app.services import tokens

    token, secret = factories.api_token("responses:read")
    tokens.revoke_token(token.id, actor=factories.user(Role.ADMIN, None))
    response = client.get("/api/v1/responses", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
