"""The production server settings (gunicorn.conf.py) start the app and serve requests."""

from __future__ import annotations

import os
import re
import runpy
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support import TEST_SECRET, upgrade_in_subprocess

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_starts_preloads_the_models_and_serves(tmp_path):
    env = {
        **os.environ,
        "KESHENG_ENV": "production",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
        "REDIS_URL": "",
        "GUNICORN_ACCESS_LOG": "/dev/null",
    }
    upgrade_in_subprocess(env)
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", "1"]
            + ["-b", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        status, deadline = None, time.monotonic() + 60
        while status is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    status = r.status
            except OSError:
                time.sleep(0.3)
        assert status == 200, log.read_text()
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/complaint", timeout=5)
        assert "投诉" in page.read().decode("utf-8")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    text = log.read_text()
    assert "Booting worker" in text and "Traceback" not in text
    assert "Control socket" not in text  # (one per user by default: instances shared it)
    assert "text-analysis models loaded in the master" in text
    # every page template compiled before the fork, none left to a worker's first request
    compiled = re.search(r"templates compiled in the master: (\d+)", text)
    assert compiled is not None and int(compiled.group(1)) >= 40, text


def test_the_access_log_masks_a_survey_token_however_the_path_is_written():
    """/s//<token> (werkzeug answers it with a redirect to /s/<token>) was logged in clear."""
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    token = "L7J2yZm-_z13a1oMVUIB-k9ccA900inN"
    for path in (f"/s/{token}", f"/s//{token}", f"//s/{token}", f"/s/{token}/x?y=1"):
        masked = settings["_TOKEN_PATH"].sub("/s/…", path)
        assert token not in masked and "/s/…" in masked, (path, masked)
