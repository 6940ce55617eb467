"""Every kind of page passes axe-core's WCAG 2 A/AA rules in headless Chromium: customers'
pages on a phone, staff and managers' pages on a desk screen.

What the rules caught when first run (5 Dec): grey hint text and links below the 4.5:1
contrast ratio on the page background, links inside sentences told apart by colour alone, the
dashboards' charts marked as images while holding buttons (Plotly's tool bar), a progress bar
without a name, greyed table rows at 2.3:1.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.conftest import sign_in
from tests.e2e.test_survey_phone import anonymous_link

pytestmark = pytest.mark.e2e

RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}}
STAFF_PAGES = {
    "agent": [
        "/staff/",
        "/staff/complaints",
        "/staff/complaints/new",
        "/staff/followups",
        "/staff/responses",
        "/staff/customers",
        "/account/password",
    ],
    "hq": [
        "/manager/",
        "/manager/dashboards/",
        "/manager/dashboards/branches",
        "/manager/dashboards/products",
        "/manager/dashboards/complaints",
        "/manager/dashboards/handlers",
        "/manager/dashboards/voice",
        "/manager/dashboards/followups",
        "/manager/dashboards/surveys",
        "/manager/dashboards/regulator-report",
        "/manager/dashboards/annual-disclosure",
        "/manager/dashboards/drill/complaints",
        "/manager/improvements",
        "/manager/improvements/overview",
        "/manager/improvements/new",
        "/manager/surveys",
        "/manager/campaigns",
        "/manager/campaigns/new",
        "/manager/triggers",
        "/manager/outbox",
        "/manager/customer-import",
    ],
    "admin": [
        "/admin/users",
        "/admin/branches",
        "/admin/products",
        "/admin/tokens",
        "/admin/audit",
        "/admin/status",
    ],
}
# list pages whose first row opens a record: the record's page is checked too
OPENS_A_RECORD = {
    "/staff/complaints": "table a[href*='/staff/complaints/']",
    "/staff/responses": "table a[href*='/staff/responses/']",
    "/staff/customers": "table a[href*='/staff/customers/']",
    "/staff/followups": "table a",
    "/manager/improvements": "a.im-card",
    "/manager/campaigns": "table a[href*='/manager/campaigns/']",
    "/manager/surveys": "table a[href*='/manager/surveys/']",
}


def violations(page) -> list[str]:
    found = Axe().run(page, options=RULES).response["violations"]
    return [
        f"{page.url} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in found
    ]


def test_customer_pages(live_server, browser, page):
    path = anonymous_link(page, live_server)
    phone = browser.new_context(
        viewport={"width": 375, "height": 740}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    tab = phone.new_page()
    found = []
    try:
        for url in (path, live_server + "/complaint", live_server + "/complaint/progress"):
            tab.goto(url)
            found += violations(tab)
        tab.goto(path)
        tab.locator("form.sv-form button[type=submit]").last.click()  # nothing answered
        tab.wait_for_load_state("domcontentloaded")
        assert tab.locator("#sv-errors").count() == 1
        found += violations(tab)
        tab.goto(live_server + "/complaint")
        tab.locator("main form button[type=submit]").last.click()  # an empty complaint
        tab.wait_for_load_state("domcontentloaded")
        found += violations(tab)
        for url in ("/s/no-such-link-0000000000000000000", "/login"):
            tab.goto(live_server + url)
            found += violations(tab)
    finally:
        phone.close()
    assert found == []


@pytest.mark.parametrize("username", sorted(STAFF_PAGES))
def test_staff_pages(live_server, page, username):
    sign_in(page, live_server, username)
    found = []
    for path in STAFF_PAGES[username]:
        response = page.goto(live_server + path)
        assert response is not None and response.status == 200, path
        found += violations(page)
        record = OPENS_A_RECORD.get(path)
        if record:
            page.locator(record).first.click()
            page.wait_for_load_state("domcontentloaded")
            found += violations(page)
    assert found == []
