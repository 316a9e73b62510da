"""Running the bot in a conversation: which conversations it answers, one turn per customer message
(read, understand, decide, answer, hand off or resolve), and closing the conversations customers left.

A turn runs as a background task (`tasks.take_turn`) enqueued in the customer message's own transaction,
so a stored message is never left unanswered by a crash, and storing it (the widget's ack, the Twilio
webhook's answer) never waits for the bot. A turn reads every line the customer wrote since the
bot last read (people split a sentence over several lines), writes everything it does in one
transaction, and reads each message once however often its task runs (BotTurn.message is unique).

Costs for a workspace without the bot: nothing per message but one look in the shared cache
(`answered_channels`); the conversation is never read.
"""

from __future__ import annotations

import logging
import re
import zoneinfo
from dataclasses import asdict, fields
from datetime import date, timedelta

from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import IntegrityError, transaction

from touchpoint.bot import dialogue, handoff
from touchpoint.bot.dialogue import Context, Plan, Prediction, State, Understanding
from touchpoint.bot.entities import extract_entities
from touchpoint.bot.models import BOT_CHANNELS, BotSession, BotSettings, BotTurn, Resolution, SessionState
from touchpoint.bot.replies import QUICK_HUMAN, say
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Channel, Conversation, Message, MessageKind, Status
from touchpoint.conversations.services import Content
from touchpoint.core.clock import now
from touchpoint.core.permissions import Actor

log = logging.getLogger(__name__)

TEXT_ONLY = (Channel.SMS, Channel.WHATSAPP, Channel.API)  # no cards, no buttons: their text lines
CHANNELS_CACHED_S = 30  # another process sees the bot switched on or off within this
MAX_LINES = 10  # unread lines read in one turn
DEFAULT_NAME = "Assistant"


def inactivity() -> timedelta:
    """BOT_INACTIVITY_S (default 1800): a conversation the customer left this long after the bot's last
    answer is resolved by the bot (and counts as contained)."""
    return timedelta(seconds=int(getattr(django_settings, "BOT_INACTIVITY_S", 1800)))


# ---- which conversations the bot answers ----------------------------------------------------------


def settings_of(workspace_id: int) -> BotSettings:
    return BotSettings.objects.filter(workspace_id=workspace_id).first() or BotSettings(workspace_id=workspace_id)


def answered_channels(workspace_id: int) -> tuple[str, ...]:
    """The channels the bot answers first in this workspace (none when it is off), from the shared cache:
    every incoming message asks."""
    key = f"bot-channels:{workspace_id}"
    found = cache.get(key)
    if found is None:
        row = BotSettings.objects.filter(workspace_id=workspace_id).values_list("enabled", "channels").first()
        found = tuple(c for c in (row[1] or []) if c in BOT_CHANNELS) if row and row[0] else ()
        cache.set(key, found, CHANNELS_CACHED_S)
    return tuple(found)


def forget_channels(workspace_id: int) -> None:
    cache.delete(f"bot-channels:{workspace_id}")


def takes_conversation(workspace_id: int, channel: str, metadata: dict) -> bool:
    """The first-responder question conversations.services asks for each new conversation a customer
    opens. The away form of the widget (an answer by email) goes to people."""
    return channel in answered_channels(workspace_id) and not metadata.get("offline")


def update_settings(*, actor: Actor, **changes) -> BotSettings:
    """`services.update_bot_settings`, and what follows for conversations at once: every process's cached
    answer is dropped (this one's now, the others' within CHANNELS_CACHED_S), and the conversations the
    bot holds on a channel it no longer answers (or all, switched off) go to people with their summary."""
    from touchpoint.bot import services

    config = services.update_bot_settings(actor=actor, **changes)
    forget_channels(actor.workspace_id)
    release_unanswered(actor.workspace_id)
    return config


def release_unanswered(workspace_id: int, *, limit: int = 500) -> int:
    """Hand to people the conversations the bot holds on channels it no longer answers (or all, when it
    was switched off)."""
    answered = answered_channels(workspace_id)
    held = (Conversation.objects.filter(workspace_id=workspace_id, held_by_bot=True).exclude(channel__in=answered)
            .order_by("pk")[:limit])
    released = 0
    for conversation in held:
        handoff.release(conversation)
        released += 1
    return released


def bot_identity(config: BotSettings) -> dict:
    return {"name": (config.name or DEFAULT_NAME).strip()[:80]}


# ---- a turn --------------------------------------------------------------------------------------


def take_turn(message_id: int) -> str:
    """The bot reads what the customer wrote and answers. Returns what happened (for the task log)."""
    message = (Message.objects.select_related("conversation__workspace").filter(pk=message_id).first())
    if message is None or message.kind != MessageKind.INCOMING:
        return "not a customer message"
    conversation = message.conversation
    if not conversation.held_by_bot:
        _note_taken_over(conversation)
        return "not the bot's"
    config = settings_of(conversation.workspace_id)
    if not (config.enabled and conversation.channel in (config.channels or [])):
        handoff.release(conversation)
        return "released: the bot is off"
    session = _session(conversation)
    if message.pk <= session.last_read_message_id:
        return "read already"
    unread = list(Message.objects.filter(conversation=conversation, kind=MessageKind.INCOMING,
                                         pk__gt=session.last_read_message_id).order_by("pk")[:MAX_LINES])
    state = load_state(session)
    ctx = _context(conversation, config, session, unread)
    understanding = understand(conversation.workspace_id, [m.content_text for m in unread], config=config,
                               today=_local_today(conversation))
    plan = dialogue.respond(state, understanding, ctx)
    _greet_first(plan, ctx, config)
    try:
        outcome = _apply(conversation.pk, session.pk, unread[-1], state, understanding, plan, ctx, config)
    except IntegrityError:
        return "read already"
    if outcome == "handed_off":
        handoff.tell_customer(conversation.pk, config=config, bot=bot_identity(config))
    return outcome


def _note_taken_over(conversation: Conversation) -> None:
    """A conversation an agent took while the bot still thought it was answering it (the listener that
    records it had not run yet, or failed): the session says so now."""
    BotSession.objects.filter(conversation=conversation, state=SessionState.ACTIVE).update(
        state=SessionState.TAKEN_OVER, handed_off_at=conversation.handed_off_at or now())


def _session(conversation: Conversation) -> BotSession:
    found = BotSession.objects.filter(conversation=conversation).first()
    if found is not None:
        return found
    at = now()
    try:
        with transaction.atomic():
            session, _ = BotSession.objects.get_or_create(
                conversation=conversation,
                defaults={"workspace_id": conversation.workspace_id, "channel": conversation.channel,
                          "started_at": at, "last_turn_at": at})
    except IntegrityError:  # two turns of a new conversation at once: the other made it
        session = BotSession.objects.get(conversation=conversation)
    return session


def _context(conversation: Conversation, config: BotSettings, session: BotSession, unread: list[Message]) -> Context:
    verified = conversation.channel == Channel.WEBCHAT and bool((unread[-1].metadata or {}).get("verified"))
    prefix = (config.order_number_prefix or "").strip().upper()
    return Context(workspace_id=conversation.workspace_id, customer_id=conversation.customer_id,
                   channel=conversation.channel, bot_name=bot_identity(config)["name"], verified_user=verified,
                   order_example=f"{prefix}-123456" if prefix else "#123456", first_turn=session.turns == 0,
                   low_confidence_limit=max(1, config.max_failures or dialogue.LOW_CONFIDENCE_HANDOFF),
                   not_understood=config.not_understood_message or "")


def _local_today(conversation: Conversation) -> date:
    try:
        zone = zoneinfo.ZoneInfo(conversation.workspace.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return now().astimezone(zone).date()


def _greet_first(plan: Plan, ctx: Context, config: BotSettings) -> None:
    """On SMS and WhatsApp the bot's first answer starts with its greeting (the widget shows it before
    the visitor writes)."""
    if ctx.first_turn and ctx.channel in TEXT_ONLY and plan.action != "greeting" and plan.answers:
        first = plan.answers[0]
        plan.answers[0] = dialogue.Answer(f"{config.greeting.strip()}\n{first.text}".strip(), first.cards,
                                          first.quick_replies, first.progress, first.footer)


def _apply(conversation_id: int, session_id: int, last: Message, state: State, u: Understanding, plan: Plan,
           ctx: Context, config: BotSettings) -> str:
    """Everything the turn does, in one transaction, if the conversation is still the bot's."""
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().select_related("customer").get(pk=conversation_id)
        if not conversation.held_by_bot:
            return "an agent took over"
        session = BotSession.objects.select_for_update().get(pk=session_id)
        if session.last_read_message_id >= last.pk:
            return "read already"
        at = now()
        BotTurn.objects.create(workspace_id=session.workspace_id, session=session, message=last,
                               intent=u.prediction.intent or "", confidence=u.prediction.confidence,
                               out_of_scope=u.prediction.out_of_scope, action=plan.action[:32], at=at)
        for answer in plan.answers:
            _send(conversation, answer, ctx, config, state)
        save_state(session, state, last_read=last.pk, at=at)
        outcome = "answered"
        if plan.handoff:
            handoff.hand_off(session=session, conversation=conversation, state=state, reason=plan.handoff,
                             skill_intent=plan.skill_intent, verified_user=ctx.verified_user)
            outcome = "handed_off"
        elif plan.resolve:
            _resolve(conversation, session, Resolution.CONFIRMED, at)
            outcome = "resolved"
        session.save()
        return outcome


def _send(conversation: Conversation, answer: dialogue.Answer, ctx: Context, config: BotSettings,
          state: State) -> Message:
    text = answer.full_text()
    if ctx.channel in TEXT_ONLY and QUICK_HUMAN in answer.quick_replies:
        text += "\n" + say("text_channel_human")
    lead = "\n".join(part for part in (answer.text, answer.footer) if part)
    metadata = {"bot": {**bot_identity(config), "lead": lead, "cards": [c.as_dict() for c in answer.cards],
                        "quick_replies": list(answer.quick_replies), "intent": state.task or state.intent}}
    return conversations.bot_reply(conversation=conversation, content=Content(text=text), metadata=metadata)


def _resolve(conversation: Conversation, session: BotSession, resolution: str, at) -> None:
    session.state = SessionState.RESOLVED
    session.resolution = resolution
    session.resolved_at = at
    conversations.change_status(actor=None, conversation=conversation, status=Status.RESOLVED)


# ---- the session's memory --------------------------------------------------------------------------

_STATE_FIELDS = {f.name for f in fields(State)}


def load_state(session: BotSession) -> State:
    memory = session.memory if isinstance(session.memory, dict) else {}
    state = State(**{k: v for k, v in memory.items() if k in _STATE_FIELDS})
    if session.state == SessionState.RESOLVED:
        state.pending = ""  # the customer came back to a resolved conversation: a fresh start of the task
    return state


def save_state(session: BotSession, state: State, *, last_read: int, at) -> None:
    session.memory = asdict(state)
    session.intent = (state.task or state.intent)[:64]
    session.confidence = state.confidence
    session.verification = state.verification
    session.turns = state.turns
    session.last_read_message_id = last_read
    session.last_turn_at = at
    if session.state == SessionState.RESOLVED:  # they wrote again: the bot carries on
        session.state = SessionState.ACTIVE
        session.resolution = ""
        session.resolved_at = None


# ---- understanding ---------------------------------------------------------------------------------

SMALL_TALK = dialogue.SMALL_TALK


def understand(workspace_id: int, lines: list[str], *, config: BotSettings, today: date) -> Understanding:
    """The customer's unread lines as the dialogue reads them: one intent for all of them (a line that
    says what they want beats "hi" on the line before), every entity of every line."""
    from touchpoint.commerce.selectors import catalog_vocabulary, offered_variants

    lines = [line for line in lines if line and line.strip()] or [""]
    text = "\n".join(lines)
    vocabulary = catalog_vocabulary(workspace_id)
    currency = offered_variants(workspace_id).values_list("currency", flat=True).first()
    prefixes = [config.order_number_prefix] if config.order_number_prefix else _order_prefixes(workspace_id)
    entities = extract_entities(text, vocabulary, today=today, order_prefixes=prefixes, default_currency=currency)
    return Understanding(text=text, prediction=_predict(workspace_id, lines, config), entities=entities,
                         sentiment=dialogue.sentiment(text), command=dialogue.command_of(lines[-1]))


def _predict(workspace_id: int, lines: list[str], config: BotSettings) -> Prediction:
    from touchpoint.bot import services as nlu

    texts = ["\n".join(lines)] + (lines[-3:] if len(lines) > 1 else [])
    found: list[Prediction] = []
    for text in texts:
        try:
            raw = nlu.classify(workspace_id, text)
        except Exception:  # no model yet, or a broken one: the bot falls back to the knowledge base
            log.exception("intent classification failed in workspace %s", workspace_id)
            raw = None
        if raw is None:
            continue
        found.append(Prediction(intent=raw.intent, confidence=float(raw.confidence), out_of_scope=raw.out_of_scope,
                                ranking=tuple((name, float(p)) for name, p in raw.ranking)))
    if not found:
        return Prediction(intent=None, confidence=0.0, out_of_scope=True)
    in_scope = [p for p in found if not p.out_of_scope]
    task = [p for p in in_scope if p.intent not in SMALL_TALK]
    return max(task or in_scope or found[:1], key=lambda p: p.confidence)


_PREFIX = re.compile(r"^([A-Z]{1,4})-\d{4,12}$")


def _order_prefixes(workspace_id: int) -> list[str]:
    """The store's order-number prefix as its latest order writes it ("NW" in NW-100234), when the
    settings name none."""
    from touchpoint.commerce.models import Order

    number = Order.objects.filter(workspace_id=workspace_id).order_by("-placed_at").values_list(
        "number", flat=True).first()
    found = _PREFIX.match(number or "")
    return [found.group(1)] if found else []


# ---- customers who left ----------------------------------------------------------------------------


def close_idle_sessions(*, at=None, limit: int = 200) -> int:
    """The periodic job: a conversation the bot holds whose customer has not written for
    BOT_INACTIVITY_S after its last answer is resolved by the bot (Resolution.INACTIVITY), with a
    closing line in the widget. Idempotent: several workers may run it at once."""
    at = at or now()
    idle = list(BotSession.objects.filter(state=SessionState.ACTIVE, last_turn_at__lt=at - inactivity())
                .order_by("last_turn_at").values_list("pk", flat=True)[:limit])
    closed = 0
    for session_id in idle:
        try:
            closed += _close_idle(session_id, at)
        except Exception:  # one broken conversation must not keep the others open
            log.exception("closing idle bot session %s failed", session_id)
    return closed


def _close_idle(session_id: int, at) -> int:
    with transaction.atomic():
        session = BotSession.objects.select_for_update().select_related("conversation").get(pk=session_id)
        conversation = Conversation.objects.select_for_update().get(pk=session.conversation_id)
        if session.state != SessionState.ACTIVE or session.last_turn_at >= at - inactivity():
            return 0
        if not conversation.held_by_bot:
            session.state = SessionState.TAKEN_OVER
            session.handed_off_at = session.handed_off_at or conversation.handed_off_at
            session.save()
            return 0
        if conversation.channel not in answered_channels(conversation.workspace_id):
            handoff.release(conversation)  # switched off meanwhile: people answer, the bot does not close it
            return 0
        if Message.objects.filter(conversation=conversation, kind=MessageKind.INCOMING,
                                  pk__gt=session.last_read_message_id).exists():
            return 0  # the customer wrote: their turn is on its way
        if conversation.status != Status.OPEN:
            session.state, session.resolution, session.resolved_at = SessionState.RESOLVED, Resolution.AGENT, at
            session.save()
            return 0
        if conversation.channel == Channel.WEBCHAT:
            config = settings_of(conversation.workspace_id)
            text = say("session_resolved")
            conversations.bot_reply(conversation=conversation, content=Content(text=text),
                                    metadata={"bot": {**bot_identity(config), "lead": text}})
        _resolve(conversation, session, Resolution.INACTIVITY, at)
        session.save()
        return 1
