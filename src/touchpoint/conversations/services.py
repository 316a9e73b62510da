"""Every write to conversations and messages. Channels, views, the API and tasks all call these."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Q

from touchpoint.accounts.models import Membership, Team
from touchpoint.conversations.events import (
    ConversationAssigned,
    ConversationHandedOff,
    ConversationOpened,
    ConversationStatusChanged,
    ConversationUpdated,
    MessageCreated,
    MessageDeliveryChanged,
)
from touchpoint.conversations.models import (
    Attachment,
    Channel,
    Conversation,
    Message,
    MessageKind,
    Priority,
    SenderType,
    Status,
    Tag,
)
from touchpoint.core.clock import now
from touchpoint.core.errors import Conflict, NotFound, ValidationFailed
from touchpoint.core.events import publish
from touchpoint.core.html import html_to_text, sanitize_html, text_to_html
from touchpoint.core.permissions import Actor, Role
from touchpoint.core.text import check_identifier, clean_data, clean_text
from touchpoint.customers.models import Customer
from touchpoint.customers.services import resolve_customer

log = logging.getLogger(__name__)
MAX_MESSAGE_CHARS = 100_000


@dataclass(frozen=True)
class IncomingFile:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Content:
    """A message body as given: plain text (escaped) or HTML (sanitized). Given both (an email's
    text/plain and text/html alternatives), the HTML is shown and the sender's own text is stored for
    search and previews."""

    text: str = ""
    html: str = ""

    def render(self) -> tuple[str, str]:
        if self.html:
            clean = sanitize_html(self.html[:MAX_MESSAGE_CHARS])
            return clean, self.text[:MAX_MESSAGE_CHARS].strip() or html_to_text(clean)
        text = self.text[:MAX_MESSAGE_CHARS]
        return text_to_html(text), text.strip()


# ---- incoming -------------------------------------------------------------------------------


def receive_message(
    *,
    workspace_id: int,
    channel: str,
    content: Content,
    sender: tuple[str, str] | None = None,
    customer: Customer | None = None,
    sender_name: str = "",
    external_id: str = "",
    conversation: Conversation | None = None,
    subject: str = "",
    attachments: list[IncomingFile] = (),
    sent_at: datetime | None = None,
    metadata: dict | None = None,
    channel_account_id: int | None = None,
    new_conversation: bool = False,
) -> tuple[Message, bool]:
    """The one entry for a customer's message from any channel. Returns (message, created).
    `new_conversation` opens a conversation of its own instead of continuing the customer's open
    one (a new email thread is a new matter).

    The same (channel, external_id) is stored once: a replayed webhook or a delivery that lost a race
    returns the first message, and its whole attempt (customer, conversation) is rolled back. The
    unique index decides, so the usual case, a new message, costs no lookup first.

    What arrives is made storable here, for every channel (core.text): text is cleaned, an
    unstorable external id is refused.
    """
    _check_channel(channel)
    content = Content(text=clean_text(content.text), html=clean_text(content.html))
    sender_name, subject, metadata = clean_text(sender_name), clean_text(subject), clean_data(metadata)
    external_id = check_identifier(external_id, "external_id")
    attachments = [IncomingFile(clean_text(f.filename), f.content_type, f.data) for f in attachments]
    try:
        with transaction.atomic():
            if customer is None:
                if sender is None:
                    raise ValidationFailed("A message needs a sender identity or a customer.", field="sender")
                customer = resolve_customer(workspace_id=workspace_id, kind=sender[0], value=sender[1], name=sender_name)
            elif customer.workspace_id != workspace_id:
                raise NotFound("No such customer in this workspace.")
            if new_conversation and conversation is None:
                conversation = _open(workspace_id=workspace_id, customer=customer, channel=channel, subject=subject,
                                     at=sent_at or now(), held_by_bot=_bot_takes(workspace_id, channel, metadata))
            message = _receive(workspace_id, channel, customer, content, conversation, subject, external_id,
                               attachments, sent_at or now(), metadata, channel_account_id)
            return message, True
    except IntegrityError:
        winner = external_id and _by_external_id(workspace_id, channel, external_id)
        if not winner:
            raise
        return winner, False


def _by_external_id(workspace_id: int, channel: str, external_id: str) -> Message | None:
    # The unique index on (workspace, channel, external_id) is partial (external_id <> ''); SQLite
    # uses it only when the query repeats that condition, else it reads the workspace's every message.
    return (Message.objects.filter(workspace_id=workspace_id, channel=channel, external_id=external_id)
            .exclude(external_id="").first())


def _receive(
    workspace_id: int, channel: str, customer: Customer, content: Content, conversation: Conversation | None,
    subject: str, external_id: str, attachments: list[IncomingFile], at: datetime, metadata: dict | None,
    channel_account_id: int | None,
) -> Message:
    if conversation is None:
        conversation = _conversation_to_continue(customer, channel)
    if conversation is None:
        conversation = _open(workspace_id=workspace_id, customer=customer, channel=channel, subject=subject, at=at,
                             held_by_bot=_bot_takes(workspace_id, channel, metadata))
    elif conversation.workspace_id != workspace_id or conversation.customer_id != customer.pk:
        raise NotFound("No such conversation for this customer.")
    message = _store(conversation, kind=MessageKind.INCOMING, sender_type=SenderType.CUSTOMER, channel=channel,
                     content=content, external_id=external_id, at=at, attachments=attachments, metadata=metadata)
    previous = _customer_wrote(conversation, message, channel_account_id)
    conversation.save(update_fields=CUSTOMER_WROTE_FIELDS)
    _announce_reopening(conversation, previous)
    return message


CUSTOMER_WROTE_FIELDS = ["channel_account", "status", "snoozed_until", "waiting_since", "last_message_at",
                         "last_message_preview", "updated_at"]


def _customer_wrote(conversation: Conversation, message: Message, channel_account_id: int | None) -> str:
    """What a customer's message does to its conversation (the caller saves CUSTOMER_WROTE_FIELDS).
    Returns the status it had: writing again reopens, unpends and wakes."""
    if channel_account_id and conversation.channel == message.channel:
        conversation.channel_account_id = channel_account_id
    previous = conversation.status
    if previous != Status.OPEN:
        conversation.status = Status.OPEN
        conversation.snoozed_until = None
    if conversation.waiting_since is None:
        conversation.waiting_since = message.created_at
    _touch(conversation, message)
    return previous


def _announce_reopening(conversation: Conversation, previous: str) -> None:
    if previous != Status.OPEN:
        _system_event(conversation, f"Reopened by the customer's message (was {previous}).")
        publish(ConversationStatusChanged(workspace_id=conversation.workspace_id, conversation_id=conversation.pk,
                                          status=Status.OPEN, previous_status=previous))


def _conversation_to_continue(customer: Customer, channel: str) -> Conversation | None:
    return _conversations_to_continue(customer.workspace_id, [customer.pk], channel).get(customer.pk)


def _conversations_to_continue(workspace_id: int, customer_ids: list[int], channel: str) -> dict[int, Conversation]:
    """Each customer's unresolved conversation on this channel, else one resolved recently enough to reopen."""
    recent = now() - timedelta(seconds=settings.REOPEN_WINDOW_S)
    found: dict[int, Conversation] = {}
    # By customer only, so that SQLite reads the customers' own conversations (conv_customer) rather
    # than the workspace's whole channel; the workspace is checked on what comes back.
    for conversation in (Conversation.objects.filter(customer_id__in=customer_ids, channel=channel)
                         .filter(~Q(status=Status.RESOLVED) | Q(resolved_at__gte=recent))
                         .order_by("-last_message_at", "-id")):
        if conversation.workspace_id == workspace_id:
            found.setdefault(conversation.customer_id, conversation)
    return found


# ---- many incoming at once -------------------------------------------------------------------


@dataclass(frozen=True)
class ChatLine:
    """A text message from a customer already known, for receive_chat_lines."""

    customer_id: int
    text: str
    external_id: str
    metadata: dict
    channel_account_id: int | None = None


@transaction.atomic
def receive_chat_lines(*, workspace_id: int, channel: str, lines: list[ChatLine]) -> list[tuple[Message, bool]]:
    """Many customers' text messages, stored as receive_message stores each, with a few queries for
    the lot instead of several per message: what a busy chat widget received while it was storing
    the previous lot. A line that is not simply the next message of an open conversation (a new
    conversation, a resend, a race with another process) goes through receive_message."""
    _check_channel(channel)
    at = now()
    ids = [check_identifier(line.external_id, "external_id") for line in lines]
    # Unordered and repeating the partial index's condition: SQLite then reads the unique index, not
    # the workspace's every message.
    stored = {m.external_id: m for m in Message.objects.filter(workspace_id=workspace_id, channel=channel,
                                                               external_id__in=ids).exclude(external_id="").order_by()}
    ongoing = _conversations_to_continue(workspace_id, [line.customer_id for line in lines], channel)
    batch = {line.external_id: line for line in lines
             if line.external_id not in stored and line.customer_id in ongoing}
    messages = [_incoming_line(ongoing[line.customer_id], line, channel, at) for line in batch.values()]
    try:
        with transaction.atomic():
            Message.objects.bulk_create(messages)
    except IntegrityError:  # another process stored one of them meanwhile: one at a time, each decides
        batch, messages = {}, []
    reopened, touched = [], {}
    for message, line in zip(messages, batch.values(), strict=True):
        previous = _customer_wrote(message.conversation, message, line.channel_account_id)
        reopened += [(message.conversation, previous)] if previous != Status.OPEN else []
        touched[message.conversation.pk] = message.conversation
        stored[line.external_id] = message
    _save_all(list(touched.values()), CUSTOMER_WROTE_FIELDS)
    for message in messages:
        publish(MessageCreated(workspace_id=workspace_id, conversation_id=message.conversation_id,
                               customer_id=message.customer_id, message_id=message.pk, kind=message.kind))
    for conversation, previous in reopened:
        _announce_reopening(conversation, previous)
    results = []
    for line in lines:
        if line.external_id in stored:  # made now (the first line with this id), or stored before
            results.append((stored[line.external_id], batch.pop(line.external_id, None) is not None))
        else:
            results.append(_receive_line(workspace_id, channel, line))
    return results


def _save_all(conversations: list[Conversation], fields: list[str]) -> None:
    """Save these fields of many conversations: one prepared UPDATE run for each row. (bulk_update
    builds a CASE per field and row; on a lot of a few hundred it cost more than all the rest.)"""
    if not conversations:
        return
    columns = [Conversation._meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    sql = (f"UPDATE {quote(Conversation._meta.db_table)} SET "
           + ", ".join(f"{quote(column.column)} = %s" for column in columns) + " WHERE id = %s")
    rows = [[column.get_db_prep_save(getattr(c, column.attname), connection) for column in columns] + [c.pk]
            for c in conversations]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _incoming_line(conversation: Conversation, line: ChatLine, channel: str, at: datetime) -> Message:
    html, text = Content(text=clean_text(line.text)).render()  # made storable as receive_message does
    return Message(workspace_id=conversation.workspace_id, conversation=conversation, customer_id=line.customer_id,
                   kind=MessageKind.INCOMING, sender_type=SenderType.CUSTOMER, channel=channel, content_html=html,
                   content_text=text, external_id=line.external_id, metadata=clean_data(line.metadata), created_at=at)


def _receive_line(workspace_id: int, channel: str, line: ChatLine) -> tuple[Message, bool]:
    customer = Customer.objects.get(pk=line.customer_id, workspace_id=workspace_id)
    return receive_message(workspace_id=workspace_id, channel=channel, customer=customer,
                           content=Content(text=line.text), external_id=line.external_id, metadata=line.metadata,
                           channel_account_id=line.channel_account_id)


# ---- opening and agent messages --------------------------------------------------------------


@transaction.atomic
def open_conversation(
    *, actor: Actor, customer: Customer, channel: str, subject: str = "", content: Content | None = None,
    priority: str = Priority.NORMAL,
) -> Conversation:
    """An agent starts a conversation (an outbound email, a call back). The first message is theirs."""
    _check_channel(channel)
    _check_same(actor, customer)
    _check_choice(priority, Priority, "priority")
    conversation = _open(workspace_id=actor.workspace_id, customer=customer, channel=channel, subject=subject, at=now(),
                         priority=priority)
    if content is not None:
        reply(actor=actor, conversation=conversation, content=content)
    return conversation


def _open(*, workspace_id: int, customer: Customer, channel: str, subject: str, at: datetime,
          priority: str = Priority.NORMAL, held_by_bot: bool = False) -> Conversation:
    conversation = Conversation.objects.create(
        workspace_id=workspace_id, customer=customer, channel=channel, subject=subject.strip()[:255], priority=priority,
        last_message_at=at, created_at=at, updated_at=at, held_by_bot=held_by_bot,
    )
    publish(ConversationOpened(workspace_id=workspace_id, conversation_id=conversation.pk, customer_id=customer.pk))
    return conversation


@transaction.atomic
def start_conversation(
    *, workspace_id: int, customer: Customer, channel: str, at: datetime, subject: str = "",
    channel_account_id: int | None = None,
) -> Conversation:
    """A contact that begins without a message, such as a phone call entering a queue. The customer
    waits from `at` until a human responds (record_human_response)."""
    _check_channel(channel)
    if customer.workspace_id != workspace_id:
        raise NotFound("No such customer in this workspace.")
    conversation = _open(workspace_id=workspace_id, customer=customer, channel=channel, subject=subject, at=at)
    conversation.channel_account_id = channel_account_id
    conversation.waiting_since = at
    conversation.save(update_fields=["channel_account", "waiting_since"])
    return conversation


@transaction.atomic
def record_human_response(*, conversation: Conversation, at: datetime) -> Conversation:
    """A human reached the customer outside the thread (an agent answered their call): the first
    response unless one came earlier, and the customer stops waiting."""
    fields = []
    if conversation.first_response_at is None or at < conversation.first_response_at:
        conversation.first_response_at = at
        fields.append("first_response_at")
    if conversation.waiting_since is not None and conversation.waiting_since <= at:
        conversation.waiting_since = None
        fields.append("waiting_since")
    if fields:
        conversation.updated_at = now()
        conversation.save(update_fields=[*fields, "updated_at"])
        publish(ConversationUpdated(workspace_id=conversation.workspace_id, conversation_id=conversation.pk,
                                    fields=tuple(fields)))
    return conversation


@transaction.atomic
def add_system_event(
    *, conversation: Conversation, text: str, at: datetime | None = None, metadata: dict | None = None
) -> Message:
    """A line in the thread from Touchpoint or a connected system (a call answered, put on hold, ended).
    `at` places it where it happened, so events reported late still read in order."""
    message = _store(conversation, kind=MessageKind.EVENT, sender_type=SenderType.SYSTEM, channel=conversation.channel,
                     content=Content(text=text), at=at or now(), metadata=metadata)
    conversation.updated_at = now()
    conversation.save(update_fields=["updated_at"])
    return message


@transaction.atomic
def reply(
    *, actor: Actor, conversation: Conversation, content: Content, channel: str | None = None,
    attachments: list[IncomingFile] = (),
) -> Message:
    """A public reply by an agent. It may go out on another channel than the conversation's."""
    _check_same(actor, conversation)
    channel = channel or conversation.channel
    _check_channel(channel)
    _check_not_empty(content, attachments)
    at = now()
    message = _store(conversation, kind=MessageKind.OUTGOING, sender_type=SenderType.AGENT, channel=channel,
                     content=content, author_id=actor.membership_id, at=at, attachments=attachments)
    message.refresh_from_db(fields=["delivery_status"])  # "queued" by the channel's outbox listener
    taken = _take_from_bot(conversation, at)
    if conversation.first_response_at is None:
        conversation.first_response_at = at
    conversation.waiting_since = None
    _touch(conversation, message)
    conversation.save()
    if taken:
        publish(ConversationUpdated(workspace_id=conversation.workspace_id, conversation_id=conversation.pk,
                                    fields=BOT_FIELDS))
    return message


@transaction.atomic
def add_note(*, actor: Actor, conversation: Conversation, content: Content, attachments: list[IncomingFile] = ()) -> Message:
    """An internal note: seen by agents only, never delivered to the customer, never a response."""
    _check_same(actor, conversation)
    _check_not_empty(content, attachments)
    message = _store(conversation, kind=MessageKind.NOTE, sender_type=SenderType.AGENT, channel=conversation.channel,
                     content=content, author_id=actor.membership_id, at=now(), attachments=attachments)
    conversation.updated_at = message.created_at
    conversation.save(update_fields=["updated_at"])
    return message


# ---- a bot as first responder -----------------------------------------------------------------

# (workspace id, channel, the first message's metadata) → whether a bot answers this new conversation.
FirstResponder = Callable[[int, str, dict], bool]
_first_responders: list[FirstResponder] = []
BOT_FIELDS = ("held_by_bot", "handed_off_at")


def register_first_responder(takes: FirstResponder) -> None:
    """An app that answers customers before people do (the bot) says, for every conversation a customer
    opens, whether it takes it. It runs on every new conversation, so it must answer from a cache."""
    if takes not in _first_responders:
        _first_responders.append(takes)


def _bot_takes(workspace_id: int, channel: str, metadata: dict | None) -> bool:
    for takes in _first_responders:
        try:
            if takes(workspace_id, channel, metadata or {}):
                return True
        except Exception:  # a broken bot must not lose the customer's message: people answer it
            log.exception("first responder %s failed; the conversation goes to people", takes)
    return False


@transaction.atomic
def bot_reply(*, conversation: Conversation, content: Content, metadata: dict | None = None) -> Message:
    """A public message from the workspace's bot, delivered on the conversation's channel as an agent's
    reply is (the widget's live event, the SMS or WhatsApp delivery task). It is not a response: the
    first response stays unset and the customer still waits for a person (waiting_since is kept)."""
    _check_not_empty(content, [])
    message = _store(conversation, kind=MessageKind.OUTGOING, sender_type=SenderType.BOT, channel=conversation.channel,
                     content=content, at=now(), metadata=metadata)
    _touch(conversation, message)
    conversation.save(update_fields=["last_message_at", "last_message_preview", "updated_at"])
    return message


@transaction.atomic
def hand_off_from_bot(
    *, conversation: Conversation, reason: str, skill: str = "", note: Content | None = None,
    note_metadata: dict | None = None,
) -> Conversation:
    """The bot gives the conversation to people. From now on the customer waits for a human (the first
    response clock starts here, KPIS.md), routing queues it for `skill` when one is named, the thread says
    why, and an internal note (from the bot, never sent) carries what the bot learned. A conversation the
    bot no longer holds (handed off, or an agent took it) is left as it is."""
    conversation = Conversation.objects.select_for_update().select_related("customer").get(pk=conversation.pk)
    if not conversation.held_by_bot:
        return conversation
    at = now()
    conversation.held_by_bot = False
    conversation.handed_off_at = at
    if conversation.status == Status.OPEN:
        conversation.waiting_since = at
    conversation.updated_at = at
    conversation.save(update_fields=[*BOT_FIELDS, "waiting_since", "updated_at"])
    _system_event(conversation, f"Handed to a person: {reason}")
    if note is not None:
        _store(conversation, kind=MessageKind.NOTE, sender_type=SenderType.BOT, channel=conversation.channel,
               content=note, at=at, metadata=note_metadata)
    publish(ConversationHandedOff(workspace_id=conversation.workspace_id, conversation_id=conversation.pk,
                                  reason=reason, skill=skill))
    publish(ConversationUpdated(workspace_id=conversation.workspace_id, conversation_id=conversation.pk,
                                fields=(*BOT_FIELDS, "waiting_since")))
    return conversation


def _take_from_bot(conversation: Conversation, at: datetime) -> bool:
    """An agent replying or taking the conversation ends the bot's part: the human part starts now.
    The caller saves BOT_FIELDS."""
    if not conversation.held_by_bot:
        return False
    conversation.held_by_bot = False
    conversation.handed_off_at = at
    return True


def _store(
    conversation: Conversation, *, kind: str, sender_type: str, channel: str, content: Content, at: datetime,
    author_id: int | None = None, external_id: str = "", attachments: list[IncomingFile] = (), metadata: dict | None = None,
) -> Message:
    html, text = content.render()
    message = Message.objects.create(
        workspace_id=conversation.workspace_id, conversation=conversation, customer_id=conversation.customer_id,
        kind=kind, sender_type=sender_type, author_id=author_id, channel=channel, content_html=html, content_text=text,
        external_id=external_id, metadata=metadata or {}, created_at=at,
    )
    for incoming in attachments:
        _attach(message, incoming)
    publish(MessageCreated(workspace_id=conversation.workspace_id, conversation_id=conversation.pk,
                           customer_id=conversation.customer_id, message_id=message.pk, kind=kind))
    return message


def _attach(message: Message, incoming: IncomingFile) -> Attachment:
    size = len(incoming.data)
    if size > settings.ATTACHMENT_MAX_BYTES:
        limit_mb = settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)
        raise ValidationFailed(f"{incoming.filename} is {size / 1048576:.1f} MB; attachments may be at most {limit_mb} MB.",
                               code="attachment_too_large", field="attachments")
    content_type = (incoming.content_type or "application/octet-stream").split(";")[0].strip().lower()
    if content_type not in settings.ATTACHMENT_CONTENT_TYPES:
        raise ValidationFailed(f"{incoming.filename}: files of type {content_type} are not accepted.",
                               code="attachment_type", field="attachments")
    name = incoming.filename.replace("/", "_").replace("\\", "_")[:255] or "attachment"
    return Attachment.objects.create(
        workspace_id=message.workspace_id, message=message, file=ContentFile(incoming.data, name=name), filename=name,
        content_type=content_type, size=size,
    )


def _system_event(conversation: Conversation, text: str) -> Message:
    return _store(conversation, kind=MessageKind.EVENT, sender_type=SenderType.SYSTEM, channel=conversation.channel,
                  content=Content(text=text), at=now())


def _touch(conversation: Conversation, message: Message) -> None:
    conversation.last_message_at = message.created_at
    conversation.updated_at = message.created_at
    preview = message.content_text or ", ".join(a.filename for a in message.attachments.all())
    conversation.last_message_preview = preview.replace("\n", " ")[:200]


DELIVERY_STATUSES = ("queued", "retrying", "sent", "delivered", "read", "failed")
_DELIVERY_RANK = {s: i for i, s in enumerate(DELIVERY_STATUSES)}


@transaction.atomic
def record_delivery(*, message: Message, status: str, provider_id: str = "", error: str = "") -> Message:
    """What a channel learned about an outgoing message. Statuses only move forward (a late "sent"
    callback never overwrites "delivered"), except that a retry may follow a transient failure."""
    if status not in DELIVERY_STATUSES:
        raise ValidationFailed(f"Unknown delivery status {status!r}; use one of {', '.join(DELIVERY_STATUSES)}.",
                               field="status")
    message = Message.objects.select_for_update().get(pk=message.pk)
    current = message.delivery_status
    if current and _DELIVERY_RANK.get(current, -1) > _DELIVERY_RANK[status] and current != "failed":
        return message
    message.delivery_status = status
    if provider_id and not message.external_id:
        message.external_id = provider_id
    if error:
        message.metadata = {**message.metadata, "delivery_error": error[:500]}
    message.save(update_fields=["delivery_status", "external_id", "metadata"])
    publish(MessageDeliveryChanged(workspace_id=message.workspace_id, conversation_id=message.conversation_id,
                                   message_id=message.pk, status=status))
    return message


@transaction.atomic
def retry_delivery(*, actor: Actor, message: Message) -> Message:
    """Send a failed reply again (after its channel was fixed, or when the provider is back). The
    status goes back to "queued" and the channel's delivery task starts over from its first attempt;
    the reason of the last failure is cleared, so the thread shows what happens next."""
    _check_same(actor, message)
    message = Message.objects.select_for_update().get(pk=message.pk)
    if message.kind != MessageKind.OUTGOING:
        raise Conflict("Only a reply to the customer is delivered; this message is not one.", code="not_a_reply")
    if message.delivery_status != "failed":
        shown = message.delivery_status or "not sent by a delivery task"
        raise Conflict(f"Only a failed reply can be sent again; this one is {shown}.", code="not_failed")
    message.delivery_status = "queued"
    message.metadata = {k: v for k, v in message.metadata.items() if k != "delivery_error"}
    message.save(update_fields=["delivery_status", "metadata"])
    # The channel's outbox listener enqueues the delivery in this transaction (see channels.listeners).
    publish(MessageDeliveryChanged(workspace_id=message.workspace_id, conversation_id=message.conversation_id,
                                   message_id=message.pk, status="queued"))
    return message


# ---- assignment, status, tags ----------------------------------------------------------------


@transaction.atomic
def assign(*, actor: Actor, conversation: Conversation, assignee: Membership | None) -> Conversation:
    _check_same(actor, conversation)
    if assignee is not None:
        _check_same(actor, assignee)
        if not assignee.is_active:
            raise ValidationFailed(f"{assignee.display_name} is deactivated and cannot take conversations.", field="assignee")
    previous = conversation.assignee_id
    new = assignee.pk if assignee else None
    if previous == new:
        return conversation
    conversation.assignee = assignee
    conversation.updated_at = now()
    taken = assignee is not None and _take_from_bot(conversation, conversation.updated_at)
    conversation.save(update_fields=["assignee", "updated_at", *(BOT_FIELDS if taken else ())])
    who = _name(actor)
    _system_event(conversation, f"{who} assigned this to {assignee.display_name}." if assignee else f"{who} unassigned this.")
    publish(ConversationAssigned(workspace_id=actor.workspace_id, conversation_id=conversation.pk, assignee_id=new,
                                 previous_assignee_id=previous, team_id=conversation.team_id))
    if taken:
        publish(ConversationUpdated(workspace_id=actor.workspace_id, conversation_id=conversation.pk,
                                    fields=BOT_FIELDS))
    return conversation


@transaction.atomic
def transfer_to_team(*, actor: Actor, conversation: Conversation, team: Team | None, keep_assignee: bool = False) -> Conversation:
    """Hand the conversation to a team. The assignee is cleared unless they are in the new team."""
    _check_same(actor, conversation)
    if team is not None:
        _check_same(actor, team)
    if conversation.team_id == (team.pk if team else None):
        return conversation
    previous = conversation.assignee_id
    conversation.team = team
    if not keep_assignee and previous and (team is None or not team.members.filter(pk=previous).exists()):
        conversation.assignee = None
    conversation.updated_at = now()
    conversation.save(update_fields=["team", "assignee", "updated_at"])
    _system_event(conversation, f"{_name(actor)} transferred this to {team.name if team else 'no team'}.")
    publish(ConversationAssigned(workspace_id=actor.workspace_id, conversation_id=conversation.pk,
                                 assignee_id=conversation.assignee_id, previous_assignee_id=previous, team_id=conversation.team_id))
    return conversation


@transaction.atomic
def change_status(
    *, actor: Actor | None, conversation: Conversation, status: str, snoozed_until: datetime | None = None
) -> Conversation:
    """Open, pending (waiting on the customer), snoozed until a time, or resolved. `actor` None is the system."""
    if actor is not None:
        _check_same(actor, conversation)
    _check_choice(status, Status, "status")
    at = now()
    if status == Status.SNOOZED:
        if snoozed_until is None or snoozed_until <= at:
            raise ValidationFailed("Snoozing needs a time in the future to wake the conversation.", field="snoozed_until")
    elif snoozed_until is not None:
        raise ValidationFailed("Only a snoozed conversation has a wake-up time.", field="snoozed_until")
    previous = conversation.status
    if previous == status and conversation.snoozed_until == snoozed_until:
        return conversation
    conversation.status = status
    conversation.snoozed_until = snoozed_until
    if status == Status.RESOLVED:
        conversation.resolved_at = at
        conversation.first_resolved_at = conversation.first_resolved_at or at
        conversation.waiting_since = None
    conversation.updated_at = at
    conversation.save()
    who = _name(actor) if actor else "Touchpoint"
    label = f"snoozed it until {snoozed_until:%Y-%m-%d %H:%M} UTC" if snoozed_until else f"set it to {status}"
    _system_event(conversation, f"{who} {label}.")
    publish(ConversationStatusChanged(workspace_id=conversation.workspace_id, conversation_id=conversation.pk,
                                      status=status, previous_status=previous))
    return conversation


def wake_snoozed(*, at: datetime | None = None) -> int:
    """Reopen every conversation whose snooze has run out. Safe to run from several workers at once."""
    at = at or now()
    woken = 0
    for conversation_id in Conversation.objects.filter(status=Status.SNOOZED, snoozed_until__lte=at).values_list("pk", flat=True):
        with transaction.atomic():
            conversation = Conversation.objects.select_for_update().filter(pk=conversation_id, status=Status.SNOOZED).first()
            if conversation is not None:
                change_status(actor=None, conversation=conversation, status=Status.OPEN)
                woken += 1
    return woken


@transaction.atomic
def update_conversation(
    *, actor: Actor, conversation: Conversation, priority: str | None = None, subject: str | None = None,
    custom_fields: dict | None = None,
) -> Conversation:
    _check_same(actor, conversation)
    changed = []
    if priority is not None and priority != conversation.priority:
        _check_choice(priority, Priority, "priority")
        conversation.priority = priority
        changed.append("priority")
    if subject is not None and subject != conversation.subject:
        conversation.subject = subject.strip()[:255]
        changed.append("subject")
    if custom_fields is not None:
        if not isinstance(custom_fields, dict) or not all(isinstance(k, str) and k for k in custom_fields):
            raise ValidationFailed("Custom fields must be an object of name → value.", field="custom_fields")
        merged = {**conversation.custom_fields, **custom_fields}
        conversation.custom_fields = {k: v for k, v in merged.items() if v is not None}
        changed.append("custom_fields")
    if changed:
        conversation.updated_at = now()
        conversation.save()
        publish(ConversationUpdated(workspace_id=actor.workspace_id, conversation_id=conversation.pk, fields=tuple(changed)))
    return conversation


@transaction.atomic
def tag(*, actor: Actor, conversation: Conversation, add: list[str] = (), remove: list[str] = ()) -> Conversation:
    _check_same(actor, conversation)
    names_add = {_tag_name(n) for n in add}
    names_remove = {_tag_name(n) for n in remove}
    for name in names_add:
        tag_row, _ = Tag.objects.get_or_create(workspace_id=actor.workspace_id, name=name)
        conversation.tags.add(tag_row)
    if names_remove:
        conversation.tags.remove(*Tag.objects.filter(workspace_id=actor.workspace_id, name__in=names_remove))
    if names_add or names_remove:
        conversation.updated_at = now()
        conversation.save(update_fields=["updated_at"])
        publish(ConversationUpdated(workspace_id=actor.workspace_id, conversation_id=conversation.pk, fields=("tags",)))
    return conversation


def _tag_name(name: str) -> str:
    name = str(name).strip().lower()
    if not name or len(name) > 50:
        raise ValidationFailed(f"A tag is 1–50 characters; got {name!r}.", field="tags")
    return name


# ---- checks ----------------------------------------------------------------------------------


def _check_same(actor: Actor, obj: object) -> None:
    actor.require(Role.AGENT)
    if getattr(obj, "workspace_id", None) != actor.workspace_id:
        raise NotFound("No such record in this workspace.")


def _check_channel(channel: str) -> None:
    _check_choice(channel, Channel, "channel")


def _check_choice(value: str, choices: type, field: str) -> None:
    if value not in choices.values:
        raise ValidationFailed(f"Unknown {field} {value!r}; use one of {', '.join(choices.values)}.", field=field)


def _check_not_empty(content: Content, attachments: list[IncomingFile]) -> None:
    if not (content.text.strip() or html_to_text(content.html)) and not attachments:
        raise ValidationFailed("The message is empty; write something or attach a file.", field="content")


def _name(actor: Actor) -> str:
    if actor.membership_id is None:
        return "Touchpoint"
    return Membership.objects.filter(pk=actor.membership_id).values_list("display_name", flat=True).first() or "Someone"
