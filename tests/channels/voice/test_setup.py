"""Connecting a voice line: admins only; its signing key is made here and opens only this line."""

from io import StringIO

import pytest
from django.core.management import call_command

from touchpoint.channels.models import ChannelAccount
from touchpoint.channels.voice.services import connect_voice_line
from touchpoint.core.errors import Conflict, PermissionDenied, ValidationFailed

from .conftest import event, post_event


def test_an_admin_connects_a_line_and_its_key_signs_events(client, desk):
    account = connect_voice_line(actor=desk.admin_actor, name="Support line", number="+1 415 555 0123")
    assert (account.kind, account.address, len(account.secret) >= 40) == ("voice", "+14155550123", True)
    assert post_event(client, account, event("offered", 0)).status_code == 200


def test_agents_cannot_connect_lines(desk):
    with pytest.raises(PermissionDenied):
        connect_voice_line(actor=desk.agent_actor, name="Mine", number="+14155550123")
    assert not ChannelAccount.objects.exists()


def test_bad_values_and_a_taken_number_are_refused(desk, other_desk):
    with pytest.raises(ValidationFailed):
        connect_voice_line(actor=desk.admin_actor, name="", number="+14155550123")
    with pytest.raises(ValidationFailed):
        connect_voice_line(actor=desk.admin_actor, name="Line", number="extension 12")
    connect_voice_line(actor=desk.admin_actor, name="Line", number="+14155550123")
    with pytest.raises(Conflict):
        connect_voice_line(actor=other_desk.admin_actor, name="Line", number="+14155550123")


def test_the_command_prints_the_address_and_the_key_once(desk, settings):
    settings.PUBLIC_BASE_URL = "https://desk.example.com"
    out = StringIO()
    call_command("phone_line", "acme", "--kind", "voice", "--number", "+14155550123", "--name", "Support", stdout=out)
    account = ChannelAccount.objects.get(kind="voice")
    assert f"https://desk.example.com/channels/voice/{account.pk}/events" in out.getvalue()
    assert account.secret in out.getvalue()
