"""Placeholders: every value, defaults, values missing, names unknown, and hostile customer data."""

import pytest

from touchpoint.automation import services
from touchpoint.automation.placeholders import unknown_placeholders
from touchpoint.conversations import services as conversations
from touchpoint.conversations.services import Content
from touchpoint.core.errors import ValidationFailed
from touchpoint.customers.services import update_customer


def _render(desk, conversation, body: str, actor=None):
    canned = services.create_canned_reply(actor=desk.supervisor_actor, shortcut="t", title="T", body=body)
    return services.render_canned_reply(actor=actor or desk.agent_actor, conversation=conversation, canned=canned)


def test_every_placeholder_is_filled_from_the_conversation_the_customer_and_the_agent(desk, conversation):
    rendered = _render(desk, conversation, "Hi {{customer.first_name}} ({{customer.name}}, {{customer.email}}): "
                       "order {{order.number}}, case #{{conversation.id}}. {{agent.name}}")
    assert rendered.text == (f"Hi Maria (Maria Garcia, maria@example.com): order A-1001, case #{conversation.pk}. "
                             f"{desk.agent.display_name}")
    assert rendered.missing == []


def test_spaces_inside_the_braces_are_allowed(desk, conversation):
    assert _render(desk, conversation, "Hi {{ customer.first_name }}!").text == "Hi Maria!"


def test_the_conversations_order_number_wins_over_the_customers(desk, conversation):
    conversations.update_conversation(actor=desk.agent_actor, conversation=conversation,
                                      custom_fields={"order_number": 778})
    assert _render(desk, conversation, "Order {{order.number}}").text == "Order 778"


def test_a_missing_value_takes_the_default_or_is_left_empty_and_reported(desk, conversation):
    update_customer(actor=desk.admin_actor, customer=conversation.customer, name="",
                    custom_attributes={"order_number": None})
    rendered = _render(desk, conversation, "Hi {{customer.first_name|there}}, order {{order.number}} "
                       "for {{customer.name}}.")
    assert rendered.text == "Hi there, order  for ."
    assert rendered.missing == ["order.number", "customer.name"]


def test_a_default_is_not_used_when_the_value_exists(desk, conversation):
    assert _render(desk, conversation, "Hi {{customer.first_name|there}}").text == "Hi Maria"


def test_unknown_placeholders_are_refused_at_save_time_by_name(desk):
    with pytest.raises(ValidationFailed) as refused:
        services.create_canned_reply(actor=desk.supervisor_actor, shortcut="typo", title="Typo",
                                     body="Hi {{custmer.name}}, {{order.id|?}} {{customer.name}} {{custmer.name}}")
    assert refused.value.code == "unknown_placeholder" and refused.value.field == "body"
    assert "{{custmer.name}}, {{order.id}}" in refused.value.message
    assert "{{customer.first_name}}" in refused.value.message  # says what is known
    assert unknown_placeholders("{{custmer.name}} {{order.id}} {{custmer.name}}") == ["custmer.name", "order.id"]


def test_a_hostile_customer_name_stays_text_in_the_preview_and_the_sent_reply(desk, conversation):
    hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    update_customer(actor=desk.admin_actor, customer=conversation.customer, name=hostile)
    rendered = _render(desk, conversation, "Dear {{customer.name}},\nthanks.")
    assert rendered.text == f"Dear {hostile},\nthanks."  # the preview is text; the composer shows it as text
    message = conversations.reply(actor=desk.agent_actor, conversation=conversation,
                                  content=Content(text=rendered.text))
    assert "<img" not in message.content_html and "<script" not in message.content_html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in message.content_html
