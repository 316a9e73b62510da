"""What the API says about conversations and messages."""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field, StringConstraints, model_validator

from touchpoint.conversations.models import (
    Channel,
    Conversation,
    Message,
    MessageKind,
    Priority,
    SenderType,
    Status,
)
from touchpoint.conversations.selectors import VIEWS, last_reply_status
from touchpoint.conversations.services import Content
from touchpoint.core.api import Id, Input, Limit, When
from touchpoint.customers.models import IdentityKind

TagName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)]
View = Literal[VIEWS]  # type: ignore[valid-type]


# ---- out ----------------------------------------------------------------------------------------


class CustomerRef(Schema):
    id: int
    name: str
    display_name: str


class PersonRef(Schema):
    id: int
    display_name: str


class TeamRef(Schema):
    id: int
    name: str


class AttachmentOut(Schema):
    id: int
    name: str
    type: str
    size: int = Field(description="Bytes.")

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.filename

    @staticmethod
    def resolve_type(obj) -> str:
        return obj.content_type


class MessageOut(Schema):
    id: int
    conversation_id: int
    kind: MessageKind = Field(description="incoming, outgoing, note (agents only) or event.")
    sender_type: SenderType
    author: PersonRef | None
    channel: Channel
    content_html: str = Field(description="Sanitized HTML.")
    content_text: str
    external_id: str
    delivery_status: str = Field(
        description="Replies on channels a delivery task sends (email, SMS, WhatsApp): queued, retrying, sent, "
                    "delivered, read or failed. Empty for everything else.")
    delivery_error: str = Field(description="Why the last delivery attempt failed, while it is retrying or failed.")
    created_at: datetime
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_delivery_error(obj: Message) -> str:
        return obj.metadata.get("delivery_error", "") if obj.delivery_status in ("retrying", "failed") else ""

    @staticmethod
    def resolve_attachments(obj: Message) -> list:
        return list(obj.attachments.all())


class ConversationOut(Schema):
    id: int
    customer: CustomerRef
    channel: Channel
    subject: str
    status: Status
    snoozed_until: datetime | None
    priority: Priority
    team: TeamRef | None
    assignee: PersonRef | None
    tags: list[str]
    custom_fields: dict[str, Any]
    waiting_since: datetime | None = Field(description="Since when the customer waits for a reply; null if nobody waits.")
    first_response_at: datetime | None
    held_by_bot: bool = Field(description="The bot answers this conversation; nobody queues it until the handoff.")
    handed_off_at: datetime | None = Field(
        description="When the bot (or an agent taking over) passed it to people: the first-response clock starts here.")
    resolved_at: datetime | None
    last_message_at: datetime
    last_message_preview: str
    last_reply_status: str = Field(
        description="The delivery status of the latest reply, as a message's delivery_status (failed: the customer "
                    "did not get it); empty without a reply.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_tags(obj: Conversation) -> list[str]:
        return [tag.name for tag in obj.tags.all()]

    @staticmethod
    def resolve_last_reply_status(obj: Conversation) -> str:
        if hasattr(obj, "last_reply_status"):  # a page of the inbox reads it for all its rows at once
            return obj.last_reply_status or ""
        return last_reply_status(obj)


# ---- in -----------------------------------------------------------------------------------------


class InboxQuery(Schema):
    view: View | None = Field(
        None, description="mine, unassigned, open, pending, snoozed, resolved or all. Default: open, or all with updated_since."
    )
    status: Status | None = None
    assignee_id: Id | None = None
    team_id: Id | None = None
    channel: Channel | None = None
    tag: TagName | None = None
    customer_id: Id | None = None
    updated_since: When | None = Field(
        None, description="Only conversations changed at or after this time, oldest change first, to sync page by page."
    )
    cursor: str | None = Field(None, max_length=500)
    limit: Limit = 50


class PageQuery(Schema):
    cursor: str | None = Field(None, max_length=500)
    limit: Limit = 50


class MessageSearchQuery(Schema):
    q: str = Field(min_length=1, max_length=200, description="Words to find in message text.")
    limit: Limit = 50


class ContentIn(Input):
    """A message body: `text` (plain, escaped) or `html` (sanitized), one of the two."""

    text: str | None = Field(None, min_length=1, max_length=100_000)
    html: str | None = Field(None, min_length=1, max_length=200_000)

    @model_validator(mode="after")
    def _one_body(self) -> "ContentIn":
        if (self.text is None) == (self.html is None):
            raise ValueError("give the message as `text` or as `html` (one of the two)")
        return self

    def content(self) -> Content:
        return Content(text=self.text or "", html=self.html or "")


class ReplyIn(ContentIn):
    channel: Channel | None = Field(None, description="Send on another channel than the conversation's.")


class ConversationIn(Input):
    customer_id: Id
    channel: Channel
    subject: str = Field("", max_length=255)
    priority: Priority = Priority.NORMAL
    message: ContentIn | None = Field(None, description="The first message, sent as the agent's reply.")


class ConversationPatch(Input):
    priority: Priority | None = None
    subject: str | None = Field(None, max_length=255)
    custom_fields: dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], Any] | None = Field(
        None, max_length=200, description="Merged into the existing fields; a null value removes that field.",
    )


class AssignmentIn(Input):
    assignee_id: Id | None = Field(description="The user to assign, or null to unassign.")


class TeamAssignmentIn(Input):
    team_id: Id | None = Field(description="The team to hand over to, or null for no team.")


class StatusIn(Input):
    status: Status
    snoozed_until: When | None = Field(None, description="Required with status snoozed: when to reopen.")


class TagsIn(Input):
    add: list[TagName] = Field(default_factory=list, max_length=50)
    remove: list[TagName] = Field(default_factory=list, max_length=50)


class SenderIn(Input):
    kind: IdentityKind
    value: str = Field(min_length=1, max_length=320, examples=["jo@example.com"])
    name: str = Field("", max_length=200)


class InboundIn(ContentIn):
    sender: SenderIn
    external_id: str = Field("", max_length=255, description="Your id for the message; a repeat is stored once.")
    conversation_id: Id | None = Field(None, description="Continue this conversation (it must be the sender's).")
    subject: str = Field("", max_length=255)
