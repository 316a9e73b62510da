"""Incoming SMS and WhatsApp through Twilio's webhook, signed by twilio's own RequestValidator."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from touchpoint.channels.messaging.twilio import is_signed, signature
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Conversation, Message
from touchpoint.customers.models import Customer, Identity

from .conftest import AUTH_TOKEN, CUSTOMER, inbound_sms, inbound_whatsapp, new_sid, post_signed


def _path(account: ChannelAccount) -> str:
    return f"/channels/twilio/{account.pk}/messages"


def test_incoming_sms_opens_a_conversation_and_answers_empty_twiml(client, desk, sms_account):
    response = post_signed(client, _path(sms_account), inbound_sms("Where is my order?"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.decode().endswith("<Response/>")
    message = Message.objects.get(workspace_id=desk.id)
    assert (message.kind, message.channel, message.content_text) == ("incoming", "sms", "Where is my order?")
    assert message.metadata["from"] == CUSTOMER
    conversation = message.conversation
    assert (conversation.channel, conversation.channel_account_id) == ("sms", sms_account.pk)
    assert Identity.objects.get(customer=message.customer).value == CUSTOMER


def test_whatsapp_sender_loses_its_prefix_and_profile_name_names_a_new_customer(client, desk, whatsapp_account):
    response = post_signed(client, _path(whatsapp_account), inbound_whatsapp("Hola, ¿tienen talla M?"))
    assert response.status_code == 200
    message = Message.objects.get(workspace_id=desk.id)
    assert message.channel == "whatsapp"
    assert message.customer.name == "María José"
    assert list(message.customer.identities.values_list("kind", "value")) == [("phone", CUSTOMER)]
    assert message.metadata["profile_name"] == "María José"


def test_profile_name_does_not_rename_a_known_customer(client, desk, sms_account, whatsapp_account):
    post_signed(client, _path(sms_account), inbound_sms("hi"))
    customer = Customer.objects.get(workspace_id=desk.id)
    post_signed(client, _path(whatsapp_account), inbound_whatsapp("hola", profile_name="Someone Else"))
    assert Customer.objects.filter(workspace_id=desk.id).count() == 1
    customer.refresh_from_db()
    assert customer.name == ""  # the agent's record, not whatever the customer's app calls them


def test_replayed_webhook_is_stored_once(client, desk, sms_account):
    params = inbound_sms("only once")
    for _ in range(3):
        assert post_signed(client, _path(sms_account), params).status_code == 200
    assert Message.objects.filter(workspace_id=desk.id).count() == 1
    assert Message.objects.get(workspace_id=desk.id).external_id == params["MessageSid"]


def test_media_are_kept_as_references(client, desk, whatsapp_account):
    params = inbound_whatsapp("", NumMedia="2", MediaUrl0=f"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/{new_sid()}/Media/ME1",
                              MediaContentType0="image/jpeg", MediaUrl1="https://api.twilio.com/media/ME2",
                              MediaContentType1="application/pdf")
    assert post_signed(client, _path(whatsapp_account), params).status_code == 200
    message = Message.objects.get(workspace_id=desk.id)
    assert [m["content_type"] for m in message.metadata["media"]] == ["image/jpeg", "application/pdf"]
    assert message.metadata["media"][1]["url"] == "https://api.twilio.com/media/ME2"
    assert message.content_text == "[2 media files: image/jpeg, application/pdf]"


@pytest.mark.parametrize("signature", ["", "forged0000000000000000000000=", None])
def test_missing_or_forged_signature_is_refused_and_nothing_is_stored(client, desk, sms_account, signature):
    params = inbound_sms("let me in")
    if signature is None:  # signed, but with another token
        response = post_signed(client, _path(sms_account), params, token="0" * 32)
    else:
        response = post_signed(client, _path(sms_account), params, signature=signature)
    assert response.status_code == 403
    assert response.json()["code"] == "bad_signature"
    assert not Message.objects.exists() and not Customer.objects.exists() and not Conversation.objects.exists()


def test_a_tampered_body_breaks_the_signature(client, desk, sms_account):
    params = inbound_sms("pay 10")
    sig = RequestValidator(AUTH_TOKEN).compute_signature(f"http://testserver{_path(sms_account)}", params)
    response = post_signed(client, _path(sms_account), {**params, "Body": "pay 1000"}, signature=sig)
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_signature_covers_the_public_url_behind_a_proxy(client, desk, sms_account, settings):
    settings.PUBLIC_BASE_URL = "https://desk.example.com"
    params = inbound_sms("through the proxy")
    assert post_signed(client, _path(sms_account), params).status_code == 403  # signed for another URL
    response = post_signed(client, _path(sms_account), params, base="https://desk.example.com")
    assert response.status_code == 200
    # Twilio's libraries accept the default port written out or left out; so do we.
    response = post_signed(client, _path(sms_account), inbound_sms("with port"), base="https://desk.example.com:443")
    assert response.status_code == 200


def test_unknown_or_wrong_kind_of_account_is_404(client, desk, sms_account):
    voice = ChannelAccount.objects.create(workspace_id=desk.id, kind="voice", name="Phones", address="+14155550199")
    for account_id in (sms_account.pk + 1000, voice.pk, 2**63):
        response = post_signed(client, f"/channels/twilio/{account_id}/messages", inbound_sms())
        assert response.status_code == 404, account_id
    assert not Message.objects.exists()


def test_a_number_signed_with_another_workspaces_token_stores_nothing_anywhere(client, desk, other_desk, sms_account):
    theirs = ChannelAccount.objects.create(workspace_id=other_desk.id, kind="sms", name="Theirs", address="+14155550177",
                                           config={"account_sid": "AC" + "9" * 32}, secret="t" * 32)
    # Their token cannot post into our number, nor ours into theirs.
    assert post_signed(client, _path(sms_account), inbound_sms(), token=theirs.secret).status_code == 403
    assert post_signed(client, _path(theirs), inbound_sms()).status_code == 403
    assert not Message.objects.exists()


def test_a_message_lands_in_the_accounts_workspace_only(client, desk, other_desk, sms_account):
    post_signed(client, _path(sms_account), inbound_sms("for acme"))
    assert Message.objects.filter(workspace_id=desk.id).count() == 1
    assert not Message.objects.filter(workspace_id=other_desk.id).exists()
    assert not Customer.objects.filter(workspace_id=other_desk.id).exists()


def test_a_sender_that_is_not_a_phone_number_is_422_with_the_reason(client, desk, sms_account):
    response = post_signed(client, _path(sms_account), inbound_sms(sender="not-a-number"))
    assert response.status_code == 422
    assert "phone number" in response.json()["detail"]
    assert not Message.objects.exists()


def test_get_is_not_allowed(client, sms_account):
    response = client.get(_path(sms_account))
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_inactive_account_stops_taking_messages(client, desk, sms_account):
    ChannelAccount.objects.filter(pk=sms_account.pk).update(is_active=False)
    assert post_signed(client, _path(sms_account), inbound_sms()).status_code == 404


_names = st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=122), min_size=1, max_size=12)
_values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(params=st.dictionaries(_names, _values, max_size=12), path=st.sampled_from(["/a", "/channels/twilio/1/messages?x=1"]))
def test_our_signature_is_the_vendors(params, path):
    url = f"https://desk.example.com{path}"
    vendor = RequestValidator(AUTH_TOKEN)
    ours = signature(AUTH_TOKEN, url, params.items())
    assert ours == vendor.compute_signature(url, params)
    assert vendor.validate(url, params, ours)
    assert is_signed(AUTH_TOKEN, url, params.items(), vendor.compute_signature(url, params))


def test_webhooks_need_no_csrf_token(desk, sms_account):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert post_signed(strict, _path(sms_account), inbound_sms("no cookie, no token")).status_code == 200
