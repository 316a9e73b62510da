import pytest

from touchpoint.conversations.models import Conversation, Message
from touchpoint.conversations.services import Content, receive_message, reply
from touchpoint.core.errors import Conflict, NotFound, ValidationFailed
from touchpoint.core.models import AuditEntry
from touchpoint.customers import services
from touchpoint.customers.identities import normalize
from touchpoint.customers.models import Customer, Identity
from touchpoint.customers.selectors import access_customer, search_customers
from touchpoint.customers.timeline import customer_timeline


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("email", "  Jo.Smith@Example.COM ", "jo.smith@example.com"),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("phone", "+1 (415) 555-2671", "+14155552671"),
        ("social", "@Jo_Smith", "@jo_smith"),
        ("visitor", "v_3f9a", "v_3f9a"),
    ],
)
def test_identities_are_normalized(kind, raw, expected):
    assert normalize(kind, raw) == expected


@pytest.mark.parametrize(("kind", "raw"), [("email", "not-an-email"), ("phone", "12"), ("fax", "1"), ("email", ""),
                                           ("external", "has spaces in it")])
def test_bad_identities_are_refused(kind, raw):
    with pytest.raises(ValidationFailed):
        normalize(kind, raw)


def test_same_identity_resolves_to_same_customer(desk):
    a = services.resolve_customer(workspace_id=desk.id, kind="email", value="JO@example.com", name="Jo")
    b = services.resolve_customer(workspace_id=desk.id, kind="email", value="jo@EXAMPLE.com")
    assert a.pk == b.pk
    assert Customer.objects.count() == 1


def test_identity_is_per_workspace(desk, other_desk):
    a = services.resolve_customer(workspace_id=desk.id, kind="phone", value="+442079460958")
    b = services.resolve_customer(workspace_id=other_desk.id, kind="phone", value="+44 20 7946 0958")
    assert a.pk != b.pk


def test_identity_taken_by_another_customer_is_a_conflict(desk):
    a = services.create_customer(workspace_id=desk.id, name="A", identities=[("email", "a@example.com")])
    b = services.create_customer(workspace_id=desk.id, name="B")
    with pytest.raises(Conflict) as err:
        services.add_identity(customer=b, kind="email", value="A@example.com")
    assert err.value.code == "identity_taken"
    assert services.add_identity(customer=a, kind="email", value="a@example.com").customer_id == a.pk  # idempotent


def test_a_claim_is_nobodys_and_any_other_source_takes_it_over(desk):
    """A claim (an address a chat visitor typed) identifies the claimant to nothing else."""
    claimant = services.create_customer(workspace_id=desk.id, name="Visitor")
    services.add_identity(customer=claimant, kind="email", value="maria@example.net", claimed=True)
    chat, _ = receive_message(workspace_id=desk.id, channel="webchat", customer=claimant, content=Content(text="hi"))

    # A trusted source resolving the address gets a customer of its own, who takes the claim.
    owner = services.resolve_customer(workspace_id=desk.id, kind="email", value="Maria@Example.net", name="Maria")
    assert owner.pk != claimant.pk and owner.name == "Maria"
    identity = Identity.objects.get(value="maria@example.net")
    assert (identity.customer_id, identity.claimed, identity.verified) == (owner.pk, False, False)
    claimant.refresh_from_db()
    assert claimant.custom_attributes == {"unverified_email": "maria@example.net"}
    assert Message.objects.get(pk=chat.pk).customer_id == claimant.pk  # the claimant keeps their chat
    entry = AuditEntry.objects.get(action="identity.claim_taken_over")
    assert (entry.object_id, entry.data["to_customer_id"]) == (str(claimant.pk), owner.pk)
    # Now it is the owner's: nobody takes it from them, a claim included.
    assert services.resolve_customer(workspace_id=desk.id, kind="email", value="maria@example.net").pk == owner.pk
    with pytest.raises(Conflict):
        services.add_identity(customer=claimant, kind="email", value="maria@example.net", claimed=True)


def test_adding_a_claimed_identity_takes_it_over_and_confirms_ones_own(desk):
    first = services.create_customer(workspace_id=desk.id, name="First visitor")
    services.add_identity(customer=first, kind="email", value="lena@example.com", claimed=True)
    # A later claim takes it from an earlier one: neither proves anything.
    later = services.create_customer(workspace_id=desk.id, name="Later visitor")
    services.add_identity(customer=later, kind="email", value="lena@example.com", claimed=True)
    assert Identity.objects.get(value="lena@example.com").customer_id == later.pk
    # A source that vouches (an agent, the API, a signed sign-in) makes the holder's claim their own.
    confirmed = services.add_identity(customer=later, kind="email", value="lena@example.com", verified=True)
    assert (confirmed.customer_id, confirmed.claimed, confirmed.verified) == (later.pk, False, True)
    # And a claim never undoes that.
    again = services.add_identity(customer=later, kind="email", value="lena@example.com", claimed=True)
    assert (again.claimed, again.verified) == (False, True)


def test_a_claim_in_one_workspace_is_nothing_in_another(desk, other_desk):
    claimant = services.create_customer(workspace_id=desk.id)
    services.add_identity(customer=claimant, kind="email", value="maria@example.net", claimed=True)
    elsewhere = services.resolve_customer(workspace_id=other_desk.id, kind="email", value="maria@example.net")
    assert elsewhere.workspace_id == other_desk.id
    assert Identity.objects.get(workspace_id=desk.id, value="maria@example.net").claimed
    claimant.refresh_from_db()
    assert claimant.custom_attributes == {}


def _customer_with_history(desk, email, phone):
    customer = services.create_customer(workspace_id=desk.id, name=email.split("@")[0],
                                        identities=[("email", email), ("phone", phone)],
                                        custom_attributes={"plan": "basic"})
    message, _ = receive_message(workspace_id=desk.id, channel="email", customer=customer, content=Content(text="hello"))
    reply(actor=desk.agent_actor, conversation=message.conversation, content=Content(text="hi there"))
    return customer


def test_merge_moves_everything_and_is_idempotent(desk):
    source = _customer_with_history(desk, "jo@work.example", "+14155552671")
    target = _customer_with_history(desk, "jo@home.example", "+14155550000")
    services.update_customer(actor=desk.agent_actor, customer=target, custom_attributes={"plan": "pro"})
    merged = services.merge_customers(actor=desk.agent_actor, source=source, target=target)
    assert merged.pk == target.pk
    assert Identity.objects.filter(customer=target).count() == 4
    assert Conversation.objects.filter(customer=target).count() == 2
    assert Message.objects.filter(customer=target).count() == 4
    assert merged.custom_attributes == {"plan": "pro"}  # the target's values win
    source.refresh_from_db()
    assert source.merged_into_id == target.pk
    assert AuditEntry.objects.filter(action="customer.merged").count() == 1
    # Again: nothing moves, no second audit entry.
    services.merge_customers(actor=desk.agent_actor, source=source, target=target)
    assert AuditEntry.objects.filter(action="customer.merged").count() == 1
    # An old id still leads to the surviving record; new messages from a moved identity land on it.
    assert access_customer(desk.agent_actor, source.pk).pk == target.pk
    assert services.resolve_customer(workspace_id=desk.id, kind="email", value="jo@work.example").pk == target.pk
    assert list(search_customers(desk.agent_actor, "jo")) == [target]


def test_merge_into_itself_or_across_workspaces_is_refused(desk, other_desk):
    a = services.create_customer(workspace_id=desk.id, name="A")
    b = services.create_customer(workspace_id=other_desk.id, name="B")
    with pytest.raises(ValidationFailed) as err:
        services.merge_customers(actor=desk.agent_actor, source=a, target=a)
    assert err.value.code == "merge_into_self"
    with pytest.raises(NotFound):
        services.merge_customers(actor=desk.agent_actor, source=a, target=b)
    a.refresh_from_db()
    assert a.merged_into_id is None


def test_merge_into_a_merged_customer_is_refused(desk):
    a, b, c = (services.create_customer(workspace_id=desk.id, name=n) for n in "ABC")
    services.merge_customers(actor=desk.agent_actor, source=a, target=b)
    with pytest.raises(Conflict):
        services.merge_customers(actor=desk.agent_actor, source=c, target=a)
    with pytest.raises(Conflict):
        services.merge_customers(actor=desk.agent_actor, source=a, target=c)


def test_consent_and_attributes_are_validated(desk):
    customer = services.create_customer(workspace_id=desk.id, name="C")
    with pytest.raises(ValidationFailed):
        services.update_customer(actor=desk.agent_actor, customer=customer, consent={"spam": True})
    with pytest.raises(ValidationFailed):
        services.update_customer(actor=desk.agent_actor, customer=customer, custom_attributes={"x": {"nested": 1}})
    services.update_customer(actor=desk.agent_actor, customer=customer, consent={"email_marketing": True},
                             custom_attributes={"tier": "gold", "ltv": 120.5})
    customer.refresh_from_db()
    assert customer.consent["email_marketing"]["granted"] is True
    assert customer.custom_attributes == {"tier": "gold", "ltv": 120.5}
    services.update_customer(actor=desk.agent_actor, customer=customer, custom_attributes={"tier": None})
    customer.refresh_from_db()
    assert customer.custom_attributes == {"ltv": 120.5}


def test_other_workspace_cannot_update_customer(desk, other_desk):
    customer = services.create_customer(workspace_id=desk.id, name="Mine")
    with pytest.raises(NotFound):
        services.update_customer(actor=other_desk.admin_actor, customer=customer, name="Stolen")
    with pytest.raises(NotFound):
        access_customer(other_desk.admin_actor, customer.pk)


def test_timeline_is_newest_first_and_pages(desk):
    customer = _customer_with_history(desk, "t@example.com", "+14155559999")
    entries = customer_timeline(customer.pk)
    assert [e.kind for e in entries][:2] == ["message.outgoing", "message.incoming"]
    assert entries == sorted(entries, key=lambda e: e.at, reverse=True)
    older = customer_timeline(customer.pk, before=entries[0].at)
    assert entries[0] not in older and len(older) == len(entries) - 1
