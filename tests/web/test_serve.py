"""`touchpoint serve` as a person runs it: one process, pages, static files without collectstatic,
the live socket endpoint, the task worker in-process."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
TOUCHPOINT = Path(sys.executable).with_name("touchpoint")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def embedded_env(tmp_path) -> dict:
    """A fresh embedded install: SQLite under its own var/, in-memory channel layer."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["TOUCHPOINT_VAR"] = str(tmp_path / "var")
    subprocess.run([str(TOUCHPOINT), "migrate", "--noinput", "-v", "0"], env=env, check=True, timeout=120)
    return env


@pytest.mark.parametrize("flags", [[], ["--no-worker"]])
def test_serve_runs_the_app_in_one_process(embedded_env, flags):
    port = _free_port()
    process = subprocess.Popen([str(TOUCHPOINT), "serve", "--port", str(port), *flags], env=embedded_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, headers, body = _get(f"{base}/login/")
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "serve did not answer in 30 s"
                time.sleep(0.2)
        assert status == 200 and b"Sign in" in body
        assert "script-src 'self'" in headers["content-security-policy"]
        for asset in ("/static/web/app.css", "/static/web/live.js", "/static/django_htmx/htmx-2.min.js"):
            assert _get(base + asset)[0] == 200, asset  # from the finders: nothing was collected
        assert _get(f"{base}/")[0] == 200  # the login page, after a redirect
        assert _get(f"{base}/ws/agent/")[0] == 404  # sockets only over WebSocket
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    assert "Traceback" not in stderr


def test_serve_with_the_demo_sends_its_mail_to_the_local_outbox(embedded_env):
    """The demo's mailbox is pointed at the sink inside the serve process, and what reaches it is kept."""
    import json
    import smtplib
    import sqlite3
    from email.message import EmailMessage

    subprocess.run([str(TOUCHPOINT), "demo", "--customers", "10", "--conversations", "20"], env=embedded_env,
                   check=True, timeout=300, capture_output=True)
    port = _free_port()
    process = subprocess.Popen([str(TOUCHPOINT), "serve", "--port", str(port)], env=embedded_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    var = Path(embedded_env["TOUCHPOINT_VAR"])
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"http://127.0.0.1:{port}/login/")
                break
            except (urllib.error.URLError, ConnectionError):
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "serve did not answer in 60 s"
                time.sleep(0.2)
        with sqlite3.connect(var / "touchpoint.sqlite3") as db:
            accounts = {kind: json.loads(config) for kind, config in db.execute(
                "SELECT kind, config FROM channel_accounts_channelaccount WHERE is_active")}
        assert set(accounts) >= {"email", "sms", "whatsapp"}
        relay = accounts["email"]["smtp"]
        assert relay["host"] == "127.0.0.1" and relay["security"] == "none"
        assert accounts["sms"]["api_base"].startswith("http://127.0.0.1:")
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = "support@northwind.example", "maria@example.com", "Hello"
        mail.set_content("Kept, not delivered.")
        with smtplib.SMTP("127.0.0.1", relay["port"], timeout=10) as smtp:
            smtp.send_message(mail)
        [kept] = list((var / "outbox").glob("*/*.eml"))
        assert b"Kept, not delivered." in kept.read_bytes()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    assert "Traceback" not in stderr
