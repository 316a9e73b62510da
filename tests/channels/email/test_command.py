"""`touchpoint smtpd` as an operator runs it: its own process on a fresh install, two processes
sharing the port, mail stored before each 250, and a clean stop on SIGTERM."""

import os
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.channels.email.conftest import free_port, mail

pytestmark = pytest.mark.slow
TOUCHPOINT = Path(sys.executable).with_name("touchpoint")
SET_UP = """
from touchpoint.accounts.services import create_workspace
from touchpoint.channels.models import ChannelAccount
workspace, _ = create_workspace(name="Acme", slug="acme", admin_email="a@acme.test", admin_password="admin-pass-1")
ChannelAccount.objects.create(workspace=workspace, kind="email", name="Support", address="support@acme.test")
"""
COUNT = "from touchpoint.conversations.models import Message; print(Message.objects.filter(kind='incoming').count())"


@pytest.fixture
def install(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env["TOUCHPOINT_VAR"] = str(tmp_path / "var")
    for command in (["migrate", "--noinput", "-v", "0"], ["shell", "-c", SET_UP]):
        subprocess.run([str(TOUCHPOINT), *command], env=env, check=True, timeout=120)
    return env


def wait_for(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
                client.noop()
            return
        except OSError:
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "smtpd did not answer in 30 s"
            time.sleep(0.2)


def test_smtpd_process_stores_mail_and_stops_cleanly(install):
    port = free_port()
    process = subprocess.Popen([str(TOUCHPOINT), "smtpd", "--port", str(port), "--processes", "2"], env=install,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(port, process)
        for connection in range(4):  # several connections, so both processes take some
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
                for n in range(5):
                    client.sendmail("maria@example.com", ["support@acme.test"],
                                    mail(message_id=f"<c{connection}.{n}@example.com>", subject=f"Order {n}"))
                client.mail("maria@example.com")
                assert client.rcpt("nobody@acme.test")[0] == 550  # not a mailbox of ours: no open relay
                client.rset()
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "listening on 127.0.0.1" in stdout and "Traceback" not in stderr
    count = subprocess.run([str(TOUCHPOINT), "shell", "-c", COUNT], env=install, capture_output=True, text=True, timeout=60)
    assert count.stdout.split()[-1] == "20"
