"""POST /channels/email/<account id>/inbound: the raw mail, signed with the account's secret."""

import pytest

from tests.channels.email.conftest import mail
from touchpoint.channels.email.models import InboundEmail
from touchpoint.channels.email.threading import reply_address
from touchpoint.channels.email.views import signature
from touchpoint.conversations.models import Message


def post(client, account, body: bytes, sig: str | None = None, **headers):
    if sig is None:
        sig = signature(account.secret, body)
    if sig:
        headers["HTTP_X_TOUCHPOINT_SIGNATURE"] = sig
    return client.post(f"/channels/email/{account.pk}/inbound", data=body, content_type="message/rfc822", **headers)


def test_a_signed_mail_is_stored(client, desk, account):
    response = post(client, account, mail())
    assert response.status_code == 200
    assert response.json()["outcome"] == "stored"
    message = Message.objects.get(pk=response.json()["message_id"])
    assert (message.workspace_id, message.conversation_id) == (desk.id, response.json()["conversation_id"])


def test_a_replayed_post_is_stored_once(client, desk, account):
    body = mail()
    assert post(client, account, body).json()["outcome"] == "stored"
    assert post(client, account, body).json()["outcome"] == "duplicate"
    assert Message.objects.count() == 1


@pytest.mark.parametrize("bad", ["", "sha256=" + "0" * 64, "deadbeef", "sha1=abc"])
def test_missing_or_wrong_signature_is_refused_and_nothing_stored(client, desk, account, bad):
    response = post(client, account, mail(), sig=bad)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "X-Touchpoint-Signature" in response.json()["detail"]
    assert not Message.objects.exists() and not InboundEmail.objects.exists()


def test_a_body_changed_after_signing_is_refused(client, desk, account):
    body = mail()
    response = post(client, account, body.replace(b"Where is my order?", b"Send refund to attacker"),
                    sig=signature(account.secret, body))
    assert response.status_code == 403


def test_another_workspaces_secret_does_not_open_this_account(client, desk, account, other_desk, other_account):
    body = mail()
    assert post(client, account, body, sig=signature(other_account.secret, body)).status_code == 403
    assert not Message.objects.exists()


def test_unknown_or_inactive_account_is_404(client, desk, account):
    body = mail()
    response = client.post("/channels/email/999999/inbound", data=body, content_type="message/rfc822",
                           HTTP_X_TOUCHPOINT_SIGNATURE=signature(account.secret, body))
    assert response.status_code == 404
    account.is_active = False
    account.save()
    assert post(client, account, body).status_code == 404


def test_only_post(client, account):
    assert client.get(f"/channels/email/{account.pk}/inbound").status_code == 405


def test_an_empty_body_is_a_clear_422(client, account):
    response = post(client, account, b"")
    assert response.status_code == 422


def test_a_body_over_the_limit_is_413(client, account, settings):
    settings.EMAIL_MAX_MESSAGE_BYTES = 1000
    assert post(client, account, mail(text="x" * 5000)).status_code == 413
    assert not Message.objects.exists()


def test_the_envelope_recipient_may_carry_the_reply_token(client, desk, account):
    first = Message.objects.get(pk=post(client, account, mail(message_id="<a@example.com>")).json()["message_id"])
    response = post(client, account, mail(message_id="<b@example.com>"),
                    HTTP_X_TOUCHPOINT_RECIPIENT=reply_address(account, first.conversation_id))
    assert response.json()["conversation_id"] == first.conversation_id
