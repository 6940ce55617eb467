"""Shared helpers of the security tests: sign-in per role, CSRF tokens, every route of the app."""

from __future__ import annotations

import re
from collections.abc import Iterator

from flask import Flask
from werkzeug.routing import Rule

from tests.support import PASSWORD, csrf_token

# The demo accounts (tests/conftest.py): role and branch of each.
ACCOUNTS = {
    "agent": "agent",  # agent at HZ
    "manager": "branch_manager",  # branch manager of HZ
    "manager_nj": "branch_manager",  # branch manager of NJ (another branch)
    "hq": "hq_manager",
    "admin": "admin",
}

# Values for path arguments that are not numeric ids (ids get a number that exists nowhere).
PATH_VALUES = {
    "name": "branches",
    "kind": "responses",
    "table": "trend",
    "fmt": "csv",
    "verb": "start",
    "filename": "css/app.css",
    "token": "not-a-real-token-0000000000000000",
}
MISSING_ID = 987654321


def sign_in(client, username: str) -> None:
    page = client.get("/login")
    assert page.status_code == 200, f"{username}: login page answered {page.status_code}"
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(page.text)},
    )
    assert response.status_code == 302, f"{username} could not sign in: {response.status_code}"


def page_csrf(client) -> str:
    """A CSRF token of the client's session (the sign-out form of every signed-in page)."""
    for path in ("/login", "/staff/", "/manager/", "/admin/users", "/"):
        page = client.get(path)
        if page.status_code == 200 and 'name="csrf_token"' in page.text:
            return csrf_token(page.text)
    raise AssertionError("no page of this session carries a CSRF token")


def rules(app: Flask) -> Iterator[Rule]:
    yield from sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def build_path(rule: Rule) -> str:
    """The rule's URL with ids that exist nowhere and valid values for the other arguments."""
    path = rule.rule
    for match in re.finditer(r"<(?:([\w]+)(?:\(([^)]*)\))?:)?(\w+)>", rule.rule):
        converter, options, name = match.groups()
        if converter == "int":
            value = str(MISSING_ID)
        elif converter == "any":
            value = options.split(",")[0].strip()
        else:
            value = PATH_VALUES.get(name, "x")
        path = path.replace(match.group(0), value, 1)
    return path


def methods(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})
