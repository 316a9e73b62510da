"""Canned replies and macros through the services: who may write what, who sees what, the search order,
macro actions checked on write, and a macro applied all together or not at all."""

import pytest

from touchpoint.accounts import services as accounts
from touchpoint.automation import selectors, services
from touchpoint.automation.models import CannedReply, Macro
from touchpoint.conversations.models import Conversation, Message, MessageKind
from touchpoint.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from touchpoint.core.models import AuditEntry

REFUND = "Hi {{customer.first_name|there}}, your refund for order {{order.number}} is on its way."


def canned(desk, shortcut="refund-policy", title="Refund policy", body=REFUND, team=None) -> CannedReply:
    return services.create_canned_reply(actor=desk.supervisor_actor, shortcut=shortcut, title=title, body=body, team=team)


# ---- canned replies: who writes, who sees ---------------------------------------------------------


def test_supervisors_and_admins_write_canned_replies_agents_only_use_them(desk):
    with pytest.raises(PermissionDenied):
        services.create_canned_reply(actor=desk.agent_actor, shortcut="mine", title="Mine", body="Hello")
    reply = canned(desk)
    assert (reply.shortcut, reply.created_by_id, reply.usage_count) == ("refund-policy", desk.supervisor.pk, 0)
    with pytest.raises(PermissionDenied):
        services.update_canned_reply(actor=desk.agent_actor, canned=reply, title="Changed")
    with pytest.raises(PermissionDenied):
        services.delete_canned_reply(actor=desk.agent_actor, canned=reply)
    services.update_canned_reply(actor=desk.admin_actor, canned=reply, title="Refunds", shortcut="/Refunds")
    reply.refresh_from_db()
    assert (reply.title, reply.shortcut) == ("Refunds", "refunds")
    services.delete_canned_reply(actor=desk.admin_actor, canned=reply)
    assert not CannedReply.objects.exists()
    actions = list(AuditEntry.objects.filter(object_type="automation.cannedreply").values_list("action", flat=True))
    assert sorted(actions) == ["canned_reply.created", "canned_reply.deleted", "canned_reply.updated"]


@pytest.mark.parametrize("shortcut", ["", "has space", "-dash-first", "x" * 51, "emoji✓"])
def test_a_shortcut_must_be_typeable(desk, shortcut):
    with pytest.raises(ValidationFailed) as refused:
        canned(desk, shortcut=shortcut)
    assert refused.value.field == "shortcut"


def test_a_shortcut_is_unique_in_its_workspace_only(desk, other_desk):
    canned(desk)
    with pytest.raises(Conflict) as refused:
        canned(desk, shortcut="Refund-Policy", title="Again")
    assert "/refund-policy" in refused.value.message
    canned(other_desk)  # another workspace may use the same shortcut
    assert CannedReply.objects.count() == 2


def test_a_team_reply_is_seen_by_the_team_and_those_who_manage_it(desk):
    billing = accounts.create_team(actor=desk.supervisor_actor, name="Billing")
    accounts.set_team_members(actor=desk.supervisor_actor, team=billing, members=[desk.agent])
    for_billing = canned(desk, shortcut="invoice", title="Invoice copy", body="Attached.", team=billing)
    for_all = canned(desk)
    assert set(selectors.canned_replies_for(desk.agent_actor)) == {for_billing, for_all}
    assert set(selectors.canned_replies_for(desk.agent2_actor)) == {for_all}
    assert set(selectors.canned_replies_for(desk.supervisor_actor)) == {for_billing, for_all}
    with pytest.raises(NotFound):
        selectors.access_canned_reply(desk.agent2_actor, for_billing.pk)
    assert selectors.search_canned_replies(desk.agent2_actor, "inv") == []


def test_a_team_of_another_workspace_is_refused(desk, other_desk):
    theirs = accounts.create_team(actor=other_desk.supervisor_actor, name="Globex team")
    with pytest.raises(NotFound):
        canned(desk, team=theirs)
    assert not CannedReply.objects.exists()


def test_search_puts_shortcuts_starting_with_the_words_first_then_any_match_most_used_first(desk):
    late = canned(desk, shortcut="late-delivery", title="Parcel late", body="Sorry, it is late.")
    refund = canned(desk, shortcut="refund-policy", title="Refunds", body="Refunds take 5 days.")
    partial = canned(desk, shortcut="partial-refund", title="Partial", body="Half back.")
    mention = canned(desk, shortcut="returns", title="Returns", body="Ship it back for a REFUND.")
    other = canned(desk, shortcut="refresh", title="Browser", body="Reload the page.")
    search = selectors.search_canned_replies
    assert search(desk.agent_actor, "/REF") == [other, refund, partial, mention]  # then by shortcut
    assert search(desk.agent_actor, "refund") == [refund, partial, mention]
    assert search(desk.agent_actor, "parcel") == [late]
    for _ in range(2):
        services.record_canned_reply_use(actor=desk.agent_actor, canned=refund)
    assert search(desk.agent_actor, "ref")[:2] == [refund, other]  # among equals, the most used first
    assert search(desk.agent_actor, "")[0] == refund


def test_search_stays_in_the_workspace(desk, other_desk):
    canned(other_desk, shortcut="refund-secret", title="Globex refunds", body="Globex")
    assert selectors.search_canned_replies(desk.agent_actor, "refund") == []


def test_rendering_needs_the_conversation_and_the_reply_of_the_same_workspace(desk, other_desk, conversation):
    theirs = canned(other_desk)
    with pytest.raises(NotFound):
        services.render_canned_reply(actor=desk.agent_actor, conversation=conversation, canned=theirs)


# ---- macros: writing -------------------------------------------------------------------------------


REFUND_MACRO = [
    {"type": "reply", "body": REFUND},
    {"type": "note", "body": "Refund issued by {{agent.name}}."},
    {"type": "tag", "tags": ["Refund", "refund", "billing"]},
    {"type": "priority", "priority": "high"},
    {"type": "assign", "to": "me"},
    {"type": "status", "status": "pending"},
]


def macro(desk, actor=None, name="Refund sent", actions=None, **kwargs) -> Macro:
    return services.create_macro(actor=actor or desk.supervisor_actor, name=name,
                                 actions=actions if actions is not None else REFUND_MACRO, **kwargs)


def test_workspace_macros_are_written_by_supervisors_personal_ones_by_anyone_for_themselves(desk):
    with pytest.raises(PermissionDenied):
        macro(desk, actor=desk.agent_actor)
    mine = macro(desk, actor=desk.agent_actor, name="My wrap-up", visibility="personal")
    shared = macro(desk)
    assert mine.actions[2] == {"type": "tag", "tags": ["refund", "billing"]}  # normalized once
    assert set(selectors.macros_for(desk.agent_actor)) == {mine, shared}
    assert set(selectors.macros_for(desk.agent2_actor)) == {shared}
    assert set(selectors.macros_for(desk.admin_actor)) == {shared}  # personal means personal
    with pytest.raises(NotFound):
        services.update_macro(actor=desk.admin_actor, macro=mine, name="Taken over")
    with pytest.raises(PermissionDenied):
        services.update_macro(actor=desk.agent_actor, macro=mine, visibility="workspace")
    with pytest.raises(PermissionDenied):
        services.delete_macro(actor=desk.agent_actor, macro=shared)
    services.update_macro(actor=desk.agent_actor, macro=mine, description="End of a refund case")
    services.delete_macro(actor=desk.agent_actor, macro=mine)
    assert list(Macro.objects.all()) == [shared]


def test_a_macro_name_is_unique_in_the_workspace(desk):
    macro(desk)
    with pytest.raises(Conflict):
        macro(desk, actor=desk.agent_actor, visibility="personal")


@pytest.mark.parametrize("actions,says", [
    ([], "at least one action"),
    ("tag refund", "at least one action"),
    ([{"type": "close"}], "Action 1: unknown kind 'close'"),
    ([{"type": "tag", "tags": ["a"]}, {"type": "status", "status": "closed"}], "Action 2 (status): unknown status"),
    ([{"type": "status", "status": "snoozed"}], "Action 1 (status): snoozing needs snooze_hours"),
    ([{"type": "status", "status": "open", "snooze_hours": 2}], "only a snoozed status"),
    ([{"type": "reply", "body": "Hi {{customer.nmae}}"}], "Action 1 (reply): Unknown placeholder {{customer.nmae}}"),
    ([{"type": "note", "body": "  "}], "Action 1 (note): The text is empty"),
    ([{"type": "tag"}], "Action 1 (tag): name tags"),
    ([{"type": "tag", "tags": "refund"}], "tags must be a list"),
    ([{"type": "assign"}], "Action 1 (assign): give agent_id"),
    ([{"type": "assign", "to": "boss"}], "to is \"me\" or \"nobody\""),
    ([{"type": "assign", "agent_id": 987654}], "no agent with id 987654"),
    ([{"type": "team", "team_id": 987654}], "no team with id 987654"),
    ([{"type": "team"}], "give team_id"),
    ([{"type": "priority", "priority": "asap"}], "unknown priority 'asap'"),
    ([{"type": "priority", "priority": "high", "when": "now"}], "unknown field when"),
    ([{"type": "tag", "tags": ["a"]}] * 21, "at most 20 actions"),
])
def test_macro_actions_are_checked_on_write_and_a_refusal_names_the_action(desk, actions, says):
    with pytest.raises(ValidationFailed) as refused:
        macro(desk, actions=actions)
    assert says in refused.value.message
    assert not Macro.objects.exists()


def test_a_macro_cannot_name_another_workspaces_agent_or_team(desk, other_desk):
    team = accounts.create_team(actor=other_desk.supervisor_actor, name="Globex team")
    for action in ({"type": "assign", "agent_id": other_desk.agent.pk}, {"type": "team", "team_id": team.pk}):
        with pytest.raises(ValidationFailed):
            macro(desk, actions=[action])


# ---- macros: applying ------------------------------------------------------------------------------


def test_applying_a_macro_does_every_action_through_the_conversation_services(desk, conversation):
    billing = accounts.create_team(actor=desk.supervisor_actor, name="Billing")
    refund = macro(desk, actions=[*REFUND_MACRO[:4], {"type": "team", "team_id": billing.pk}, *REFUND_MACRO[4:]])
    result = services.apply_macro(actor=desk.agent_actor, conversation=conversation, macro=refund)
    assert result.applied == ["reply", "note", "tag", "priority", "team", "assign", "status"]
    assert result.missing == []
    conversation = Conversation.objects.get(pk=conversation.pk)
    assert (conversation.status, conversation.priority, conversation.assignee_id, conversation.team_id) == (
        "pending", "high", desk.agent.pk, billing.pk)
    assert sorted(t.name for t in conversation.tags.all()) == ["billing", "refund"]
    reply = conversation.messages.get(kind=MessageKind.OUTGOING)
    assert reply.content_text == "Hi Maria, your refund for order A-1001 is on its way."
    assert reply.author_id == desk.agent.pk and conversation.first_response_at is not None
    assert conversation.messages.get(kind=MessageKind.NOTE).content_text == f"Refund issued by {desk.agent.display_name}."
    audit = AuditEntry.objects.get(action="macro.applied")
    assert (audit.actor_id, audit.object_id, audit.data["macro_id"]) == (desk.agent.pk, str(conversation.pk), refund.pk)


def test_a_snooze_a_removed_tag_and_an_unassignment(desk, conversation):
    from touchpoint.conversations import services as conversations

    conversations.tag(actor=desk.agent_actor, conversation=conversation, add=["urgent"])
    conversations.assign(actor=desk.agent_actor, conversation=conversation, assignee=desk.agent2)
    park = macro(desk, name="Park", actions=[{"type": "tag", "remove": ["urgent"]}, {"type": "assign", "to": "nobody"},
                                             {"type": "status", "status": "snoozed", "snooze_hours": 24}])
    services.apply_macro(actor=desk.agent_actor, conversation=conversation, macro=park)
    conversation = Conversation.objects.get(pk=conversation.pk)
    assert conversation.status == "snoozed" and conversation.assignee_id is None and not conversation.tags.exists()
    assert 23.9 < (conversation.snoozed_until - conversation.updated_at).total_seconds() / 3600 <= 24


def test_a_missing_placeholder_in_a_macro_reply_is_reported(desk, conversation):
    ask = macro(desk, name="Ask", actions=[{"type": "reply", "body": "Your case {{conversation.id}} and {{customer.email}}"
                                            " about order {{order.number}}"}])
    from touchpoint.customers.services import update_customer

    update_customer(actor=desk.admin_actor, customer=conversation.customer, custom_attributes={"order_number": None})
    result = services.apply_macro(actor=desk.agent_actor, conversation=conversation, macro=ask)
    assert result.missing == ["order.number"]


def test_a_refused_action_undoes_the_whole_macro_and_says_which_one(desk, conversation):
    """Ben was active when the macro was saved and has left since: the third action is refused, so the
    reply and the tag before it are undone too."""
    to_ben = macro(desk, name="To Ben", actions=[{"type": "reply", "body": "Ben will take this over."},
                                                 {"type": "tag", "tags": ["handover"]},
                                                 {"type": "assign", "agent_id": desk.agent2.pk},
                                                 {"type": "status", "status": "pending"}])
    accounts.update_member(actor=desk.admin_actor, membership=desk.agent2, is_active=False)
    messages_before = Message.objects.count()
    with pytest.raises(ValidationFailed) as refused:
        services.apply_macro(actor=desk.agent_actor, conversation=conversation, macro=to_ben)
    assert "Action 3 (assign)" in refused.value.message and "deactivated" in refused.value.message
    assert "nothing changed" in refused.value.message
    conversation = Conversation.objects.get(pk=conversation.pk)
    assert Message.objects.count() == messages_before
    assert not conversation.tags.exists() and conversation.status == "open" and conversation.assignee_id is None
    assert not AuditEntry.objects.filter(action="macro.applied").exists()


def test_a_deleted_team_fails_the_macro_with_a_422_naming_the_action(desk, conversation):
    team = accounts.create_team(actor=desk.supervisor_actor, name="Gone soon")
    hand_over = macro(desk, name="Hand over", actions=[{"type": "tag", "tags": ["x"]},
                                                       {"type": "team", "team_id": team.pk}])
    team.delete()
    with pytest.raises(ValidationFailed) as refused:
        services.apply_macro(actor=desk.agent_actor, conversation=conversation, macro=hand_over)
    assert refused.value.status == 422 and "Action 2 (team)" in refused.value.message
    assert not Conversation.objects.get(pk=conversation.pk).tags.exists()


def test_a_refusal_for_want_of_permission_stays_a_403_naming_the_action(desk, conversation, monkeypatch):
    """Should a conversations service refuse the actor (as a future rule may), the macro says so as a 403."""
    from touchpoint.conversations import services as conversations

    def refuse(**kwargs):
        raise PermissionDenied("Only supervisors may change the priority.")

    monkeypatch.setattr(conversations, "update_conversation", refuse)
    urgent = macro(desk, name="Urgent", actions=[{"type": "tag", "tags": ["vip"]},
                                                 {"type": "priority", "priority": "urgent"}])
    with pytest.raises(PermissionDenied) as refused:
        services.apply_macro(actor=desk.agent_actor, conversation=conversation, macro=urgent)
    assert refused.value.status == 403 and "Action 2 (priority)" in refused.value.message
    assert not Conversation.objects.get(pk=conversation.pk).tags.exists()


def test_nobody_applies_another_workspaces_or_another_persons_personal_macro(desk, other_desk, conversation):
    theirs = macro(other_desk)
    private = macro(desk, actor=desk.agent2_actor, name="Ben's", visibility="personal")
    for foreign in (theirs, private):
        with pytest.raises(NotFound):
            services.apply_macro(actor=desk.agent_actor, conversation=conversation, macro=foreign)
    assert Message.objects.filter(conversation=conversation).count() == 1
