"""A stand-in for Twilio's Messages API on this machine, for a workspace whose texts must reach
nobody (the demo). It speaks Twilio's wire format both ways, so the real delivery path runs
unchanged: it takes the REST call Twilio's own client makes (basic auth with the account SID and
auth token, a form-encoded POST to /2010-04-01/Accounts/{AccountSid}/Messages.json), answers 201
with a Message resource or Twilio's error JSON, keeps each text in a folder, and then reports
"sent", "delivered" (and "read" on WhatsApp) to the message's StatusCallback, signed with
X-Twilio-Signature as Twilio signs them."""

import base64
import hmac
import json
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.error import URLError
from urllib.parse import parse_qs, urlencode
from urllib.request import Request, urlopen

import phonenumbers

from touchpoint.channels.email.sink import stamped_name, write_private
from touchpoint.channels.messaging.twilio import WHATSAPP_PREFIX, signature

log = logging.getLogger(__name__)
API_VERSION = "2010-04-01"
# When each status is reported, in seconds after the message was accepted: after the sender has had
# time to store the SID it was given, which is how it recognises the reports.
REPORTS = (("sent", 1.0), ("delivered", 2.0))
WHATSAPP_REPORTS = (*REPORTS, ("read", 4.0))

# The auth tokens of an account SID (none: unknown account).
TokenLookup = Callable[[str], list[str]]


class FakeTwilio:
    def __init__(self, tokens: TokenLookup, directory: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.tokens = tokens
        self.directory = directory
        self.server = ThreadingHTTPServer((host, port), _handler(self))
        self.server.daemon_threads = True
        self.base_url = f"http://{host}:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="fake-twilio", daemon=True)

    def start(self) -> "FakeTwilio":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ---- the Messages call ---------------------------------------------------------------------

    def create_message(self, path: str, authorization: str, fields: dict[str, str]) -> tuple[int, dict]:
        parts = path.split("?")[0].split("/")  # /2010-04-01/Accounts/{AccountSid}/Messages.json
        if len(parts) != 5 or parts[1:3] != [API_VERSION, "Accounts"] or parts[4] != "Messages.json":
            return 404, error(20404, f"The requested resource {path} was not found", 404)
        account_sid, token = _basic(authorization)
        if account_sid != parts[3] or not any(hmac.compare_digest(token, known) for known in self.tokens(account_sid)):
            return 401, error(20003, "Authenticate", 401)
        to, sender, body = fields.get("To", ""), fields.get("From", ""), fields.get("Body", "")
        if not to:
            return 400, error(21604, "A 'To' phone number is required.", 400)
        if not sender:
            return 400, error(21603, "A 'From' phone number is required.", 400)
        if not body.strip():
            return 400, error(21602, "Message body is required.", 400)
        if not _valid_number(to):
            return 400, error(21211, f"The 'To' number {to} is not a valid phone number.", 400)
        if to.startswith(WHATSAPP_PREFIX) != sender.startswith(WHATSAPP_PREFIX):
            return 400, error(63007, "Twilio could not find a Channel with the specified From address", 400)
        message = message_resource(account_sid, fields)
        self._keep(message)
        if fields.get("StatusCallback"):
            reports = WHATSAPP_REPORTS if to.startswith(WHATSAPP_PREFIX) else REPORTS
            for status, delay in reports:
                timer = threading.Timer(delay, self._report, (fields["StatusCallback"], token, message, status))
                timer.daemon = True
                timer.start()
        return 201, message

    def _keep(self, message: dict) -> None:
        whatsapp = message["to"].startswith(WHATSAPP_PREFIX)
        text = {"channel": "whatsapp" if whatsapp else "sms", "sid": message["sid"],
                "from": message["from"].removeprefix(WHATSAPP_PREFIX), "to": message["to"].removeprefix(WHATSAPP_PREFIX),
                "body": message["body"], "at": datetime.now(UTC).isoformat()}
        path = write_private(self.directory, stamped_name(".json"), json.dumps(text).encode())
        log.info("Outbox: %s from %s to %s kept as %s", text["channel"], text["from"], text["to"], path.name)

    def _report(self, url: str, token: str, message: dict, status: str) -> None:
        """A status callback with the parameters Twilio sends, signed with the account's auth token."""
        params = {"AccountSid": message["account_sid"], "ApiVersion": API_VERSION, "From": message["from"],
                  "To": message["to"], "MessageSid": message["sid"], "SmsSid": message["sid"],
                  "MessageStatus": status, "SmsStatus": status}
        request = Request(url, data=urlencode(params).encode(), method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "TwilioProxy/1.1",
            "X-Twilio-Signature": signature(token, url, params.items()),
        })
        try:
            with urlopen(request, timeout=10):
                pass
        except (URLError, OSError) as problem:
            log.warning("The status callback %s for %s (%s) failed: %s", url, message["sid"], status, problem)


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
            length = min(int(self.headers.get("Content-Length") or 0), 1024 * 1024)
            raw = self.rfile.read(length).decode("utf-8", "replace")
            fields = {name: values[0] for name, values in parse_qs(raw, keep_blank_values=True).items()}
            try:
                status, body = fake.create_message(self.path, self.headers.get("Authorization", ""), fields)
            except Exception:
                log.exception("the fake Twilio failed on %s", self.path)
                status, body = 500, error(20500, "Internal Server Error", 500)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass  # each text is logged once, by _keep

    return Handler


def _basic(authorization: str) -> tuple[str, str]:
    if not authorization.startswith("Basic "):
        return "", ""
    try:
        sid, _, token = base64.b64decode(authorization[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return "", ""
    return sid, token


def _valid_number(address: str) -> bool:
    """A number the desk itself would accept (possible, in E.164); Twilio's own check also knows which
    ranges are in service, which a stand-in cannot."""
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(address.removeprefix(WHATSAPP_PREFIX), None))
    except phonenumbers.NumberParseException:
        return False


def error(code: int, message: str, status: int) -> dict:
    """Twilio's error body."""
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


def message_resource(account_sid: str, fields: dict[str, str]) -> dict:
    """The Message resource Twilio answers a create with."""
    sid = "SM" + secrets.token_hex(16)
    stamp = format_datetime(datetime.now(UTC), usegmt=False)
    return {
        "account_sid": account_sid, "api_version": API_VERSION, "body": fields["Body"], "date_created": stamp,
        "date_sent": None, "date_updated": stamp, "direction": "outbound-api", "error_code": None,
        "error_message": None, "from": fields["From"], "messaging_service_sid": None, "num_media": "0",
        "num_segments": str(max(1, -(-len(fields["Body"]) // 153))), "price": None, "price_unit": "USD", "sid": sid,
        "status": "queued", "to": fields["To"],
        "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}/Media.json"},
        "uri": f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json",
    }
