"""Health check, error pages, vendor assets."""

from __future__ import annotations

from tests.support import make_app


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_compares_with_the_migrations_read_when_the_app_was_made(app, monkeypatch):
    """Read at the first /healthz, a worker forked after a release's new migration files were
    unpacked (the old code still running) reported 503 not_upgraded; gunicorn's master now reads
    them with the app, and its workers inherit that."""
    from app.services import system_status

    system_status._migrations.cache_clear()
    made = make_app(app.config["SQLALCHEMY_DATABASE_URI"])

    def unpacked_later(*args, **kwargs):
        raise AssertionError("the migrations were read after the app was made")

    monkeypatch.setattr(system_status, "ScriptDirectory", unpacked_later)
    response = made.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json()["database"] == "ok"


def test_healthz_with_the_database_down_is_503(app):
    # A server that refuses connections: nothing listens on port 1.
    down = make_app(
        "postgresql+psycopg://postgres@127.0.0.1:1/none",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}},
    )
    response = down.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_pages_with_the_database_down_are_503_in_chinese(app):
    down = make_app("postgresql+psycopg://postgres@127.0.0.1:1/none")
    client = down.test_client()
    page = client.get("/login", data={})
    assert page.status_code == 200  # the sign-in form needs no database
    api = client.get("/api/v1/branches", headers={"Authorization": "Bearer ks_x"})
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "unavailable"


def test_friendly_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "页面不存在" in response.get_data(as_text=True)


def test_a_customers_404_page_offers_a_way_on(app, client, auth, monkeypatch):
    """A mistyped link from an SMS ended at 页面不存在 and nothing else: now the complaint
    form, the progress lookup and the hotline, a number a phone dials when tapped."""
    page = client.get("/complaint/no-such-page").get_data(as_text=True)
    assert '<a href="/complaint">在线提交投诉或建议</a>' in page
    assert '<a href="/complaint/progress">查询处理进度</a>' in page
    assert "tel:" not in page  # (no hotline configured)
    monkeypatch.setitem(app.config, "BANK_HOTLINE", "400-888-0000")
    page = client.get("/no/such/page").get_data(as_text=True)
    tel = '<a href="tel:4008880000" style="white-space: nowrap">400-888-0000</a>'
    assert f"如需帮助，请拨打客服热线 {tel}。" in page
    auth.login("agent")  # staff get their own page: back to their start page
    staff = client.get("/no/such/page").get_data(as_text=True)
    assert "在线提交投诉或建议" not in staff and "tel:" not in staff


def test_landing_page_in_chinese(client):
    page = client.get("/").get_data(as_text=True)
    assert "客户之声平台" in page and "员工登录" in page


def test_the_landing_page_sends_signed_in_staff_to_their_start_page(client, auth):
    for user, start in (("agent", "/staff/"), ("manager", "/manager/"), ("admin", "/admin/")):
        auth.login(user)
        response = client.get("/")
        assert response.status_code == 302
        assert response.headers["Location"].startswith(start), (user, response.headers["Location"])
        auth.logout()


def test_plotly_is_served_locally(client):
    with client.get("/vendor/plotly.min.js") as response:
        assert response.status_code == 200 and len(response.data) > 1_000_000
    assert client.get("/vendor/../../etc/passwd").status_code == 404
    # pages name it with plotly's version: an upgrade is a new address, not a week-old copy
    import importlib.metadata

    version = importlib.metadata.version("plotly")
    vendor_url = client.application.jinja_env.globals["vendor_url"]
    with client.application.test_request_context():
        assert vendor_url("plotly.min.js") == f"/vendor/plotly.min.js?v={version}"
    assert client.get("/vendor/evil.js").status_code == 404


def test_pages_reference_no_outside_assets(client, auth):
    auth.login("manager")
    for path in ("/login", "/", "/manager/", "/staff/customers"):
        html = client.get(path).get_data(as_text=True)
        assert "http://" not in html.replace("http://127.0.0.1", "")
        assert "https://" not in html


def test_built_in_form_messages_are_chinese(app):
    from app.web.public.complaints import PublicComplaintForm

    with app.test_request_context(method="POST", data={"branch_code": "NOPE"}):
        form = PublicComplaintForm(meta={"csrf": False})
        form.branch_code.choices = [("", "—")]
        form.validate()
        assert form.branch_code.errors == ["不是有效的选择。"]


def test_the_icon_is_served_not_a_404(client):
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
        assert b"<svg" in icon.get_data()


def test_customer_pages_name_the_configured_bank_and_hotline(app, client, monkeypatch):
    page = client.get("/complaint").get_data(as_text=True)
    assert "客声银行" in page and "热线" not in page  # no made-up number by default
    monkeypatch.setitem(app.config, "BANK_NAME", "示例农商银行")
    monkeypatch.setitem(app.config, "BANK_HOTLINE", "400-888-0000")
    page = client.get("/complaint").get_data(as_text=True)
    assert "示例农商银行" in page and "拨打客服热线 400-888-0000" in page


def test_error_pages_customers_reach_carry_the_bank_not_the_staff_landing_page(
    app, client, auth, monkeypatch
):
    for path in ("/s/not-a-link/extra", "/complaint?x=1"):  # an unknown address; a stale form
        resp = client.post(path) if path.startswith("/complaint") else client.get(path)
        page = resp.get_data(as_text=True)
        assert resp.status_code in (400, 404)
        assert 'href="/"' not in page and "倾听客户" not in page and "客声银行" in page
        assert 'class="error-code"' not in page  # no bare "404" or "400" for a customer
    monkeypatch.setitem(app.config, "BANK_HOME_URL", "https://www.bank.example")
    page = client.get("/s/not-a-link/extra").get_data(as_text=True)
    assert 'href="https://www.bank.example">返回客声银行首页' in page
    auth.login("manager")  # staff keep their own pages and their way home
    page = client.get("/manager/no-such-page").get_data(as_text=True)
    assert 'href="/">返回首页' in page and "倾听客户" in page
    assert '<div class="error-code">404</div>' in page


def test_survey_pages_name_the_bank_in_their_footer(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "BANK_HOTLINE", "400-888-0000")
    page = client.get("/s/no-such-token").get_data(as_text=True)
    assert "客声银行 · 客户服务热线 400-888-0000</footer>" in page and "倾听客户" not in page
