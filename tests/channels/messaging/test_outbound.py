"""Replies leave as Twilio REST calls to a fake Twilio on a local port (real HTTP); Twilio's status
callbacks move their delivery status forward."""

import base64
from urllib.parse import urlencode

import pytest
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from touchpoint.channels.delivery import deliver_message
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Message
from touchpoint.conversations.services import Content, receive_message, reply
from touchpoint.customers.services import create_customer

from .conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CUSTOMER,
    INVALID_NUMBER,
    SMS_NUMBER,
    WHATSAPP_NUMBER,
    inbound_sms,
    inbound_whatsapp,
    post_signed,
)


def _conversation_reply(client, desk, account, text="Your parcel left this morning.", params=None):
    params = params or (inbound_whatsapp() if account.kind == "whatsapp" else inbound_sms())
    post_signed(client, f"/channels/twilio/{account.pk}/messages", params)
    incoming = Message.objects.filter(workspace_id=desk.id, kind="incoming").latest("id")
    return reply(actor=desk.agent_actor, conversation=incoming.conversation, content=Content(text=text))


def _status(client, account, sid, status, **extra):
    params = {"SmsSid": sid, "SmsStatus": status, "MessageStatus": status, "To": CUSTOMER, "MessageSid": sid,
              "AccountSid": ACCOUNT_SID, "From": account.address, "ApiVersion": "2010-04-01", **extra}
    return post_signed(client, f"/channels/twilio/{account.pk}/status", params)


def test_a_reply_is_sent_through_twilios_messages_api(client, desk, sms_account, fake_twilio, settings):
    message = _conversation_reply(client, desk, sms_account)
    settings.PUBLIC_BASE_URL = "https://desk.example.com"
    assert deliver_message.call(message.pk) == "sent"
    [sent] = fake_twilio.requests
    assert sent["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sent["authorization"] == "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert sent["content_type"] == "application/x-www-form-urlencoded"
    assert sent["fields"] == {
        "To": CUSTOMER, "From": SMS_NUMBER, "Body": "Your parcel left this morning.",
        "StatusCallback": f"https://desk.example.com/channels/twilio/{sms_account.pk}/status",
    }
    message.refresh_from_db()
    assert message.delivery_status == "sent"
    assert message.external_id.startswith("SM") and len(message.external_id) == 34


def test_whatsapp_numbers_carry_the_prefix_and_long_bodies_go_whole(client, desk, whatsapp_account, fake_twilio):
    long_text = "Thank you for waiting. " * 40  # 920 characters: Twilio splits it, we do not
    message = _conversation_reply(client, desk, whatsapp_account, text=long_text)
    assert deliver_message.call(message.pk) == "sent"
    fields = fake_twilio.requests[0]["fields"]
    assert (fields["To"], fields["From"]) == (f"whatsapp:{CUSTOMER}", f"whatsapp:{WHATSAPP_NUMBER}")
    assert fields["Body"] == long_text.strip()
    assert "StatusCallback" not in fields  # no PUBLIC_BASE_URL: no address to call back


def test_our_request_is_the_one_twilios_own_client_makes(client, desk, sms_account, fake_twilio, settings):
    """The vendor's client, pointed at the fake, sends the same message; the two requests must match,
    and the vendor's client must read our fake's answer as a Message."""
    message = _conversation_reply(client, desk, sms_account, text="Same shape?")
    settings.PUBLIC_BASE_URL = "https://desk.example.com"
    deliver_message.call(message.pk)

    class ToFake(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            return super().request(method, url.replace("https://api.twilio.com", fake_twilio.base_url), *args, **kwargs)

    vendor = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=ToFake())
    created = vendor.messages.create(to=CUSTOMER, from_=SMS_NUMBER, body="Same shape?",
                                     status_callback=f"https://desk.example.com/channels/twilio/{sms_account.pk}/status")
    ours, theirs = fake_twilio.requests
    assert ours["path"] == theirs["path"]
    assert ours["authorization"] == theirs["authorization"]
    assert ours["content_type"] == theirs["content_type"]
    assert ours["fields"] == theirs["fields"]
    assert created.sid.startswith("SM") and created.status == "queued" and created.to == CUSTOMER


def test_a_500_is_retried_then_sent(client, desk, sms_account, fake_twilio):
    fake_twilio.answers = [(500, {"code": 20500, "message": "Internal Server Error", "status": 500}),
                           (429, {"code": 20429, "message": "Too Many Requests", "status": 429})]
    message = _conversation_reply(client, desk, sms_account)
    assert deliver_message.call(message.pk) == "retrying"
    message.refresh_from_db()
    assert message.delivery_status == "retrying"
    assert "500" in message.metadata["delivery_error"]
    assert deliver_message.call(message.pk, 2) == "retrying"
    assert deliver_message.call(message.pk, 3) == "sent"
    assert len(fake_twilio.requests) == 3
    message.refresh_from_db()
    assert message.delivery_status == "sent" and message.external_id.startswith("SM")


def test_an_unreachable_twilio_is_retried(client, desk, sms_account, settings):
    settings.TWILIO_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    message = _conversation_reply(client, desk, sms_account)
    assert deliver_message.call(message.pk) == "retrying"
    assert "unreachable" in Message.objects.get(pk=message.pk).metadata["delivery_error"]


def test_a_400_fails_for_good_with_twilios_reason(client, desk, sms_account, fake_twilio):
    customer = create_customer(workspace_id=desk.id, identities=[("phone", INVALID_NUMBER)])
    incoming, _ = receive_message(workspace_id=desk.id, channel="sms", customer=customer, content=Content(text="hi"))
    message = reply(actor=desk.agent_actor, conversation=incoming.conversation, content=Content(text="hello"))
    assert deliver_message.call(message.pk) == "failed"
    message.refresh_from_db()
    assert message.delivery_status == "failed"
    assert message.metadata["delivery_error"] == (
        f"Twilio answered 400 (error 21211): The 'To' number {INVALID_NUMBER} is not a valid phone number.")
    assert len(fake_twilio.requests) == 1  # never retried


def test_wrong_credentials_fail_for_good(client, desk, sms_account, fake_twilio):
    message = _conversation_reply(client, desk, sms_account)
    ChannelAccount.objects.filter(pk=sms_account.pk).update(secret="wrong-token")
    assert deliver_message.call(message.pk) == "failed"
    assert "401" in Message.objects.get(pk=message.pk).metadata["delivery_error"]


def test_no_account_sid_fails_with_what_to_set(client, desk, sms_account, fake_twilio):
    ChannelAccount.objects.filter(pk=sms_account.pk).update(config={})
    message = _conversation_reply(client, desk, sms_account)
    assert deliver_message.call(message.pk) == "failed"
    assert "account_sid" in Message.objects.get(pk=message.pk).metadata["delivery_error"]
    assert fake_twilio.requests == []


def test_the_reply_goes_to_the_number_the_customer_wrote_from(client, desk, sms_account, fake_twilio):
    customer = create_customer(workspace_id=desk.id, identities=[("phone", "+442079460958")])
    params = inbound_sms("from my other phone", sender=CUSTOMER)
    post_signed(client, f"/channels/twilio/{sms_account.pk}/messages", params)
    incoming = Message.objects.get(external_id=params["MessageSid"])
    from touchpoint.customers.services import merge_customers  # the customer turns out to be one person

    merge_customers(actor=desk.admin_actor, source=incoming.customer, target=customer)
    message = reply(actor=desk.agent_actor, conversation=incoming.conversation, content=Content(text="got it"))
    deliver_message.call(message.pk)
    assert fake_twilio.requests[0]["fields"]["To"] == CUSTOMER


def test_status_callbacks_move_delivery_forward_only(client, desk, sms_account, fake_twilio):
    message = _conversation_reply(client, desk, sms_account)
    deliver_message.call(message.pk)
    message.refresh_from_db()
    sid = message.external_id
    steps = [("queued", "sent"), ("sent", "sent"), ("delivered", "delivered"), ("sent", "delivered"),
             ("read", "read"), ("delivered", "read"), ("received", "read")]
    for twilio_status, expected in steps:
        assert _status(client, sms_account, sid, twilio_status).status_code == 204
        assert Message.objects.get(pk=message.pk).delivery_status == expected, twilio_status


def test_undelivered_fails_with_the_error_code_and_stays_failed(client, desk, sms_account, fake_twilio):
    message = _conversation_reply(client, desk, sms_account)
    deliver_message.call(message.pk)
    sid = Message.objects.get(pk=message.pk).external_id
    assert _status(client, sms_account, sid, "undelivered", ErrorCode="30003").status_code == 204
    message.refresh_from_db()
    assert message.delivery_status == "failed"
    assert message.metadata["delivery_error"] == "Twilio reported the message undelivered (error 30003)"
    _status(client, sms_account, sid, "delivered")  # a late callback of an earlier attempt
    assert Message.objects.get(pk=message.pk).delivery_status == "failed"


def test_unknown_sids_are_acknowledged_and_ignored(client, desk, sms_account):
    assert _status(client, sms_account, "SM" + "0" * 32, "delivered").status_code == 204


def test_status_callbacks_are_signature_checked(client, desk, sms_account, fake_twilio):
    message = _conversation_reply(client, desk, sms_account)
    deliver_message.call(message.pk)
    sid = Message.objects.get(pk=message.pk).external_id
    params = {"MessageSid": sid, "MessageStatus": "delivered"}
    path = f"/channels/twilio/{sms_account.pk}/status"
    forged = RequestValidator("not-the-token").compute_signature(f"http://testserver{path}", params)
    response = client.post(path, data=urlencode(params), content_type="application/x-www-form-urlencoded",
                           headers={"X-Twilio-Signature": forged})
    assert response.status_code == 403
    assert Message.objects.get(pk=message.pk).delivery_status == "sent"


def test_another_workspaces_number_cannot_move_our_messages(client, desk, other_desk, sms_account, fake_twilio):
    message = _conversation_reply(client, desk, sms_account)
    deliver_message.call(message.pk)
    sid = Message.objects.get(pk=message.pk).external_id
    theirs = ChannelAccount.objects.create(workspace_id=other_desk.id, kind="sms", name="Theirs", address="+14155550177",
                                           config={"account_sid": ACCOUNT_SID}, secret=AUTH_TOKEN)
    assert _status(client, theirs, sid, "delivered").status_code == 204  # acknowledged, but not our message
    assert Message.objects.get(pk=message.pk).delivery_status == "sent"


@pytest.mark.parametrize("kind", ["sms", "whatsapp"])
def test_a_reply_with_only_attachments_is_not_sent_as_an_empty_text(client, desk, kind, fake_twilio, request):
    account = request.getfixturevalue(f"{kind}_account")
    params = inbound_whatsapp() if kind == "whatsapp" else inbound_sms()
    post_signed(client, f"/channels/twilio/{account.pk}/messages", params)
    incoming = Message.objects.get(external_id=params["MessageSid"])
    from touchpoint.conversations.services import IncomingFile

    message = reply(actor=desk.agent_actor, conversation=incoming.conversation, content=Content(text=""),
                    attachments=[IncomingFile("label.pdf", "application/pdf", b"%PDF-1.4")])
    assert deliver_message.call(message.pk) == "failed"
    assert "carry text" in Message.objects.get(pk=message.pk).metadata["delivery_error"]
    assert fake_twilio.requests == []
