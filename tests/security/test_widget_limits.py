"""Widget abuse limits an attacker cannot sidestep by picking new visitor ids.

The visitor id is the attacker's choice: one address once made 60 customers in 1.5 s with 60 ids.
Messages, new sockets, new customer records, uploads and the away form are now limited per visitor,
per client address and per widget. The address is the socket's or request's peer; X-Forwarded-For
counts only when the peer is one of TRUSTED_PROXIES."""

import uuid

import pytest

from tests.channels.webchat.conftest import (  # noqa: F401  (live_desk, live_other_desk: fixtures)
    ALWAYS,
    Visitor,
    live_desk,
    live_other_desk,
    make_widget,
    run,
)
from touchpoint.channels.webchat.services import create_widget
from touchpoint.core.net import client_address
from touchpoint.customers.models import Customer

ATTACKER = "203.0.113.7"
NEIGHBOUR = "198.51.100.9"


@pytest.fixture
def widget(live_desk):  # noqa: F811
    return make_widget(live_desk)


def _customers(workspace_id: int) -> int:
    return Customer.objects.filter(workspace_id=workspace_id).count()


async def _first_message(widget, address: str, **visitor) -> dict:
    """A new visitor id from this address connects and writes once; the answer to its message."""
    visitor = Visitor(widget.address, address=address, **visitor)
    await visitor.connect()
    answer = await visitor.say("hello")
    await visitor.close()
    return answer


@pytest.mark.asyncio
async def test_new_visitor_ids_from_one_address_make_few_customers(widget, live_desk, settings):  # noqa: F811
    settings.WIDGET_NEW_VISITORS_PER_MINUTE_PER_ADDRESS = 5
    answers = [await _first_message(widget, ATTACKER) for _ in range(8)]
    assert [a["type"] for a in answers] == ["ack"] * 5 + ["error"] * 3
    assert answers[-1]["code"] == "rate_limited" and 0 < answers[-1]["retry_after"] <= 60
    assert "from your network" in answers[-1]["message"]
    assert await run(_customers, live_desk.id) == 5
    # Someone else, elsewhere, is not held back by it.
    assert (await _first_message(widget, NEIGHBOUR))["type"] == "ack"


@pytest.mark.asyncio
async def test_messages_are_counted_per_address_whatever_the_visitor_id(widget, live_desk, settings):  # noqa: F811
    settings.WIDGET_MESSAGES_PER_MINUTE_PER_ADDRESS = 6
    visitors = [Visitor(widget.address, address=ATTACKER) for _ in range(3)]
    kinds = []
    for visitor in visitors:
        await visitor.connect()
        kinds += [(await visitor.say(f"message {i}"))["type"] for i in range(3)]
    assert kinds.count("ack") == 6 and kinds[-3:] == ["error"] * 3
    for visitor in visitors:
        await visitor.close()


@pytest.mark.asyncio
async def test_sockets_per_address_are_limited_and_told_to_come_back_later(widget, live_desk, settings):  # noqa: F811
    settings.WIDGET_SESSIONS_PER_MINUTE_PER_ADDRESS = 3
    for _ in range(3):
        visitor = Visitor(widget.address, address=ATTACKER)
        await visitor.connect()
        await visitor.close()
    refused = Visitor(widget.address, address=ATTACKER)
    await refused.connect(hello=False)
    await refused.send({"type": "hello"})
    error = await refused.receive()
    assert (error["type"], error["code"]) == ("error", "rate_limited") and error["retry_after"] > 0
    assert (await refused.socket.receive_output(timeout=1))["code"] == 4429  # the widget retries later
    elsewhere = Visitor(widget.address, address=NEIGHBOUR)
    await elsewhere.connect()
    await elsewhere.close()


@pytest.mark.asyncio
async def test_the_whole_widget_has_a_ceiling_that_leaves_other_widgets_alone(widget, live_desk,  # noqa: F811
                                                                            live_other_desk, settings):  # noqa: F811
    settings.WIDGET_MESSAGES_PER_MINUTE_PER_WIDGET = 4
    answers = [await _first_message(widget, f"192.0.2.{i}") for i in range(1, 6)]  # five addresses
    assert [a["type"] for a in answers] == ["ack"] * 4 + ["error"]
    assert "busy" in answers[-1]["message"]
    theirs = await run(create_widget, actor=live_other_desk.admin_actor, name="Globex",
                       config={"business_hours": ALWAYS})
    assert (await _first_message(theirs, "192.0.2.9"))["type"] == "ack"


@pytest.mark.asyncio
async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(widget, live_desk, settings):  # noqa: F811
    settings.WIDGET_SESSIONS_PER_MINUTE_PER_ADDRESS = 1
    settings.TRUSTED_PROXIES = []

    async def hello(forwarded_for: str) -> dict:
        visitor = Visitor(widget.address, address=ATTACKER, headers=[(b"x-forwarded-for", forwarded_for.encode())])
        await visitor.connect(hello=False)
        await visitor.send({"type": "hello"})
        frame = await visitor.receive()
        await visitor.socket.disconnect()
        return frame

    # From a peer that is not a trusted proxy, a made-up X-Forwarded-For changes nothing.
    assert (await hello("192.0.2.1"))["type"] == "welcome"
    assert (await hello("192.0.2.2"))["code"] == "rate_limited"
    # Behind a trusted proxy, its X-Forwarded-For names the visitor: two visitors, two addresses.
    settings.TRUSTED_PROXIES = ["203.0.113.0/24"]
    assert (await hello("192.0.2.3"))["type"] == "welcome"
    assert (await hello("192.0.2.4, 203.0.113.50"))["type"] == "welcome"
    assert (await hello("192.0.2.4"))["code"] == "rate_limited"


def test_the_client_address(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "::1"]
    assert client_address("203.0.113.7", "") == "203.0.113.7"
    assert client_address("203.0.113.7", "192.0.2.1") == "203.0.113.7"  # not a proxy of ours: ignored
    assert client_address("10.1.2.3", "192.0.2.1") == "192.0.2.1"
    assert client_address("10.1.2.3", "198.51.100.1, 192.0.2.1, 10.0.0.5") == "192.0.2.1"  # the nearest untrusted
    assert client_address("10.1.2.3", "not-an-address, 192.0.2.1") == "192.0.2.1"
    assert client_address("10.1.2.3", "garbage") == "10.1.2.3"
    assert client_address("10.1.2.3", "10.0.0.7") == "10.0.0.7"  # only proxies: the farthest
    assert client_address("::1", "2001:db8::1") == "2001:db8::1"
    assert client_address("", "192.0.2.1") == ""  # unknown peer (no client in the scope)


# ---- the HTTP endpoints --------------------------------------------------------------------------------


def _token(widget, address: str) -> str:
    """A session token for a new visitor from this address, as the widget's socket would hand it out."""
    from touchpoint.channels.webchat.services import start_session

    return start_session(account=widget, visitor_id=str(uuid.uuid4()), address=address).token()


@pytest.fixture
def http_widget(desk):
    return make_widget(desk)


def test_uploads_are_limited_per_address_across_visitors(client, http_widget, settings):
    settings.WIDGET_UPLOADS_PER_MINUTE_PER_ADDRESS = 3
    codes = []
    for _ in range(2):
        token = _token(http_widget, ATTACKER)
        for i in range(2):
            response = client.post("/widget/v1/uploads", {"token": token, "file": _file(f"photo{i}.png")},
                                    REMOTE_ADDR=ATTACKER)
            codes.append(response.status_code)
    assert codes == [201, 201, 201, 429]
    assert 0 < int(response["Retry-After"]) <= 60 and response.json()["code"] == "rate_limited"
    token = _token(http_widget, NEIGHBOUR)
    assert client.post("/widget/v1/uploads", {"token": token, "file": _file("a.png")},
                       REMOTE_ADDR=NEIGHBOUR).status_code == 201


def test_the_away_form_makes_few_customers_per_address(client, http_widget, desk, settings):
    settings.WIDGET_NEW_VISITORS_PER_MINUTE_PER_ADDRESS = 2
    statuses = []
    for i in range(4):
        token = _token(http_widget, ATTACKER)
        response = client.post("/widget/v1/offline", {"token": token, "client_id": str(uuid.uuid4()),
                                                      "email": f"someone{i}@example.com", "text": "Call me back"},
                               content_type="application/json", REMOTE_ADDR=ATTACKER)
        statuses.append(response.status_code)
    assert statuses == [201, 201, 429, 429]
    assert Customer.objects.filter(workspace_id=desk.id).count() == 2
    # A forged X-Forwarded-For from an untrusted peer does not reset the count.
    token = _token(http_widget, ATTACKER)
    response = client.post("/widget/v1/offline", {"token": token, "client_id": str(uuid.uuid4()),
                                                  "email": "x@example.com", "text": "hi"},
                           content_type="application/json", REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR="192.0.2.50")
    assert response.status_code == 429


def _file(name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, b"\x89PNG\r\n\x1a\n" + b"0" * 100, content_type="image/png")
