"""Passing a conversation from the bot to people, with everything already said.

At a handoff, in the turn's own transaction: the conversation leaves the bot (`hand_off_from_bot`: the
customer waits for a human from now, so first-response time and the SLA clocks start here), a system
event says why ("Handed to a person: the customer asked for a person"), and an internal note from the
bot carries the structured summary (intent and confidence, what the customer named, verification state,
what the bot tried and answered, the reason). Routing then queues it for the skill the intent names
(`Intent.skill`), falling back to the usual queue. After that commits, the customer is told a person
will take over, with the expected wait when the router can tell it. The transcript is the thread itself.

After a handoff the bot stays silent in that conversation; the customer's next conversation starts with
the bot again. An agent may also take over at any time: replying or assigning ends the bot's turn
(`conversations.services`), and the session records it as taken over.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from touchpoint.bot.dialogue import Reason, State
from touchpoint.bot.models import BotSession, BotSettings, SessionState
from touchpoint.bot.replies import say
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Conversation
from touchpoint.conversations.services import Content
from touchpoint.core import audit
from touchpoint.core.clock import now
from touchpoint.core.errors import NotFound, ValidationFailed
from touchpoint.core.permissions import Actor, Role
from touchpoint.routing import selectors as routing

VERIFICATION_LABELS = {
    "verified_user": "signed-in customer (the site vouched for them), owns the order",
    "order_email": "order number and the order's email given",
    "": "not verified",
}


def skill_for(workspace_id: int, intent: str) -> str:
    """The routing skill the intent needs (set on the intent), or "" for the usual queue."""
    from touchpoint.bot.selectors import handoff_skill_for

    skill = handoff_skill_for(workspace_id, intent)
    return skill.name if skill is not None else ""


def summary_of(session: BotSession, state: State, reason: str, *, verified_user: bool = False) -> dict:
    """The structured summary agents get: JSON on the session and the note's metadata, text in the note."""
    verification = state.verification
    return {
        "reason": reason,
        "reason_label": Reason.label(reason),
        "intent": state.task or state.intent,
        "last_intent": state.intent,
        "confidence": round(state.confidence, 3) if state.confidence is not None else None,
        "entities": state.entities,
        "verification": verification,
        "verification_label": VERIFICATION_LABELS.get(verification, verification),
        "verified_order": state.verified_order,
        "verify_attempts": state.verify_attempts,
        "signed_in": verified_user,
        "tried": state.tried[-6:],
        "turns": state.turns,
        "channel": session.channel,
    }


def summary_text(summary: dict) -> str:
    """The note agents read in the thread (plain text: the thread escapes it)."""
    lines = [f"Bot summary: handed to a person because {summary['reason_label']}."]
    if summary["intent"]:
        confidence = f" (confidence {summary['confidence']:.0%})" if summary.get("confidence") is not None else ""
        lines.append(f"Intent: {summary['intent']}{confidence}")
    named = _named(summary["entities"])
    if named:
        lines.append(f"Customer named: {named}")
    verified = summary["verification_label"]
    if summary["verified_order"]:
        verified += f" (order {summary['verified_order']})"
    elif summary["verify_attempts"]:
        verified += f" ({summary['verify_attempts']} failed attempt{'s' if summary['verify_attempts'] != 1 else ''})"
    lines.append(f"Verification: {verified}")
    if summary["tried"]:
        lines.append("The bot tried:")
        for step in summary["tried"]:
            answer = " ".join(step["answer"].split())
            lines.append(f"• {step['action'] or 'answer'}: {answer[:160]}{'…' if len(answer) > 160 else ''}")
    return "\n".join(lines)


def _named(entities: dict) -> str:
    parts = []
    for number in entities.get("order_numbers", []):
        parts.append(f"order {number}")
    for email in entities.get("emails", []):
        parts.append(f"email {email}")
    for kind in ("product_types", "product_names"):
        parts += entities.get(kind, [])
    for name, values in (entities.get("attributes") or {}).items():
        parts.append(f"{name} {', '.join(values)}")
    price = entities.get("price_range")
    if price:
        low, high = price.get("minimum"), price.get("maximum")
        parts.append(f"price {low or '…'}–{high or '…'} {price.get('currency') or ''}".strip())
    for value in entities.get("dates", []):
        parts.append(f"date {value}")
    return "; ".join(parts)


def hand_off(*, session: BotSession, conversation: Conversation, state: State, reason: str, skill_intent: str = "",
             verified_user: bool = False) -> BotSession:
    """Inside the turn's transaction: the conversation goes to people with the summary note."""
    summary = summary_of(session, state, reason, verified_user=verified_user)
    skill = skill_for(session.workspace_id, skill_intent or summary["intent"])
    summary["skill"] = skill
    conversations.hand_off_from_bot(conversation=conversation, reason=Reason.label(reason), skill=skill,
                                    note=Content(text=summary_text(summary)), note_metadata={"bot_summary": summary})
    session.state = SessionState.HANDED_OFF
    session.handoff_reason = reason
    session.handed_off_at = now()
    session.summary = summary
    return session


def tell_customer(conversation_id: int, *, config: BotSettings, bot: dict) -> None:
    """After the handoff committed (the router has queued, maybe assigned, the conversation): a person
    will take over (the settings' handoff message), and the expected wait when the router can tell it;
    with nobody online, the settings' away message instead."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        return
    wait = _wait_line(conversation)
    if wait is None:
        text = config.handoff_offline_message.strip()
    else:
        text = " ".join(line for line in (say("handoff", handoff_message=config.handoff_message.strip()), wait)
                        if line)
    conversations.bot_reply(conversation=conversation, content=Content(text=text),
                            metadata={"bot": {**bot, "lead": text, "handoff": True}})


def _wait_line(conversation: Conversation) -> str | None:
    """What the router knows of the wait: who took it, about how long, "" when it cannot say, None when
    nobody is online to answer."""
    contact = routing.latest_contact(conversation)
    if contact is None:
        return ""
    if contact.assigned_to_id is not None:
        name = contact.assigned_to.display_name if contact.assigned_to else ""
        return say("handoff_assigned", agent=name) if name else ""
    if not routing.anyone_online(conversation.workspace_id):
        return None
    wait = routing.expected_wait(contact.queue)
    return say("handoff_wait", wait=_duration(wait)) if wait is not None else ""


def _duration(wait: timedelta) -> str:
    minutes = max(1, round(wait.total_seconds() / 60))
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = round(minutes / 60)
    return f"{hours} hour{'s' if hours != 1 else ''}"


@transaction.atomic
def release(conversation: Conversation, *, reason: str = Reason.BOT_OFF) -> None:
    """Hand a conversation the bot holds to people without a turn (the bot was switched off for its
    channel): no message to the customer, the usual system event, note and queueing."""
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if not conversation.held_by_bot:
        return
    session = BotSession.objects.select_for_update().filter(conversation=conversation).first()
    if session is None:
        conversations.hand_off_from_bot(conversation=conversation, reason=Reason.label(reason))
        return
    from touchpoint.bot.turns import load_state

    hand_off(session=session, conversation=conversation, state=load_state(session), reason=reason)
    session.save()


def shown_summary(session: BotSession | None) -> dict | None:
    """What the conversation pane's "Bot summary" block shows: the summary written at the handoff, or
    for a conversation the bot still holds, resolved or an agent took, the same fields as they stand."""
    if session is None:
        return None
    if session.summary:
        found = dict(session.summary)
    else:
        from touchpoint.bot.turns import load_state

        state = load_state(session)
        found = summary_of(session, state, "")
        found["reason_label"] = ""
    found["state"] = session.get_state_display()
    found["named"] = _named(found.get("entities") or {})
    found["corrected_intent"] = session.corrected_intent
    return found


@transaction.atomic
def correct_intent(*, actor: Actor, conversation: Conversation, intent: str) -> BotSession:
    """An agent re-tags what a conversation the bot answered was about (one of the workspace's intents,
    or "" to clear it): the metrics count these as live intent confusion."""
    from touchpoint.bot.models import Intent

    actor.require(Role.AGENT)
    if conversation.workspace_id != actor.workspace_id:
        raise NotFound("No such conversation in this workspace.")
    session = BotSession.objects.select_for_update().filter(conversation=conversation).first()
    if session is None:
        raise NotFound("The bot did not answer this conversation.")
    intent = (intent or "").strip()
    if intent and not Intent.objects.filter(workspace_id=actor.workspace_id, name=intent).exists():
        raise ValidationFailed(f"{intent!r} is not one of this workspace's intents; choose one from the list.",
                               field="intent")
    session.corrected_intent = intent
    session.save(update_fields=["corrected_intent"])
    audit.record(workspace_id=actor.workspace_id, actor_id=actor.membership_id, action="bot_session.retagged",
                 obj=session, data={"bot": session.intent, "agent": intent})
    return session
