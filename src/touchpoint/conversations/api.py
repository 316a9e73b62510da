"""API for conversations and messages, and the generic API channel for systems that send customer messages."""

from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from ninja import Query, Router, Status

from touchpoint.accounts.selectors import access_membership, access_team
from touchpoint.conversations import selectors, services
from touchpoint.conversations.models import Channel, Conversation, Message
from touchpoint.conversations.schemas import (
    AssignmentIn,
    ContentIn,
    ConversationIn,
    ConversationOut,
    ConversationPatch,
    InboundIn,
    InboxQuery,
    MessageOut,
    MessageSearchQuery,
    PageQuery,
    ReplyIn,
    StatusIn,
    TagsIn,
    TeamAssignmentIn,
)
from touchpoint.core.api import Id, Keyset, Page, actor, page_of
from touchpoint.customers.selectors import access_customer

router = Router(tags=["conversations"])

INBOX = Keyset("conversations.inbox", "last_message_at", descending=True)
SYNC = Keyset("conversations.sync", "updated_at", descending=False)
THREAD = Keyset("messages.thread", "created_at", descending=False)


def _conversation(request: HttpRequest, conversation_id: int) -> Conversation:
    return selectors.access_conversation(actor(request), conversation_id)


@router.get("/conversations", response=Page[ConversationOut], summary="The inbox: conversations by view and filters")
def list_conversations(request: HttpRequest, filters: Query[InboxQuery]) -> dict:
    """Latest activity first. With `updated_since`: oldest change first, so a sync client can page forward."""
    view = filters.view or ("all" if filters.updated_since else "open")
    flt = selectors.InboxFilter(
        view=view, status=filters.status, assignee_id=filters.assignee_id, team_id=filters.team_id,
        channel=filters.channel, tag=filters.tag, customer_id=filters.customer_id, updated_since=filters.updated_since,
    )
    keyset = SYNC if filters.updated_since else INBOX
    page = page_of(keyset, selectors.inbox(actor(request), flt), cursor=filters.cursor, limit=filters.limit)
    selectors.with_last_reply_status(page["items"])
    return page


@router.post("/conversations", response={201: ConversationOut}, summary="Open a conversation with a customer")
def open_conversation(request: HttpRequest, payload: ConversationIn) -> Status:
    who = actor(request)
    conversation = services.open_conversation(
        actor=who, customer=access_customer(who, payload.customer_id), channel=payload.channel, subject=payload.subject,
        content=payload.message.content() if payload.message else None, priority=payload.priority,
    )
    return Status(201, _conversation(request, conversation.pk))


@router.get("/conversations/{conversation_id}", response=ConversationOut)
def get_conversation(request: HttpRequest, conversation_id: Id) -> Conversation:
    return _conversation(request, conversation_id)


@router.patch("/conversations/{conversation_id}", response=ConversationOut, summary="Change priority, subject or fields")
def update_conversation(request: HttpRequest, conversation_id: Id, payload: ConversationPatch) -> Conversation:
    services.update_conversation(actor=actor(request), conversation=_conversation(request, conversation_id),
                                 priority=payload.priority, subject=payload.subject, custom_fields=payload.custom_fields)
    return _conversation(request, conversation_id)


@router.get("/conversations/{conversation_id}/messages", response=Page[MessageOut], summary="The thread, oldest first")
def list_messages(request: HttpRequest, conversation_id: Id, params: Query[PageQuery]) -> dict:
    """Every message including internal notes and system events: the API is for agents."""
    conversation = _conversation(request, conversation_id)
    qs = conversation.messages.select_related("author").prefetch_related("attachments")
    return page_of(THREAD, qs, cursor=params.cursor, limit=params.limit)


@router.post("/conversations/{conversation_id}/messages", response={201: MessageOut}, summary="Reply to the customer")
def reply(request: HttpRequest, conversation_id: Id, payload: ReplyIn) -> Status:
    message = services.reply(actor=actor(request), conversation=_conversation(request, conversation_id),
                             content=payload.content(), channel=payload.channel)
    return Status(201, message)


@router.post("/conversations/{conversation_id}/messages/{message_id}/retry", response=MessageOut,
             summary="Send a failed reply again")
def retry_delivery(request: HttpRequest, conversation_id: Id, message_id: Id) -> Message:
    """For a reply whose `delivery_status` is failed (fix the channel first: `delivery_error` says what
    went wrong). It goes back to queued and is delivered again; 409 for any other message."""
    who = actor(request)
    message = selectors.access_message(who, message_id, conversation=_conversation(request, conversation_id))
    return services.retry_delivery(actor=who, message=message)


@router.post("/conversations/{conversation_id}/notes", response={201: MessageOut}, summary="Add an internal note")
def add_note(request: HttpRequest, conversation_id: Id, payload: ContentIn) -> Status:
    message = services.add_note(actor=actor(request), conversation=_conversation(request, conversation_id),
                                content=payload.content())
    return Status(201, message)


@router.post("/conversations/{conversation_id}/assignment", response=ConversationOut, summary="Assign or unassign")
def assign(request: HttpRequest, conversation_id: Id, payload: AssignmentIn) -> Conversation:
    who = actor(request)
    conversation = _conversation(request, conversation_id)
    assignee = access_membership(who, payload.assignee_id) if payload.assignee_id is not None else None
    services.assign(actor=who, conversation=conversation, assignee=assignee)
    return _conversation(request, conversation_id)


@router.post("/conversations/{conversation_id}/team", response=ConversationOut, summary="Hand over to a team")
def transfer(request: HttpRequest, conversation_id: Id, payload: TeamAssignmentIn) -> Conversation:
    who = actor(request)
    conversation = _conversation(request, conversation_id)
    team = access_team(who, payload.team_id) if payload.team_id is not None else None
    services.transfer_to_team(actor=who, conversation=conversation, team=team)
    return _conversation(request, conversation_id)


@router.post("/conversations/{conversation_id}/status", response=ConversationOut, summary="Open, pend, snooze or resolve")
def change_status(request: HttpRequest, conversation_id: Id, payload: StatusIn) -> Conversation:
    services.change_status(actor=actor(request), conversation=_conversation(request, conversation_id),
                           status=payload.status, snoozed_until=payload.snoozed_until)
    return _conversation(request, conversation_id)


@router.post("/conversations/{conversation_id}/tags", response=ConversationOut, summary="Add and remove tags")
def tag(request: HttpRequest, conversation_id: Id, payload: TagsIn) -> Conversation:
    services.tag(actor=actor(request), conversation=_conversation(request, conversation_id),
                 add=payload.add, remove=payload.remove)
    return _conversation(request, conversation_id)


@router.post("/inbound/messages", response={200: MessageOut, 201: MessageOut}, tags=["api channel"],
             summary="Deliver a customer's message from your system")
def receive(request: HttpRequest, payload: InboundIn) -> Status:
    """The generic API channel. The sender is recognised (or created) by identity; a repeated
    `external_id` answers 200 with the message stored the first time, a new message 201."""
    who = actor(request)
    conversation = _conversation(request, payload.conversation_id) if payload.conversation_id else None
    message, created = services.receive_message(
        workspace_id=who.workspace_id, channel=Channel.API, content=payload.content(),
        sender=(payload.sender.kind, payload.sender.value), sender_name=payload.sender.name,
        external_id=payload.external_id, conversation=conversation, subject=payload.subject,
    )
    return Status(201 if created else 200, message)


@router.get("/search/messages", response=list[MessageOut], tags=["search"], summary="Full-text search of messages")
def search_messages(request: HttpRequest, params: Query[MessageSearchQuery]) -> list:
    """Newest first, at most `limit`; internal notes included."""
    messages = selectors.search_messages(actor(request), params.q, limit=params.limit)
    prefetch_related_objects(messages, "attachments")
    return messages
