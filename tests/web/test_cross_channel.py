"""Working across channels from the conversation pane: replying on another channel than the
conversation's, each message showing its channel, and linking identities by hand (merge when taken)."""

import re

import pytest

from tests.conftest import Desk
from tests.web.test_browser import Agent, browser, server  # noqa: F401  (browser, server: fixtures)
from touchpoint.conversations.models import Message
from touchpoint.conversations.services import Content, receive_message
from touchpoint.customers import services as customers
from touchpoint.customers.models import Customer, Identity

from .conftest import signed_in

HTMX = {"HTTP_HX_REQUEST": "true"}


def chat(desk, text="Hi from the widget", visitor="v-0001"):
    message, _ = receive_message(workspace_id=desk.id, channel="webchat", sender=("visitor", visitor),
                                 content=Content(text=text))
    return message.conversation


def channel_options(html: str) -> list[str]:
    select = re.search(r'<select name="channel".*?</select>', html, re.S)
    return re.findall(r'<option value="(\w+)"', select.group(0)) if select else []


def test_the_composer_offers_the_channels_the_customer_can_be_reached_on(desk):
    conversation = chat(desk)
    client = signed_in(desk.agent)
    page = client.get(f"/conversations/{conversation.pk}/", **HTMX).content.decode()
    assert channel_options(page) == []  # only the chat: nothing to choose
    customers.add_identity(customer=conversation.customer, kind="email", value="lena@example.com")
    customers.add_identity(customer=conversation.customer, kind="phone", value="+44 20 7946 0958")
    page = client.get(f"/conversations/{conversation.pk}/", **HTMX).content.decode()
    assert channel_options(page) == ["webchat", "email", "sms", "whatsapp"]  # its own channel first


def test_a_reply_goes_out_on_the_chosen_channel_and_the_thread_shows_each_messages_channel(desk):
    conversation = chat(desk)
    customers.add_identity(customer=conversation.customer, kind="email", value="lena@example.com")
    client = signed_in(desk.agent)
    response = client.post(f"/conversations/{conversation.pk}/messages/",
                           {"kind": "reply", "text": "Answered by email", "channel": "email"}, **HTMX)
    assert response.status_code == 200
    reply = Message.objects.get(kind="outgoing")
    assert (reply.channel, reply.conversation_id) == ("email", conversation.pk)
    assert 'value="email" selected' in response.content.decode()  # the composer keeps the choice
    thread = client.get(f"/conversations/{conversation.pk}/thread/").content.decode()
    badges = re.findall(r'<article class="msg msg-(\w+)".*?<span class="badge ch ch-(\w+)">([^<]+)</span>', thread, re.S)
    assert badges == [("incoming", "webchat", "Web chat"), ("outgoing", "email", "Email")]


def test_a_channel_the_customer_cannot_be_reached_on_is_refused_and_nothing_is_sent(desk):
    conversation = chat(desk)
    client = signed_in(desk.agent)
    response = client.post(f"/conversations/{conversation.pk}/messages/",
                           {"kind": "reply", "text": "by text", "channel": "sms"}, **HTMX)
    assert response.status_code == 422
    assert "cannot be reached by SMS" in response.content.decode() and "Web chat" in response.content.decode()
    assert client.post(f"/conversations/{conversation.pk}/messages/",
                       {"kind": "reply", "text": "x", "channel": "pigeon"}, **HTMX).status_code == 422
    assert not Message.objects.filter(kind="outgoing").exists()
    # A note stays a note, whatever channel is picked.
    client.post(f"/conversations/{conversation.pk}/messages/", {"kind": "note", "text": "n", "channel": "sms"}, **HTMX)
    assert Message.objects.get(kind="note").channel == "webchat"


def test_an_agent_links_an_email_by_hand(desk):
    conversation = chat(desk)
    customer = conversation.customer
    client = signed_in(desk.agent)
    response = client.post(f"/customers/{customer.pk}/identities/", {"kind": "email", "value": " Lena@Example.com "},
                           **HTMX)
    assert response.status_code == 200 and "lena@example.com" in response.content.decode()
    assert Identity.objects.filter(customer=customer, kind="email", value="lena@example.com", verified=False).exists()
    bad = client.post(f"/customers/{customer.pk}/identities/", {"kind": "phone", "value": "call me"}, **HTMX)
    assert bad.status_code == 422 and "international form" in bad.content.decode()
    assert client.post(f"/customers/{customer.pk}/identities/", {"kind": "visitor", "value": "x"},
                       **HTMX).status_code == 422
    assert customer.identities.count() == 2


def test_a_taken_identity_offers_to_merge_the_two_customers(desk):
    conversation = chat(desk)
    visitor = conversation.customer
    known = customers.create_customer(workspace_id=desk.id, name="Lena Park", identities=[("email", "lena@example.com")])
    earlier, _ = receive_message(workspace_id=desk.id, channel="email", customer=known, content=Content(text="old mail"))
    client = signed_in(desk.agent)
    offer = client.post(f"/customers/{visitor.pk}/identities/", {"kind": "email", "value": "LENA@example.com"}, **HTMX)
    html = offer.content.decode()
    assert offer.status_code == 200 and "belongs to" in html and "Lena Park" in html
    assert f'name="source" value="{known.pk}"' in html
    assert not Identity.objects.filter(customer=visitor, kind="email").exists()

    merged = client.post(f"/customers/{visitor.pk}/merge/", {"source": known.pk}, **HTMX)
    assert merged.status_code == 204 and merged["HX-Refresh"] == "true"
    known.refresh_from_db()
    assert known.merged_into_id == visitor.pk
    assert Identity.objects.get(kind="email", value="lena@example.com").customer_id == visitor.pk
    assert earlier.conversation.__class__.objects.get(pk=earlier.conversation_id).customer_id == visitor.pk


def test_identities_and_merges_stay_inside_the_workspace(desk, other_desk):
    ours = chat(desk).customer
    theirs = customers.create_customer(workspace_id=other_desk.id, name="Globex customer",
                                       identities=[("email", "shared@example.com")])
    client = signed_in(desk.agent)
    assert client.post(f"/customers/{theirs.pk}/identities/", {"kind": "email", "value": "x@example.com"},
                       **HTMX).status_code == 404
    assert client.post(f"/customers/{ours.pk}/merge/", {"source": theirs.pk}, **HTMX).status_code == 404
    # The same address in another workspace is not "taken" here: no offer, no peek at their customer.
    response = client.post(f"/customers/{ours.pk}/identities/", {"kind": "email", "value": "shared@example.com"}, **HTMX)
    assert "belongs to" not in response.content.decode() and "Globex" not in response.content.decode()
    assert Customer.objects.get(pk=theirs.pk).merged_into_id is None
    assert client.post(f"/customers/{ours.pk}/merge/", {"source": "abc"}, **HTMX).status_code == 422


def test_an_address_a_visitor_only_typed_is_marked_and_an_agent_can_give_it_to_its_owner(desk):
    """A claim is shown for what it is, and is nobody's: an agent adding it to another customer takes
    it over (no merge offered), the visitor keeps their chat and the address as a hint."""
    conversation = chat(desk)
    visitor = conversation.customer
    customers.add_identity(customer=visitor, kind="email", value="lena@example.com", claimed=True)
    client = signed_in(desk.agent)
    page = client.get(f"/conversations/{conversation.pk}/", **HTMX).content.decode()
    assert re.search(r"lena@example.com <span class=\"badge ch\" title=\"Typed into the chat[^\"]*\">typed in chat</span>",
                     page)
    assert "email" in channel_options(page)  # the visitor can be answered at it

    lena = customers.create_customer(workspace_id=desk.id, name="Lena Park")
    response = client.post(f"/customers/{lena.pk}/identities/", {"kind": "email", "value": "lena@example.com"}, **HTMX)
    assert response.status_code == 200 and "belongs to" not in response.content.decode()
    identity = Identity.objects.get(kind="email", value="lena@example.com")
    assert (identity.customer_id, identity.claimed) == (lena.pk, False)
    assert Customer.objects.get(pk=visitor.pk).custom_attributes == {"unverified_email": "lena@example.com"}
    assert conversation.__class__.objects.get(pk=conversation.pk).customer_id == visitor.pk


@pytest.fixture
def claimed_chat(server) -> int:  # noqa: F811
    desk = Desk("acme")
    conversation = chat(desk)
    customers.add_identity(customer=conversation.customer, kind="email", value="lena@example.com", claimed=True)
    return conversation.pk


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (1440, 900), (1920, 1080)])
def test_the_sidebar_shows_a_typed_in_chat_address_for_what_it_is(server, claimed_chat, browser, width,  # noqa: F811
                                                                  height):
    from playwright.sync_api import expect

    agent = Agent(browser, server, "ana@acme.test", "agent-pass-1")
    agent.page.set_viewport_size({"width": width, "height": height})
    agent.page.goto(f"{server}/conversations/{claimed_chat}/")
    badge = agent.page.locator("#customer-identities .badge", has_text="typed in chat")
    badge.scroll_into_view_if_needed()
    expect(badge).to_be_visible()
    assert "not confirmed" in badge.get_attribute("title")
    agent.page.locator("#customer-identities").screenshot(path=f"/tmp/claimed-identity-{width}x{height}.png")
    assert agent.problems == []
