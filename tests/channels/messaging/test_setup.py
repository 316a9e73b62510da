"""Connecting a Twilio number: admins only, checked values, and the webhook address to paste into Twilio."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from touchpoint.channels.messaging.services import connect_twilio_number
from touchpoint.channels.models import ChannelAccount
from touchpoint.core.errors import Conflict, PermissionDenied, ValidationFailed

from .conftest import ACCOUNT_SID, AUTH_TOKEN, inbound_sms, post_signed


def _connect(actor, **changes):
    values = {"kind": "sms", "name": "Support line", "number": "+1 415 555 0100", "account_sid": ACCOUNT_SID,
              "auth_token": AUTH_TOKEN, **changes}
    return connect_twilio_number(actor=actor, **values)


def test_an_admin_connects_a_number_that_then_takes_messages(client, desk):
    account = _connect(desk.admin_actor)
    assert (account.kind, account.address, account.config, account.secret) == (
        "sms", "+14155550100", {"account_sid": ACCOUNT_SID}, AUTH_TOKEN)
    assert post_signed(client, f"/channels/twilio/{account.pk}/messages", inbound_sms()).status_code == 200


@pytest.mark.parametrize("who", ["agent_actor", "supervisor_actor"])
def test_agents_and_supervisors_cannot_connect_numbers(desk, who):
    with pytest.raises(PermissionDenied):
        _connect(getattr(desk, who))
    assert not ChannelAccount.objects.exists()


@pytest.mark.parametrize("changes, field", [
    ({"kind": "voice"}, "kind"), ({"name": " "}, "name"), ({"number": "call me"}, "value"),
    ({"account_sid": "SK" + "0" * 32}, "account_sid"), ({"auth_token": "secret"}, "auth_token"),
])
def test_bad_values_are_refused_with_the_field(desk, changes, field):
    with pytest.raises(ValidationFailed) as refused:
        _connect(desk.admin_actor, **changes)
    assert refused.value.field == field
    assert not ChannelAccount.objects.exists()


def test_a_number_connects_once_across_workspaces(desk, other_desk):
    _connect(desk.admin_actor)
    with pytest.raises(Conflict):
        _connect(other_desk.admin_actor, number="+14155550100")
    _connect(other_desk.admin_actor, kind="whatsapp", number="whatsapp:+14155550100")  # another channel is fine
    assert ChannelAccount.objects.filter(workspace_id=other_desk.id).count() == 1


def test_the_command_prints_the_webhook_addresses(desk, settings):
    settings.PUBLIC_BASE_URL = "https://desk.example.com"
    out = StringIO()
    call_command("phone_line", "acme", "--kind", "whatsapp", "--number", "+14155550101", "--account-sid", ACCOUNT_SID,
                 "--auth-token", AUTH_TOKEN, stdout=out)
    account = ChannelAccount.objects.get(kind="whatsapp")
    assert f"https://desk.example.com/channels/twilio/{account.pk}/messages" in out.getvalue()
    assert f"https://desk.example.com/channels/twilio/{account.pk}/status" in out.getvalue()
    with pytest.raises(CommandError, match="already connected"):
        call_command("phone_line", "acme", "--kind", "whatsapp", "--number", "+14155550101", "--account-sid",
                     ACCOUNT_SID, "--auth-token", AUTH_TOKEN, stdout=out)
    with pytest.raises(CommandError, match="No workspace"):
        call_command("phone_line", "nosuch", "--kind", "voice", "--number", "+14155550101", stdout=out)
