"""A desk's phone line and a telephony system posting signed call events to it."""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from touchpoint.channels.models import ChannelAccount

CALLER = "+14155552671"
LINE = "+14155550123"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def voice_account(desk) -> ChannelAccount:
    return ChannelAccount.objects.create(workspace_id=desk.id, kind="voice", name="Support line", address=LINE,
                                         secret="voice-signing-key-acme")


def event(kind: str, second: float, *, call_id: str = "CA-1001", caller: str = CALLER, **extra: str) -> dict:
    """A call event `second` seconds after T0, shaped as the webhook documents it."""
    at = (T0 + timedelta(seconds=second)).isoformat().replace("+00:00", "Z")
    return {"call_id": call_id, "event": kind, "at": at, "from": caller, "to": LINE, **extra}


def sign(secret: str, body: bytes) -> str:
    """Written here from the documented scheme, independently of the code under test."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_event(client, account: ChannelAccount, payload, *, secret: str | None = None, raw: bytes | None = None,
               signature: str | None = None, account_id: int | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {}
    if signature != "":
        headers["X-Touchpoint-Signature"] = signature or sign(secret or account.secret, body)
    return client.post(f"/channels/voice/{account_id or account.pk}/events", data=body, content_type="application/json",
                       headers=headers)


def ana(desk) -> str:
    return desk.agent.user.email


def ben(desk) -> str:
    return desk.agent2.user.email


def full_call(desk) -> list[dict]:
    """Offered, answered by Ana after a ring, a hold, a transfer to Billing, answered by Ben, a hold
    left open at the hang-up, and both agents' wrap-up."""
    return [
        event("offered", 0, queue="Support"),
        event("ringing", 30, agent_email=ana(desk)),
        event("answered", 42, agent_email=ana(desk)),
        event("hold", 120, agent_email=ana(desk)),
        event("unhold", 150, agent_email=ana(desk)),
        event("transferred", 180, agent_email=ana(desk), queue="Billing"),
        event("wrap_up_finished", 220, agent_email=ana(desk)),
        event("ringing", 190, agent_email=ben(desk)),
        event("answered", 200, agent_email=ben(desk)),
        event("hold", 360, agent_email=ben(desk)),
        event("ended", 380, agent_email=ben(desk)),
        event("wrap_up_finished", 440, agent_email=ben(desk), disposition="Refund issued"),
    ]
