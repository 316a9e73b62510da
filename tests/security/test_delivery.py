"""Failed replies and the channels that fix them: one workspace can neither see nor retry another's
replies nor touch its mailboxes; only admins connect channels or read the outbox."""

import pytest
from django.test import Client

from tests.apiclient import api_as, assert_problem, snapshot
from touchpoint.channels.delivery import deliver_message
from touchpoint.channels.email.services import connect_mailbox
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Message
from touchpoint.conversations.services import Content, receive_message, reply


def _signed_in(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


@pytest.fixture
def failed(desk) -> Message:
    incoming, _ = receive_message(workspace_id=desk.id, channel="email", sender=("email", "maria@example.com"),
                                  content=Content(text="Where is my order?"))
    answer = reply(actor=desk.agent_actor, conversation=incoming.conversation, content=Content(text="On its way."))
    deliver_message.call(answer.pk)
    return Message.objects.get(pk=answer.pk)


def test_another_workspace_cannot_retry_a_reply(desk, other_desk, failed):
    path = f"/conversations/{failed.conversation_id}/messages/{failed.pk}/retry"
    # Their own conversation's URL with our message id: still not found.
    theirs, _ = receive_message(workspace_id=other_desk.id, channel="email", sender=("email", "x@example.com"),
                                content=Content(text="hi"))
    api, client = api_as(other_desk.admin), _signed_in(other_desk.admin)
    before = snapshot()
    assert_problem(api.post(path), 404)
    assert client.post(path + "/").status_code == 404
    assert_problem(api.post(f"/conversations/{theirs.conversation_id}/messages/{failed.pk}/retry"), 404)
    assert snapshot() == before
    assert Message.objects.get(pk=failed.pk).delivery_status == "failed"


def test_another_workspaces_failures_and_mailboxes_stay_out_of_sight(desk, other_desk, failed):
    account = connect_mailbox(actor=desk.admin_actor, name="Support", address="support@acme.test",
                              smtp_host="smtp.acme.test")
    client = _signed_in(other_desk.admin)
    page = client.get("/settings/channels/").content.decode()
    assert "support@acme.test" not in page and "smtp.acme.test" not in page and "Maria" not in page
    response = client.post(f"/settings/channels/{account.pk}/relay/", {"smtp_host": "smtp.evil.test"})
    assert response.status_code == 404
    assert ChannelAccount.objects.get(pk=account.pk).config["smtp"]["host"] == "smtp.acme.test"


@pytest.mark.parametrize("who", ["agent", "supervisor"])
def test_only_admins_open_channels_connect_them_or_read_the_outbox(desk, who):
    client = _signed_in(getattr(desk, who))
    assert client.get("/settings/channels/").status_code == 403
    assert client.get("/settings/channels/outbox/").status_code == 403
    response = client.post("/settings/channels/mailboxes/", {"name": "Support", "address": "support@acme.test",
                                                            "smtp_host": "smtp.evil.test"})
    assert response.status_code == 403
    response = client.post("/settings/channels/numbers/", {"kind": "sms", "name": "Line", "number": "+14155550100",
                                                          "account_sid": "AC" + "0" * 32, "auth_token": "f" * 32})
    assert response.status_code == 403
    assert not ChannelAccount.objects.filter(workspace_id=desk.id).exists()


def test_a_relay_password_is_never_shown(desk):
    connect_mailbox(actor=desk.admin_actor, name="Support", address="support@acme.test", smtp_host="smtp.acme.test",
                    smtp_username="desk", smtp_password="relay-pass-9")
    page = _signed_in(desk.admin).get("/settings/channels/").content.decode()
    assert "smtp.acme.test" in page and "relay-pass-9" not in page
