"""Widget identity: only what `user_hash` signs identifies or links a customer.

The attack: a shop signs its own user ids (`user_hash` over user_id alone). An attacker with an account
of their own gets a valid hash for their own new user id and puts the victim's email beside it. The
email is not covered by the signature, so it must not find the victim's record, must not be attached
to anyone as verified, and must not open the victim's history or orders (the bot trusts a signed-in
customer with their own orders)."""

import hashlib
import hmac
import json
import re
import shutil
import smtplib
import subprocess
import uuid
from pathlib import Path

import pytest
from django.test import Client

from tests.apiclient import api_as
from tests.bot.dialogue_helpers import enable_bot, run_turns, stock_store
from tests.channels.email.conftest import mail, sink, smtpd  # noqa: F401  (sink, smtpd: fixtures)
from tests.channels.webchat.conftest import (  # noqa: F401  (live_desk, live_other_desk, widget: fixtures)
    Visitor,
    live_desk,
    live_other_desk,
    make_widget,
    run,
    signed_user,
    widget,
)
from touchpoint.bot.services import forget_cached_models
from touchpoint.channels.delivery import deliver_message
from touchpoint.channels.models import ChannelAccount
from touchpoint.channels.webchat.services import user_hash
from touchpoint.commerce.models import Order
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Message
from touchpoint.conversations.services import Content
from touchpoint.customers.models import Customer, Identity

pytestmark = pytest.mark.asyncio

VICTIM_EMAIL = "maria@example.com"


@pytest.fixture(autouse=True)
def _fresh_models():
    forget_cached_models()
    yield
    forget_cached_models()


@pytest.fixture
def shop(live_desk):  # noqa: F811
    """A store whose bot tells signed-in customers about their orders; Maria (shop-42) has one, and a
    chat and an email conversation with the desk."""
    stock_store(live_desk)  # Maria's order NW-100234, placed as shop-42 with maria@example.com
    enable_bot(live_desk)
    chat = make_widget(live_desk)
    maria = Identity.objects.get(workspace_id=live_desk.id, kind="email", value=VICTIM_EMAIL).customer
    conversations.receive_message(workspace_id=live_desk.id, channel="webchat", customer=maria,
                                  content=Content(text="my private chat: the parcel goes to 12 Elm Street"))
    conversations.receive_message(workspace_id=live_desk.id, channel="email", customer=maria,
                                  content=Content(text="my private mail"), new_conversation=True)
    return chat


def _identities(customer_id: int) -> set[tuple[str, str, bool]]:
    return {(i.kind, i.value, i.verified) for i in Identity.objects.filter(customer_id=customer_id)}


def _maria() -> Customer:
    return Identity.objects.get(kind="email", value=VICTIM_EMAIL).customer


async def _bot_text(visitor: Visitor) -> str:
    await run(run_turns)
    frame = await visitor.receive_type("message")
    assert frame["from"] == "bot", frame
    return frame["text"]


async def test_an_unsigned_email_beside_a_valid_hash_neither_finds_nor_links_the_victim(shop):
    maria = await run(_maria)
    before = await run(_identities, maria.pk)
    attacker = Visitor(shop.address, user=signed_user(shop, user_id="attacker-7", email=VICTIM_EMAIL,
                                                      name="Maria Garcia"))
    assert await attacker.connect() == [{"type": "history", "messages": []}]  # nothing of Maria's
    assert attacker.welcome["verified"] is True  # for their own user id, and only that
    assert any("email" in warning and "not signed" in warning for warning in attacker.welcome["warnings"])

    ack = await attacker.say("hello")
    mine = await run(Message.objects.select_related("customer").get, pk=ack["message"]["id"])
    assert mine.customer_id != maria.pk
    # The victim's record is as it was; the attacker's carries their own signed id, the email only as a hint.
    assert await run(_identities, maria.pk) == before
    assert await run(_identities, mine.customer_id) == {("external", "attacker-7", True),
                                                        ("visitor", attacker.visitor_id, False)}
    assert mine.customer.custom_attributes == {"unverified_email": VICTIM_EMAIL}
    assert await run(lambda: Customer.objects.filter(merged_into__isnull=False).count()) == 0

    # The bot treats the attacker as who the signature says: Maria's order does not open.
    assert "NW-100234" not in await _bot_text(attacker)  # the bot's greeting
    await attacker.say("where is my order?")
    answer = await _bot_text(attacker)
    assert "NW-100234" not in answer and "1Z999AA10123456784" not in answer
    await attacker.say("where is order NW-100234?")
    answer = await _bot_text(attacker)
    assert "1Z999AA10123456784" not in answer and "email" in answer  # the checkout email is asked for
    await attacker.close()

    # Coming back (a fresh page, the same browser) still shows only the attacker's own chat.
    again = Visitor(shop.address, visitor_id=attacker.visitor_id, user=attacker.user)
    (history,) = await again.connect()
    assert "12 Elm Street" not in str(history) and "private mail" not in str(history)
    await again.close()


async def test_an_unsigned_email_is_never_merged_even_after_writing_anonymously_first(shop):
    """What an anonymous visitor wrote joins the record of the user id they sign in with, never the
    record an unsigned email names."""
    maria = await run(_maria)
    visitor = Visitor(shop.address)
    await visitor.connect()
    await visitor.say("hello before signing in")
    await visitor.close()
    attacker = Visitor(shop.address, visitor_id=visitor.visitor_id,
                       user=signed_user(shop, user_id="attacker-8", email=VICTIM_EMAIL))
    (history,) = await attacker.connect()
    assert [m["text"] for m in history["messages"]] == ["hello before signing in"]
    assert not await run(Message.objects.filter(customer=maria, content_text="hello before signing in").exists)
    assert not await run(Identity.objects.filter(customer=maria, value="attacker-8").exists)
    await attacker.close()


async def test_a_hash_that_signs_the_email_too_links_the_customer_who_owns_it(shop):
    """The documented payload user_id + "\\n" + email: the site vouches for both."""
    maria = await run(_maria)
    user = signed_user(shop, user_id="shop-9000", email=VICTIM_EMAIL, sign_email=True)
    assert user["user_hash"] == user_hash(shop.secret, "shop-9000", VICTIM_EMAIL)
    visitor = Visitor(shop.address, user=user)
    (history,) = await visitor.connect()
    assert visitor.welcome["verified"] is True and visitor.welcome["warnings"] == []
    assert "12 Elm Street" in str(history)
    assert {("external", "shop-9000", True), ("email", VICTIM_EMAIL, True)} <= await run(_identities, maria.pk)
    await visitor.close()


async def test_a_signed_email_cannot_be_swapped_for_another(shop):
    """A hash over (user_id, email) is valid for that email only; with another one nobody is trusted."""
    maria = await run(_maria)
    user = {**signed_user(shop, user_id="shop-9001", email="attacker@example.com", sign_email=True),
            "email": VICTIM_EMAIL}
    visitor = Visitor(shop.address, user=user)
    assert await visitor.connect() == []
    assert visitor.welcome["verified"] is False
    ack = await visitor.say("hi")
    assert (await run(Message.objects.get, pk=ack["message"]["id"])).customer_id != maria.pk
    assert not await run(Identity.objects.filter(value="shop-9001").exists)
    await visitor.close()


async def test_a_user_id_only_hash_still_signs_in_a_known_user(shop):
    """Hashes made before the email could be signed keep working for the user id they sign."""
    maria = await run(_maria)
    visitor = Visitor(shop.address, user=signed_user(shop, user_id="shop-42", email=VICTIM_EMAIL))
    (history,) = await visitor.connect()
    assert visitor.welcome["verified"] is True and "12 Elm Street" in str(history)
    await visitor.say("where is my order?")
    assert "Order NW-100234" in await _bot_text(visitor)
    assert ("email", VICTIM_EMAIL, True) not in await run(_identities, maria.pk)  # unsigned: not promoted
    await visitor.close()


async def test_another_workspaces_hash_signs_nobody_in(shop, live_other_desk):  # noqa: F811
    theirs = await run(make_widget, live_other_desk)
    forged = {**signed_user(theirs, user_id="shop-42", email=VICTIM_EMAIL, sign_email=True)}
    visitor = Visitor(shop.address, user=forged)
    assert await visitor.connect() == []
    assert visitor.welcome["verified"] is False
    await visitor.close()


# ---- the documented payload ------------------------------------------------------------------------


def _readme_block(language: str, marker: str) -> str:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    blocks = re.findall(rf"```{language}\n(.*?)```", readme, re.S)
    return next(block for block in blocks if marker in block)


def _expected(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


async def test_the_readmes_python_example_computes_what_the_desk_checks():
    namespace: dict = {"WIDGET_SECRET": "s3cret"}
    exec(_readme_block("python", "def user_hash"), namespace)  # noqa: S102  (our own README)
    for args in (("shop-42",), ("shop-42", "maría@example.com")):
        assert namespace["user_hash"]("s3cret", *args) == user_hash("s3cret", *args)
    assert user_hash("s3cret", "shop-42", "maria@example.com") == _expected("s3cret", "shop-42\nmaria@example.com")
    assert user_hash("s3cret", "shop-42") == _expected("s3cret", "shop-42")


async def test_the_readmes_node_example_computes_what_the_desk_checks():
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    script = ('const WIDGET_SECRET = "s3cret";\n' + _readme_block("javascript", "function userHash")
              + '\nconsole.log(JSON.stringify([userHash("s3cret", "shop-42"), '
                'userHash("s3cret", "shop-42", "maría@example.com")]));')
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True, timeout=30).stdout
    assert json.loads(out) == [user_hash("s3cret", "shop-42"), user_hash("s3cret", "shop-42", "maría@example.com")]


# ---- an address typed into the widget is a claim, never an identity a trusted source trusts ----------
#
# The attack: before Maria ever deals with the shop, an attacker types her address into the pre-chat
# form (or the away form). Nobody holds it yet, so it joins the attacker's record, unconfirmed. When the
# store later pushes Maria's order, when Maria writes in by email, or when the shop signs her in, each of
# those trusted sources resolves the customer by that address: it must land on a record of Maria's own,
# never beside the attacker's chat.

SQUATTED = "maria@example.net"  # nobody holds it until the attacker types it


@pytest.fixture
def prechat_widget(live_desk):  # noqa: F811
    return make_widget(live_desk, prechat=True)


@pytest.fixture
def mailbox(live_desk):  # noqa: F811
    return ChannelAccount.objects.create(workspace_id=live_desk.id, kind="email", name="Support",
                                         address="support@acme.test")


def _order(email: str, number: str = "NW-200001", **fields) -> dict:
    return {"number": number, "email": email, "currency": "USD", "placed_at": "2026-03-02T10:30:00Z",
            "lines": [{"name": "Trail Fleece Jacket", "quantity": 1, "unit_price": "59.50"}], "total": "59.50",
            **fields}


def _push_order(membership, body: dict) -> Order:
    response = api_as(membership).post("/commerce/orders", body)
    assert response.status_code == 201, response.json()
    return Order.objects.get(workspace_id=membership.workspace_id, number=body["number"])


def _send_mail(port: int, raw: bytes, *, sender: str, to: str = "support@acme.test") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(sender, [to], raw)


def _email_identity(value: str, workspace_id: int) -> Identity | None:
    return Identity.objects.filter(workspace_id=workspace_id, kind="email", value=value).first()


def _attributes(customer_id: int) -> dict:
    return Customer.objects.get(pk=customer_id).custom_attributes


async def _squat(chat, text: str = "hi, a quick question") -> tuple[Visitor, int]:
    """The attacker's chat, with Maria's address in the pre-chat form; returns their record's id."""
    squatter = Visitor(chat.address)
    await squatter.connect()
    ack = await squatter.say(text, prechat={"name": "Maria Garcia", "email": SQUATTED})
    message = await run(Message.objects.get, pk=ack["message"]["id"])
    return squatter, message.customer_id


async def test_a_pre_chat_email_captures_neither_the_owners_orders_nor_their_mail(live_desk, prechat_widget,  # noqa: F811
                                                                                    mailbox, smtpd):  # noqa: F811
    squatter, squatter_id = await _squat(prechat_widget, "is my parcel on its way?")
    assert (await run(_email_identity, SQUATTED, live_desk.id)).customer_id == squatter_id  # agents can reach them

    # The store pushes Maria's order: it goes to a record of Maria's, never to the squatter's.
    order = await run(_push_order, live_desk.admin, _order("Maria@Example.net", customer_name="Maria Garcia"))
    assert order.customer_id != squatter_id
    owned = await run(_email_identity, SQUATTED, live_desk.id)
    assert owned.customer_id == order.customer_id and not owned.claimed
    # The squatter keeps their chat, with the address only as a hint for agents.
    assert await run(_attributes, squatter_id) == {"unverified_email": SQUATTED}
    assert await run(Message.objects.filter(customer_id=squatter_id, content_text="is my parcel on its way?").exists)

    # Maria writes in by email (real SMTP): her mail joins her record too.
    await run(_send_mail, smtpd, mail(sender=f"Maria Garcia <{SQUATTED}>", message_id="<maria-1@example.net>"),
              sender=SQUATTED)
    mailed = await run(Message.objects.get, external_id="maria-1@example.net")
    assert mailed.customer_id == order.customer_id != squatter_id

    # Nothing of Maria's reaches the squatter's widget.
    again = Visitor(prechat_widget.address, visitor_id=squatter.visitor_id)
    (history,) = await again.connect()
    assert [m["text"] for m in history["messages"]] == ["is my parcel on its way?"]
    await squatter.close()
    await again.close()


async def test_an_away_form_email_does_not_capture_mail_from_that_address(live_desk, widget, mailbox, smtpd):  # noqa: F811
    squatter = Visitor(widget.address)
    await squatter.connect()
    response = await run(_leave_away_message, squatter.welcome["token"], SQUATTED, "call me back")
    assert response.status_code == 201 and response.json()["visible"] is True
    squatter_id = (await run(Message.objects.get, pk=response.json()["message"]["id"])).customer_id

    await run(_send_mail, smtpd, mail(sender=SQUATTED, message_id="<maria-2@example.net>"), sender=SQUATTED)
    mailed = await run(Message.objects.select_related("conversation").get, external_id="maria-2@example.net")
    assert mailed.customer_id != squatter_id and mailed.conversation.customer_id != squatter_id
    assert (await run(_email_identity, SQUATTED, live_desk.id)).customer_id == mailed.customer_id
    assert await run(_attributes, squatter_id) == {"unverified_email": SQUATTED}
    await squatter.close()


async def test_a_signed_sign_in_takes_a_squatted_address_back(live_desk, prechat_widget):  # noqa: F811
    """The shop signs Maria in with her confirmed address: she gets her own record, and the squatter's
    chat is neither shown to her nor joined to her."""
    squatter, squatter_id = await _squat(prechat_widget, "the attacker's own chat")
    maria = Visitor(prechat_widget.address, user=signed_user(prechat_widget, user_id="shop-77", email=SQUATTED,
                                                             sign_email=True))
    assert await maria.connect() == [{"type": "history", "messages": []}]
    ack = await maria.say("hello, it's Maria")
    mine = await run(Message.objects.get, pk=ack["message"]["id"])
    assert mine.customer_id != squatter_id
    assert await run(_identities, mine.customer_id) == {("external", "shop-77", True), ("email", SQUATTED, True),
                                                        ("visitor", maria.visitor_id, False)}
    assert await run(_identities, squatter_id) == {("visitor", squatter.visitor_id, False)}
    assert await run(_attributes, squatter_id) == {"unverified_email": SQUATTED}
    await squatter.close()
    await maria.close()


async def test_an_away_form_is_answered_by_email_and_the_answer_threads_back(live_desk, widget,  # noqa: F811
                                                                             mailbox, smtpd, sink):  # noqa: F811
    """The away form's whole round trip over real SMTP: the agent's answer goes to the address the
    visitor gave, and the visitor's emailed replies (by References, or by the reply token alone) join
    the same conversation on the visitor's record, shown in their widget. An earlier squatter's claim
    on the address neither receives the message nor sees any of it."""
    squatter, squatter_id = await _squat(await run(make_widget, live_desk, prechat=True))
    lena = Visitor(widget.address)
    await lena.connect()
    response = await run(_leave_away_message, lena.welcome["token"], SQUATTED, "Do you ship to Norway?", name="Lena")
    assert response.status_code == 201 and response.json()["visible"] is True
    left = await run(Message.objects.select_related("conversation").get, pk=response.json()["message"]["id"])
    lena_id, conversation = left.customer_id, left.conversation
    assert lena_id != squatter_id and left.metadata["reply_to"] == SQUATTED

    answer = await run(conversations.reply, actor=live_desk.agent_actor, conversation=conversation,
                       content=Content(text="We do, in 3 days."), channel="email")
    assert await run(deliver_message.call, answer.pk) == "sent"
    (_, rcpt_tos, sent), = sink.received
    assert rcpt_tos == [SQUATTED] and sent["Reply-To"].addresses[0].addr_spec.startswith(f"support+t{conversation.pk}.")

    reply_mail = mail(sender=f"Lena <{SQUATTED}>", subject=f"Re: {sent['Subject']}", message_id="<lena-1@example.net>",
                      text="Great, thanks!\n\nOn Tue, Desk wrote:\n> We do, in 3 days.",
                      headers={"In-Reply-To": sent["Message-ID"], "References": sent["Message-ID"]})
    await run(_send_mail, smtpd, reply_mail, sender=SQUATTED)
    token_only = mail(sender=SQUATTED, subject="Re: your answer", message_id="<lena-2@example.net>", text="One more")
    await run(_send_mail, smtpd, token_only, sender=SQUATTED, to=sent["Reply-To"].addresses[0].addr_spec)
    for mail_id in ("lena-1@example.net", "lena-2@example.net"):
        threaded = await run(Message.objects.get, external_id=mail_id)
        assert (threaded.conversation_id, threaded.customer_id) == (conversation.pk, lena_id)

    # Lena's widget shows the whole exchange; the squatter's shows nothing of it.
    back = Visitor(widget.address, visitor_id=lena.visitor_id)
    (history,) = await back.connect()
    assert [m["text"] for m in history["messages"]] == ["Do you ship to Norway?", "We do, in 3 days.",
                                                       "Great, thanks!", "One more"]
    again = Visitor(widget.address, visitor_id=squatter.visitor_id)
    (theirs,) = await again.connect()
    assert "Norway" not in str(theirs) and "3 days" not in str(theirs)
    # Answering mail proves only that someone reads that mailbox: the address stays a claim.
    claim = await run(_email_identity, SQUATTED, live_desk.id)
    assert claim.customer_id == lena_id and claim.claimed and not claim.verified
    for visitor in (squatter, lena, back, again):
        await visitor.close()


async def test_taking_an_address_back_in_one_workspace_leaves_another_alone(live_desk,  # noqa: F811
                                                                           live_other_desk, prechat_widget):  # noqa: F811
    theirs = await run(make_widget, live_other_desk, prechat=True)
    _, here = await _squat(prechat_widget)
    there_visitor, there = await _squat(theirs)
    order = await run(_push_order, live_other_desk.admin, _order(SQUATTED))
    assert order.customer_id != there
    assert (await run(_email_identity, SQUATTED, live_other_desk.id)).customer_id == order.customer_id
    # The other workspace's squatter record is untouched: still holds its claim, no hint added.
    claim = await run(_email_identity, SQUATTED, live_desk.id)
    assert claim.customer_id == here and claim.claimed
    assert await run(_attributes, here) == {}
    await there_visitor.close()


def _leave_away_message(token: str, email: str, text: str, name: str = ""):
    body = {"token": token, "client_id": str(uuid.uuid4()), "email": email, "text": text, "name": name}
    return Client().post("/widget/v1/offline", json.dumps(body), content_type="application/json")
