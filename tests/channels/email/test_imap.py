"""IMAP polling against a real Dovecot: the test starts its own instance on a free port with a
temporary config (plaintext login on loopback, one passwd-file user, maildir in a temporary folder)."""

import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.channels.email.conftest import free_port, mail
from tests.conftest import skip_or_fail
from touchpoint.channels.email.imap import poll_account, poll_mailboxes
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Conversation, Message

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "imap-pass-1"


def _config(root: Path, port: int) -> str:
    if os.geteuid() == 0:  # as root, Dovecot runs its parts as its own unprivileged users
        login_user, internal_user, mail_user = "dovenull", "dovecot", pwd.getpwnam("nobody")
    else:
        login_user = internal_user = pwd.getpwuid(os.geteuid()).pw_name
        mail_user = pwd.getpwuid(os.geteuid())
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
"""


USERS = [f"desk{n}@acme.test" for n in range(20)]  # a fresh mailbox for each test of the module


@pytest.fixture(scope="module")
def dovecot():
    if not os.path.exists(DOVECOT):
        skip_or_fail("Dovecot is not installed (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="touchpoint-dovecot-"))
    root.chmod(0o755)
    port = free_port()
    for folder in ("run", "state", "mail", "home"):
        (root / folder).mkdir()
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for folder in ("mail", "home"):
            os.chown(root / folder, nobody.pw_uid, nobody.pw_gid)
    (root / "passwd").write_text("".join(f"{user}:{{PLAIN}}{PASSWORD}::::::\n" for user in USERS))
    (root / "dovecot.conf").write_text(_config(root, port))
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while True:
        try:
            imaplib.IMAP4("127.0.0.1", port, timeout=2).logout()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode(errors="replace") if process.poll() is not None else ""
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                process.kill()
                pytest.fail(f"Dovecot did not start: {output} {log}")
            time.sleep(0.1)
    yield port
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(root, ignore_errors=True)


def append(mailbox: ChannelAccount, raw: bytes, folder: str = "INBOX") -> None:
    imap = mailbox.config["imap"]
    client = imaplib.IMAP4("127.0.0.1", imap["port"], timeout=10)
    client.login(imap["username"], PASSWORD)
    quoted = f'"{folder}"'  # imaplib sends arguments as given
    if folder != "INBOX":
        client.create(quoted)
    status, _ = client.append(quoted, None, None, raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    assert status == "OK"
    client.logout()


@pytest.fixture
def mailbox(desk, dovecot):
    user = USERS.pop()
    return ChannelAccount.objects.create(
        workspace_id=desk.id, kind="email", name="Support", address="support@acme.test", secret=PASSWORD,
        config={"imap": {"host": "127.0.0.1", "port": dovecot, "security": "none", "username": user}},
    )


def test_poll_stores_new_mail_once(desk, dovecot, mailbox):
    append(mailbox, mail(message_id="<one@example.com>", subject="Order 1042"))
    append(mailbox, mail(sender="tom@example.com", message_id="<two@example.com>", subject="Broken lamp"))
    result = poll_account(mailbox)
    assert (result.fetched, result.stored, result.error) == (2, 2, "")
    assert Conversation.objects.filter(workspace_id=desk.id).count() == 2
    mailbox.refresh_from_db()
    assert mailbox.config["imap"]["last_uid"] == 2 and mailbox.config["imap"]["uidvalidity"]

    again = poll_account(mailbox)  # nothing new
    assert (again.fetched, again.stored) == (0, 0)

    append(mailbox, mail(message_id="<three@example.com>", subject="Re: Order 1042",
                         headers={"In-Reply-To": "<one@example.com>"}))
    third = poll_account(mailbox)
    assert (third.fetched, third.stored) == (1, 1)
    assert Conversation.objects.filter(workspace_id=desk.id).count() == 2  # the reply joined its thread
    assert Message.objects.filter(workspace_id=desk.id, kind="incoming").count() == 3


def test_a_lost_position_fetches_again_and_doubles_nothing(desk, dovecot, mailbox):
    append(mailbox, mail(message_id="<one@example.com>"))
    append(mailbox, mail(message_id="<one@example.com>"))  # the same mail filed twice
    poll_account(mailbox)
    mailbox.config = {**mailbox.config, "imap": {**mailbox.config["imap"], "last_uid": 0}}
    mailbox.save()
    result = poll_account(mailbox)
    assert (result.fetched, result.stored) == (2, 0)
    assert Message.objects.filter(workspace_id=desk.id, kind="incoming").count() == 1


def test_polling_leaves_the_mail_unread(desk, dovecot, mailbox):
    append(mailbox, mail())
    poll_account(mailbox)
    client = imaplib.IMAP4("127.0.0.1", dovecot, timeout=10)
    client.login(mailbox.config["imap"]["username"], PASSWORD)
    client.select("INBOX", readonly=True)
    assert client.search(None, "UNSEEN")[1][0].split() == [b"1"]
    client.logout()


def test_another_folder(desk, dovecot, mailbox):
    append(mailbox, mail(message_id="<f@example.com>"), folder="Support Queue")
    mailbox.config["imap"]["folder"] = "Support Queue"
    mailbox.save()
    assert poll_account(mailbox).stored == 1


def test_a_wrong_password_is_reported_on_the_account(desk, dovecot, mailbox):
    mailbox.secret = "wrong"
    mailbox.save()
    result = poll_account(mailbox)
    assert result.error and result.stored == 0
    mailbox.refresh_from_db()
    assert mailbox.config["imap"]["last_error"]


def test_the_periodic_job_polls_every_mailbox_and_survives_a_dead_one(desk, other_desk, dovecot, mailbox):
    ChannelAccount.objects.create(workspace_id=other_desk.id, kind="email", name="Down", address="help@globex.test",
                                  config={"imap": {"host": "127.0.0.1", "port": free_port(), "security": "none"}})
    append(mailbox, mail())
    results = {account.address: result for account, result in poll_mailboxes()}
    assert results["support@acme.test"].stored == 1
    assert "cannot connect" in results["help@globex.test"].error
    # The mail went into the mailbox's own workspace only.
    assert not Message.objects.filter(workspace_id=other_desk.id).exists()


def test_a_mail_that_trips_a_fault_is_skipped_not_blocking(desk, dovecot, mailbox, settings):
    append(mailbox, mail(message_id="<first@example.com>"))
    append(mailbox, mail(message_id="<second@example.com>"))
    # A file storage that cannot write: each mail fails inside the ingest, and the poll still goes on.
    working = settings.STORAGES
    settings.STORAGES = {**working, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                "OPTIONS": {"location": "/proc/no-such-place"}}}
    result = poll_account(mailbox)
    assert (result.fetched, result.stored, result.skipped) == (2, 0, 2)
    mailbox.refresh_from_db()
    assert "skipped" in mailbox.config["imap"]["last_error"] and mailbox.config["imap"]["last_uid"] == 2
    # Fixed, the mail is still in the mailbox: fetched again from the start, it is stored.
    settings.STORAGES = working
    mailbox.config["imap"]["last_uid"] = 0
    mailbox.save()
    assert poll_account(mailbox).stored == 2
