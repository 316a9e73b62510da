"""A Twilio number for the desk, Twilio-shaped webhooks signed by the vendor's own RequestValidator,
and a fake Twilio REST API on 127.0.0.1 that answers like the real one."""

import base64
import json
import secrets
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode

import pytest
from twilio.request_validator import RequestValidator

from touchpoint.channels.messaging.adapter import register_adapters
from touchpoint.channels.models import ChannelAccount

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32
SMS_NUMBER = "+14155550100"
WHATSAPP_NUMBER = "+14155550101"
CUSTOMER = "+14155552671"
INVALID_NUMBER = "+15005550001"  # Twilio's magic test number: "not a valid phone number"


@pytest.fixture(autouse=True)
def _twilio_adapters():
    # Other tests swap the SMS adapter for a fake one; these test the real ones.
    register_adapters()


def new_sid(prefix: str = "SM") -> str:
    return prefix + uuid.uuid4().hex


@pytest.fixture
def sms_account(desk) -> ChannelAccount:
    return ChannelAccount.objects.create(workspace_id=desk.id, kind="sms", name="Support line", address=SMS_NUMBER,
                                         config={"account_sid": ACCOUNT_SID}, secret=AUTH_TOKEN)


@pytest.fixture
def whatsapp_account(desk) -> ChannelAccount:
    return ChannelAccount.objects.create(workspace_id=desk.id, kind="whatsapp", name="WhatsApp", address=WHATSAPP_NUMBER,
                                         config={"account_sid": ACCOUNT_SID}, secret=AUTH_TOKEN)


def inbound_sms(body: str = "Where is my order?", *, sid: str | None = None, sender: str = CUSTOMER,
                to: str = SMS_NUMBER, **extra: str) -> dict[str, str]:
    """The parameters Twilio posts for an incoming SMS."""
    sid = sid or new_sid()
    return {
        "ToCountry": "US", "ToState": "CA", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "SAN FRANCISCO",
        "FromZip": "94105", "SmsSid": sid, "FromState": "CA", "SmsStatus": "received", "FromCity": "SAN FRANCISCO",
        "Body": body, "FromCountry": "US", "To": to, "ToZip": "94105", "NumSegments": "1", "MessageSid": sid,
        "AccountSid": ACCOUNT_SID, "From": sender, "ApiVersion": "2010-04-01", **extra,
    }


def inbound_whatsapp(body: str = "Hola", *, sid: str | None = None, sender: str = CUSTOMER,
                     profile_name: str = "María José", **extra: str) -> dict[str, str]:
    sid = sid or new_sid()
    return {
        "SmsMessageSid": sid, "NumMedia": "0", "ProfileName": profile_name, "MessageType": "text",
        "SmsSid": sid, "WaId": sender.lstrip("+"), "SmsStatus": "received", "Body": body,
        "To": f"whatsapp:{WHATSAPP_NUMBER}", "NumSegments": "1", "ReferralNumMedia": "0", "MessageSid": sid,
        "AccountSid": ACCOUNT_SID, "From": f"whatsapp:{sender}", "ApiVersion": "2010-04-01", **extra,
    }


def post_signed(client, path: str, params: dict[str, str], *, token: str = AUTH_TOKEN, signature: str | None = None,
                base: str = "http://testserver"):
    """POST form-encoded as Twilio does, signed by twilio's RequestValidator over the URL Twilio called."""
    if signature is None:
        signature = RequestValidator(token).compute_signature(base + path, params)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return client.post(path, data=urlencode(params), content_type="application/x-www-form-urlencoded", headers=headers)


class FakeTwilio:
    """Twilio's Messages endpoint on a local port: checks basic auth and the form, answers a Message
    resource. `answers` scripts the next responses as (status, JSON body)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []
        self.credentials = {ACCOUNT_SID: AUTH_TOKEN}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                fields = {name: values[0] for name, values in parse_qs(raw, keep_blank_values=True).items()}
                fake.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                      "content_type": self.headers.get("Content-Type"), "fields": fields})
                status, body = fake.answer(self.path, self.headers.get("Authorization", ""), fields)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def answer(self, path: str, authorization: str, fields: dict[str, str]) -> tuple[int, dict]:
        parts = path.split("/")  # /2010-04-01/Accounts/{AccountSid}/Messages.json
        if len(parts) != 5 or parts[1:3] != ["2010-04-01", "Accounts"] or parts[4] != "Messages.json":
            return 404, _error(20404, "The requested resource was not found", 404)
        sid, token = _basic(authorization)
        if sid != parts[3] or self.credentials.get(sid) != token:
            return 401, _error(20003, "Authenticate", 401)
        if self.answers:
            return self.answers.pop(0)
        if not fields.get("To"):
            return 400, _error(21604, "A 'To' phone number is required.", 400)
        if fields["To"].removeprefix("whatsapp:") == INVALID_NUMBER:
            return 400, _error(21211, f"The 'To' number {fields['To']} is not a valid phone number.", 400)
        if not fields.get("From") or not fields.get("Body"):
            return 400, _error(21602, "Message body is required.", 400)
        return 201, message_resource(sid, fields)

    def __enter__(self) -> "FakeTwilio":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _basic(authorization: str) -> tuple[str, str]:
    if not authorization.startswith("Basic "):
        return "", ""
    sid, _, token = base64.b64decode(authorization[6:]).decode().partition(":")
    return sid, token


def _error(code: int, message: str, status: int) -> dict:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


def message_resource(account_sid: str, fields: dict[str, str]) -> dict:
    """The JSON Twilio answers for a new message (its Message resource, as documented)."""
    sid = "SM" + secrets.token_hex(16)
    stamp = "Mon, 23 Nov 2026 11:00:00 +0000"
    return {
        "account_sid": account_sid, "api_version": "2010-04-01", "body": fields["Body"], "date_created": stamp,
        "date_sent": None, "date_updated": stamp, "direction": "outbound-api", "error_code": None, "error_message": None,
        "from": fields["From"], "messaging_service_sid": None, "num_media": "0", "num_segments": "1", "price": None,
        "price_unit": "USD", "sid": sid, "status": "queued", "to": fields["To"],
        "subresource_uris": {"media": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json"},
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
    }


@pytest.fixture
def fake_twilio(settings):
    with FakeTwilio() as fake:
        settings.TWILIO_API_BASE = fake.base_url
        yield fake
