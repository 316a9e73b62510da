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
import subprocess
from pathlib import Path

import pytest

from tests.bot.dialogue_helpers import enable_bot, run_turns, stock_store
from tests.channels.webchat.conftest import (  # noqa: F401  (live_desk, live_other_desk: fixtures)
    Visitor,
    live_desk,
    live_other_desk,
    make_widget,
    run,
    signed_user,
)
from touchpoint.bot.services import forget_cached_models
from touchpoint.channels.webchat.services import user_hash
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
    widget = make_widget(live_desk)
    maria = Identity.objects.get(workspace_id=live_desk.id, kind="email", value=VICTIM_EMAIL).customer
    conversations.receive_message(workspace_id=live_desk.id, channel="webchat", customer=maria,
                                  content=Content(text="my private chat: the parcel goes to 12 Elm Street"))
    conversations.receive_message(workspace_id=live_desk.id, channel="email", customer=maria,
                                  content=Content(text="my private mail"), new_conversation=True)
    return widget


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
