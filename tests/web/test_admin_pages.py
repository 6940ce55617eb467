"""The administrator's pages: API tokens."""

from __future__ import annotations

import re

from tests.support import csrf_token


def _name_field(html: str) -> str:
    match = re.search(r'<input[^>]*name="name"[^>]*>', html)
    assert match, "the page has no token name field"
    return match.group(0)


def test_the_token_form_is_empty_again_after_a_token_is_created(client, auth):
    auth.login("admin")
    page = client.get("/admin/tokens").get_data(as_text=True)
    response = client.post(
        "/admin/tokens",
        data={"csrf_token": csrf_token(page), "name": "核心系统", "scopes": ["complaints:write"]},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "令牌“核心系统”已创建" in html
    assert 'value="核心系统"' not in _name_field(html)  # ready for the next token
    scope_box = re.search(r'<input[^>]*value="complaints:write"[^>]*>', html).group(0)
    assert "checked" not in scope_box


def test_a_refused_token_keeps_what_was_typed(client, auth):
    auth.login("admin")
    page = client.get("/admin/tokens").get_data(as_text=True)
    response = client.post(
        "/admin/tokens", data={"csrf_token": csrf_token(page), "name": "x" * 101}
    )
    assert response.status_code == 400
    assert 'value="' + "x" * 101 + '"' in _name_field(response.get_data(as_text=True))


def test_token_status_and_dates_do_not_wrap(client, auth):
    auth.login("admin")
    page = client.get("/admin/tokens").get_data(as_text=True)
    client.post("/admin/tokens", data={"csrf_token": csrf_token(page), "name": "手机银行"})
    html = client.get("/admin/tokens").get_data(as_text=True)
    assert '<td class="nowrap">有效</td>' in html
