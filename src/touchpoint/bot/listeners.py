"""What the bot does when conversations change, registered once from BotConfig.ready:

- it is asked, for every conversation a customer opens, whether it answers first (conversations);
- a customer's message in a conversation it holds enqueues its turn, in the message's own transaction;
- an agent taking over, or resolving, a conversation it holds ends its part (the session says how);
- the widget is told its name and greeting, and that it answers at any hour;
- the periodic job resolves the conversations customers left (BOT_INACTIVITY_S).

Every handler first asks the shared cache whether the workspace's bot is on (`answered_channels`), so a
desk without the bot pays no query for any of this.
"""

from touchpoint.bot import turns
from touchpoint.bot.models import BotSession, Resolution, SessionState
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.events import ConversationStatusChanged, ConversationUpdated, MessageCreated
from touchpoint.conversations.models import Channel, Conversation, MessageKind, Status
from touchpoint.core.clock import now
from touchpoint.core.events import subscribe, subscribe_in_transaction

IDLE_CHECK_EVERY_S = 60.0


def register() -> None:
    from touchpoint.channels.webchat.selectors import register_config_source
    from touchpoint.conversations.services import register_first_responder
    from touchpoint.core import worker

    register_first_responder(turns.takes_conversation)
    register_config_source(widget_config)
    subscribe_in_transaction(MessageCreated, enqueue_turn)
    subscribe(ConversationUpdated, on_updated)
    subscribe(ConversationStatusChanged, on_status_changed)
    if not any(job is close_idle for _, job in worker.PERIODIC):
        worker.PERIODIC.append((IDLE_CHECK_EVERY_S, close_idle))


def enqueue_turn(event: MessageCreated) -> None:
    """In the message's transaction (the outbox): the bot's turn is queued with the message, or not at all."""
    if event.kind != MessageKind.INCOMING or not turns.answered_channels(event.workspace_id):
        return
    if Conversation.objects.filter(pk=event.conversation_id, held_by_bot=True).exists():
        from touchpoint.bot.tasks import take_turn

        take_turn.enqueue(event.message_id)


def on_updated(event: ConversationUpdated) -> None:
    """An agent replied to or took a conversation the bot held: the bot's part ends, taken over."""
    if "held_by_bot" not in event.fields:
        return
    conversation = Conversation.objects.filter(pk=event.conversation_id).values("held_by_bot", "handed_off_at").first()
    if conversation is None or conversation["held_by_bot"]:
        return
    BotSession.objects.filter(conversation_id=event.conversation_id, state__in=(
        SessionState.ACTIVE, SessionState.RESOLVED)).update(
        state=SessionState.TAKEN_OVER, handed_off_at=conversation["handed_off_at"] or now())


def on_status_changed(event: ConversationStatusChanged) -> None:
    """Resolved by an agent while the bot held it: resolved, but not by the bot (not contained)."""
    if event.status != Status.RESOLVED or not turns.answered_channels(event.workspace_id):
        return
    BotSession.objects.filter(conversation_id=event.conversation_id, state=SessionState.ACTIVE,
                              conversation__held_by_bot=True).update(
        state=SessionState.RESOLVED, resolution=Resolution.AGENT, resolved_at=now())


def widget_config(account: ChannelAccount) -> dict:
    """The widget, when the bot answers its chats: the bot's name and greeting, and open at any hour
    (the bot answers; people take over when they are in). `staffed` keeps whether people are in."""
    if Channel.WEBCHAT not in turns.answered_channels(account.workspace_id):
        return {}
    config = turns.settings_of(account.workspace_id)
    from touchpoint.channels.webchat.selectors import is_online

    return {"bot": {"name": turns.bot_identity(config)["name"]}, "greeting": config.greeting,
            "online": True, "staffed": is_online(account)}


def close_idle() -> None:
    turns.close_idle_sessions()
