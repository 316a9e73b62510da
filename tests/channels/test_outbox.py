"""The local outbox the demo sends through: a real SMTP sink and a Twilio-format fake on local ports.
The real delivery path runs unchanged; the fake is checked against Twilio's own client and request
validator, and its status callbacks reach the desk's webhook (a live server) and move replies to
delivered and read."""

import json
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.conftest import Desk
from touchpoint.channels.delivery import deliver_message
from touchpoint.channels.messaging.adapter import register_adapters
from touchpoint.channels.messaging.fake_twilio import FakeTwilio
from touchpoint.channels.messaging.twilio import api_base
from touchpoint.channels.models import ChannelAccount
from touchpoint.channels.outbox import outbox_items, start_local_outbox
from touchpoint.conversations.models import Message
from touchpoint.conversations.services import Content, receive_message, reply

SID, TOKEN = "AC" + "ab" * 16, "cd" * 16
CUSTOMER = "+447700900123"


@pytest.fixture(autouse=True)
def _real_adapters():
    register_adapters()  # other tests swap the SMS adapter for a fake one


@pytest.fixture
def var(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def _reply(desk: Desk, channel: str, sender: tuple[str, str]) -> Message:
    incoming, _ = receive_message(workspace_id=desk.id, channel=channel, sender=sender, sender_name="Maria",
                                  content=Content(text="Where is my order?"))
    return reply(actor=desk.agent_actor, conversation=incoming.conversation, content=Content(text="It left today."))


def _wait_for(message: Message, status: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while Message.objects.get(pk=message.pk).delivery_status != status:
        assert time.monotonic() < deadline, f"still {Message.objects.get(pk=message.pk).delivery_status}, not {status}"
        time.sleep(0.1)


def test_the_outbox_sends_every_reply_and_reports_delivery(transactional_db, live_server, settings, var):
    settings.PUBLIC_BASE_URL = live_server.url  # where the fake's status callbacks go
    desk = Desk("acme")
    real = ChannelAccount.objects.create(workspace_id=desk.id, kind="email", name="Real", address="help@acme.test",
                                         config={"smtp": {"host": "smtp.acme.test", "port": 587}})
    outbox = start_local_outbox(workspace_id=desk.id, email_address="support@acme.test", sms_number="+442079460100",
                                whatsapp_number="+442079460101")
    try:
        # A mailbox the workspace had already is routed to the sink too: nothing from here reaches a real relay.
        assert ChannelAccount.objects.get(pk=real.pk).config["smtp"] == {
            "host": "127.0.0.1", "port": outbox.smtp_port, "security": "none"}
        assert sorted(ChannelAccount.objects.filter(workspace_id=desk.id).values_list("kind", flat=True)) == [
            "email", "sms", "whatsapp"]

        mail = _reply(desk, "email", ("email", "maria@example.com"))
        sms = _reply(desk, "sms", ("phone", CUSTOMER))
        whatsapp = _reply(desk, "whatsapp", ("phone", "+447700900124"))
        assert [deliver_message.call(m.pk) for m in (mail, sms, whatsapp)] == ["sent", "sent", "sent"]
        _wait_for(sms, "delivered")
        _wait_for(whatsapp, "read")
        assert Message.objects.get(pk=mail.pk).delivery_status == "sent"  # mail has no delivery reports
    finally:
        outbox.stop()

    items = outbox_items(desk.id)
    assert sorted((i.channel, i.to, i.body.strip()) for i in items) == [
        ("email", "Maria <maria@example.com>", "It left today."), ("sms", CUSTOMER, "It left today."),
        ("whatsapp", "+447700900124", "It left today.")]
    for path in (var / "outbox" / str(desk.id)).iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600  # customers' data: readable by this user only
    assert stat.S_IMODE((var / "outbox" / str(desk.id)).stat().st_mode) == 0o700
    assert outbox_items(desk.id + 1) is None  # another workspace has no outbox and reads none of this one


class Callbacks:
    """Where the fake reports status: keeps each callback as received."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, str], str]] = []
        box = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                params = {k: v[0] for k, v in parse_qs(body).items()}
                box.received.append((self.path, params, self.headers.get("X-Twilio-Signature", "")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/channels/twilio/7/status"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_the_fake_answers_twilios_own_client_as_twilio_does(tmp_path):
    fake = FakeTwilio(lambda sid: [TOKEN] if sid == SID else [], tmp_path).start()
    callbacks = Callbacks()

    class ToFake(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            return super().request(method, url.replace("https://api.twilio.com", fake.base_url), *args, **kwargs)

    try:
        vendor = Client(SID, TOKEN, http_client=ToFake())
        created = vendor.messages.create(to=f"whatsapp:{CUSTOMER}", from_="whatsapp:+442079460101", body="Hello",
                                         status_callback=callbacks.url)
        assert created.sid.startswith("SM") and len(created.sid) == 34
        assert (created.status, created.to, created.body, created.direction) == (
            "queued", f"whatsapp:{CUSTOMER}", "Hello", "outbound-api")

        with pytest.raises(TwilioRestException) as refused:
            Client(SID, "0" * 32, http_client=ToFake()).messages.create(to=CUSTOMER, from_="+442079460100", body="x")
        assert (refused.value.status, refused.value.code) == (401, 20003)
        with pytest.raises(TwilioRestException) as refused:
            vendor.messages.create(to="+1555", from_="+442079460100", body="x")
        assert (refused.value.status, refused.value.code) == (400, 21211)
        with pytest.raises(TwilioRestException) as refused:
            vendor.messages.create(to=CUSTOMER, from_="+442079460100", body=" ")
        assert refused.value.code == 21602

        deadline = time.monotonic() + 10
        while len(callbacks.received) < 3:
            assert time.monotonic() < deadline, callbacks.received
            time.sleep(0.1)
    finally:
        fake.stop()
        callbacks.server.shutdown()
    assert [params["MessageStatus"] for _, params, _ in callbacks.received] == ["sent", "delivered", "read"]
    for _, params, signature in callbacks.received:
        assert params["MessageSid"] == created.sid and params["AccountSid"] == SID
        assert RequestValidator(TOKEN).validate(callbacks.url, params, signature)
    [kept] = [json.loads(p.read_text()) for p in tmp_path.iterdir()]  # only the accepted message
    assert (kept["channel"], kept["to"], kept["body"]) == ("whatsapp", CUSTOMER, "Hello")


@pytest.mark.parametrize("base, used", [
    ("http://127.0.0.1:4010", "http://127.0.0.1:4010"),
    ("http://localhost:4010/", "http://localhost:4010"),
    ("https://api.evil.example", "https://api.twilio.com"),
    ("http://127.0.0.1.evil.example:80", "https://api.twilio.com"),
    ("http://127.0.0.1:4010/steal", "https://api.twilio.com"),
    ("", "https://api.twilio.com"),
])
def test_an_account_names_a_twilio_format_api_on_this_machine_only(base, used):
    account = ChannelAccount(kind="sms", config={"account_sid": SID, "api_base": base})
    assert api_base(account) == used  # the auth token goes with every call: never anywhere else
