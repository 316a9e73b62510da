"""The demo store's "Sign in (demo shopper)" hands out a valid user_hash to whoever clicks it. It may
only ever sign a made-up shopper for the demo store's own widget: never with the secret of a widget a
real site uses, never a customer with a real address, and nowhere but the demo workspace."""

import re

import pytest

from touchpoint.accounts import services as accounts
from touchpoint.accounts.selectors import actor_for
from touchpoint.channels.models import ChannelAccount
from touchpoint.channels.webchat import services
from touchpoint.channels.webchat.services import SiteUser, create_widget, user_hash, verify
from touchpoint.conversations import services as conversations
from touchpoint.conversations.services import Content
from touchpoint.core.errors import NotFound
from touchpoint.customers import services as customers
from touchpoint.demo import DEMO_SLUG

pytestmark = pytest.mark.django_db


def _workspace(slug: str = DEMO_SLUG):
    return accounts.create_workspace(name="Northwind Outfitters", slug=slug, admin_email=f"admin@{slug}.test",
                                     admin_password="admin-pass-1")


def _shopper(workspace, *, email: str = "maria@example.com", user_id: str = "shop-100007"):
    customer = customers.create_customer(workspace_id=workspace.pk, name="Maria Garcia", identities=[("email", email)])
    customers.add_identity(customer=customer, kind="external", value=user_id, verified=True)
    conversations.receive_message(workspace_id=workspace.pk, channel="webchat", customer=customer,
                                  content=Content(text="hello"))
    return customer


def _signed(page: str) -> dict:
    found = dict(re.findall(r'data-(user-id|email|name|user-hash)="([^"]*)"', page))
    return {"user_id": found["user-id"], "email": found["email"], "user_hash": found["user-hash"]}


def test_the_demo_shopper_is_signed_for_the_demo_stores_own_widget_only(client):
    workspace, admin = _workspace()
    _shopper(workspace)
    # The demo workspace's admin set up a widget for a real site before anyone opened the demo store.
    real = create_widget(actor=actor_for(admin), name="Our shop")
    page = client.get("/demo-store/?signed_in=1").content.decode()
    demo = ChannelAccount.objects.get(workspace=workspace, kind="webchat", config__demo_store=True)
    assert demo.pk != real.pk and f'src="/widget/v1/{demo.address}.js"' in page
    signed = _signed(page)
    user = SiteUser(user_id=signed["user_id"], email=signed["email"], user_hash=signed["user_hash"])
    assert verify(demo, user) is not None  # the demo store's sign-in works...
    assert verify(real, user) is None  # ...and is worth nothing on the real site's widget
    assert real.address not in page
    # The page says what the button is.
    assert "Demo only" in page and "without a password" in page


def test_only_a_made_up_shopper_is_ever_signed_in(client):
    """A workspace that happens to have the demo's slug but real customers signs nobody in."""
    workspace, _ = _workspace()
    _shopper(workspace, email="maria.garcia@gmail.com")
    assert client.get("/demo-store/").status_code == 200
    refused = client.get("/demo-store/?signed_in=1")
    assert refused.status_code == 404 and b"data-user-hash" not in refused.content


def test_no_demo_store_and_no_sign_in_without_the_demo_workspace(client):
    workspace, _ = _workspace("acme")
    _shopper(workspace)
    for path in ("/demo-store/", "/demo-store/?signed_in=1"):
        response = client.get(path)
        assert response.status_code == 404 and b"data-user-hash" not in response.content
    assert not ChannelAccount.objects.filter(kind="webchat").exists()


def test_the_demo_sign_in_refuses_any_widget_but_the_demo_stores(client):
    workspace, admin = _workspace()
    _shopper(workspace)
    real = create_widget(actor=actor_for(admin), name="Our shop")
    with pytest.raises(NotFound):
        services.demo_sign_in(account=real, demo_workspace=workspace)
    other, other_admin = _workspace("acme")
    _shopper(other)
    elsewhere = ChannelAccount.objects.create(workspace=other, kind="webchat", name="Demo store", address="wk_x",
                                              config={"demo_store": True})
    with pytest.raises(NotFound):  # the mark alone is not enough: it must be the demo workspace's
        services.demo_sign_in(account=elsewhere, demo_workspace=workspace)
    demo = services.ensure_demo_widget(workspace)
    signed = services.demo_sign_in(account=demo, demo_workspace=workspace)
    assert signed["user_hash"] == user_hash(demo.secret, "shop-100007", "maria@example.com")
