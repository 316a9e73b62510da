"""Fetching mail from an IMAP mailbox (a Gmail or Microsoft 365 inbox the team already uses).

The account's config["imap"] says where: host, port, security ("ssl", "starttls" or "none"),
username, folder (default INBOX); the password is the account's secret. The mailbox is opened
read-only and mail is fetched with BODY.PEEK, so polling changes nothing a person sees in their mail
client. Progress is the highest UID taken (kept in config["imap"]["last_uid"] with the folder's
UIDVALIDITY); a fetch that fails half way, two workers polling at once, or a folder renumbered by
the server fetch some mail again, and the Message-ID makes sure it is stored once.
"""

import imaplib
import logging
import ssl
from dataclasses import dataclass

from django.db import transaction

from touchpoint.channels.email.inbound import TRANSIENT_ERRORS, ingest_mime
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Channel
from touchpoint.core.clock import now

log = logging.getLogger(__name__)
MAX_PER_POLL = 500  # a mailbox with years of mail is taken in steps, not in one long poll
TIMEOUT_S = 30


@dataclass
class PollResult:
    fetched: int = 0
    stored: int = 0
    skipped: int = 0  # mail that tripped a fault of ours: logged, left in the mailbox
    error: str = ""

    def __str__(self) -> str:
        done = f"{self.fetched} fetched, {self.stored} new" + (f", {self.skipped} skipped" if self.skipped else "")
        return f"{done}; stopped: {self.error}" if self.error else done


def poll_mailboxes() -> list[tuple[ChannelAccount, PollResult]]:
    """Poll every active email account that has an IMAP mailbox. One failing mailbox stops no other."""
    accounts = ChannelAccount.objects.filter(kind=Channel.EMAIL, is_active=True).select_related("workspace")
    return [(account, poll_account(account)) for account in accounts if (account.config or {}).get("imap", {}).get("host")]


def poll_account(account: ChannelAccount) -> PollResult:
    result = PollResult()
    mailbox = account.config["imap"]
    try:
        client = _connect(mailbox)
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as error:
        return _failed(account, result, f"cannot connect to {mailbox.get('host')}: {error}")
    try:
        client.login(mailbox.get("username", ""), account.secret)
        _fetch_new(client, account, mailbox, result)
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as error:
        return _failed(account, result, str(error) or error.__class__.__name__)
    except TRANSIENT_ERRORS as error:
        result.error = f"database busy, the rest waits for the next poll: {error}"
    finally:
        try:
            client.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
    if not (result.error or result.skipped):
        _remember(account, last_error="")
    return result


def _connect(mailbox: dict) -> imaplib.IMAP4:
    host, security = mailbox["host"], mailbox.get("security", "ssl")
    if security == "ssl":
        return imaplib.IMAP4_SSL(host, int(mailbox.get("port") or 993), ssl_context=ssl.create_default_context(),
                                 timeout=TIMEOUT_S)
    client = imaplib.IMAP4(host, int(mailbox.get("port") or 143), timeout=TIMEOUT_S)
    if security == "starttls":
        client.starttls(ssl_context=ssl.create_default_context())
    return client


def _fetch_new(client: imaplib.IMAP4, account: ChannelAccount, mailbox: dict, result: PollResult) -> None:
    folder = mailbox.get("folder") or "INBOX"
    status, _ = client.select(_quote(folder), readonly=True)
    if status != "OK":
        raise imaplib.IMAP4.error(f"cannot open folder {folder!r}")
    uidvalidity = int((client.response("UIDVALIDITY")[1] or [b"0"])[0] or 0)
    last_uid = int(mailbox.get("last_uid") or 0) if int(mailbox.get("uidvalidity") or 0) == uidvalidity else 0
    status, data = client.uid("SEARCH", None, f"UID {last_uid + 1}:*")
    # "n:*" always names the highest message, even when it is older than n.
    uids = sorted(int(uid) for uid in (data[0] or b"").split() if int(uid) > last_uid)[:MAX_PER_POLL]
    for uid in uids:
        raw = _fetch(client, uid)
        result.fetched += 1
        if raw is not None:
            _ingest(raw, account, uid, result)
        _remember(account, uidvalidity=uidvalidity, last_uid=uid)


def _ingest(raw: bytes, account: ChannelAccount, uid: int, result: PollResult) -> None:
    """A mail that trips a fault of ours is logged and passed over (it stays in the mailbox) rather
    than holding back every mail behind it; a busy database stops the poll (TRANSIENT_ERRORS)."""
    try:
        result.stored += ingest_mime(raw, None, account).outcome != "duplicate"
    except TRANSIENT_ERRORS:
        raise
    except Exception:
        log.exception("IMAP message %s of %s could not be stored; skipped", uid, account.address)
        result.skipped += 1
        _remember(account, last_error=f"message UID {uid} could not be stored (see the log); it was skipped")


def _fetch(client: imaplib.IMAP4, uid: int) -> bytes | None:
    status, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if status != "OK":
        raise imaplib.IMAP4.error(f"cannot fetch message {uid}")
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    return None  # deleted between SEARCH and FETCH


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _failed(account: ChannelAccount, result: PollResult, error: str) -> PollResult:
    log.warning("IMAP poll of %s failed: %s", account.address, error)
    result.error = error[:300]
    _remember(account, last_error=result.error)
    return result


@transaction.atomic
def _remember(account: ChannelAccount, **state) -> None:
    """Merge poll state into config["imap"]; last_uid only moves forward for the same UIDVALIDITY."""
    locked = ChannelAccount.objects.select_for_update().get(pk=account.pk)
    imap = dict(locked.config.get("imap", {}))
    if "last_uid" in state and imap.get("uidvalidity") == state["uidvalidity"]:
        state["last_uid"] = max(state["last_uid"], int(imap.get("last_uid") or 0))
    imap.update(state, polled_at=now().isoformat())
    locked.config = {**locked.config, "imap": imap}
    locked.save(update_fields=["config"])
    account.config = locked.config
