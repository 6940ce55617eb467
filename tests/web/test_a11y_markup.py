"""What screen-reader and keyboard users need in the markup (from an accessibility audit):
named grid rows and text answers on the survey, an announced error summary on the progress
lookup, a skip link on staff pages, named table headers."""

from __future__ import annotations

import re

from tests import factories
from tests.support import csrf_token


def test_each_grid_row_and_text_answer_of_a_survey_is_named(client):
    """The five rows of 请您对以下方面进行评价 were read out alike (1 非常不满意 … 5 非常满意): each
    radiogroup is now named by its row; a text box by its question, not its placeholder."""
    token, _ = factories.survey_link("A11Y1")
    html = client.get(f"/s/{token}").get_data(as_text=True)
    rows = re.findall(r'<p class="sv-matrix-label" id="(qr-[^"]+)">([^<]+)</p>', html)
    assert len(rows) >= 3
    for row_id, _label in rows:
        assert f'role="radiogroup" aria-labelledby="{row_id}"' in html
    boxes = re.findall(r'<textarea name="q_([a-z_0-9]+)"[^>]*aria-labelledby="qt-\1"', html)
    assert boxes and all(f'id="qt-{q}"' in html for q in boxes)


def test_the_progress_lookup_announces_what_to_fix(client):
    """A refused lookup came back with the focus nowhere and nothing announced."""
    page = client.get("/complaint/progress").get_data(as_text=True)
    refused = client.post(
        "/complaint/progress",
        data={"csrf_token": csrf_token(page), "reference": "", "phone": "12"},
    ).get_data(as_text=True)
    summary = re.search(
        r'<div class="flash flash-error pc-summary" id="pc-errors" role="alert" '
        r'tabindex="-1">(.*?)</div>',
        refused,
        re.S,
    )
    assert summary and "查询未成功，请修改以下 2 项" in summary[1]
    assert '<a href="#reference">投诉编号：请填写投诉编号</a>' in summary[1]
    assert "js/complaint_form.js" in refused  # (which focuses the summary)
    assert 'placeholder="TS20261201-000123"' not in refused  # (the example is in the hint)


def test_staff_pages_start_with_a_skip_link_and_name_every_column(client, auth):
    auth.login("admin")
    html = client.get("/admin/users").get_data(as_text=True)
    assert html.index('<a class="skip-link" href="#main">跳到主要内容</a>') < html.index("<header")
    assert '<main id="main" tabindex="-1"' in html
    assert "<th></th>" not in html
    login = client.get("/login").get_data(as_text=True)
    assert "<h1" in login
