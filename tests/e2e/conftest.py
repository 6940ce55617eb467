"""End-to-end fixtures: a live Kesheng server on its own SQLite database, and headless Chromium.

The server is a real subprocess (migrated and seeded through the CLI, as the README does), so
these tests see what a user sees. Chromium is Debian's; Playwright only drives it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _flask(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("live")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'live.db'}",
        "SECRET_KEY": TEST_SECRET,
        "PUBLIC_BASE_URL": "http://127.0.0.1",
    }
    env.pop("REDIS_URL", None)
    env.pop("CELERY_BROKER_URL", None)
    _flask(env, "db", "upgrade")
    _flask(env, "demo", "seed", "--customers", "80", "--responses", "400")
    port = _free_port()
    log = open(workdir / "server.log", "wb")  # noqa: SIM115  (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("live server did not start: " + (workdir / "server.log").read_text())
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("KESHENG_REQUIRE_E2E") == "1":
            pytest.fail("Chromium is required (KESHENG_REQUIRE_E2E=1) but is not installed")
        pytest.skip("browser tests skipped: Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, base: str, username: str, password: str = "Kesheng@2026") -> None:
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("domcontentloaded")


def new_survey_draft(page, base: str, code: str, template: str = "branch-service") -> None:
    """HQ signs in and makes a draft from a template; the page is left on its designer."""
    sign_in(page, base, "hq")
    page.goto(base + "/manager/surveys")
    page.select_option("#template", template)
    page.fill("#code", code)
    page.click("form:has(#template) button[type=submit]")
    page.wait_for_load_state("domcontentloaded")


@contextmanager
def on_phone(browser, width: int, height: int) -> Iterator:
    """A page in a phone's browser (touch, Chinese), closed afterwards."""
    phone = browser.new_context(
        viewport={"width": width, "height": height}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    try:
        yield phone.new_page()
    finally:
        phone.close()
