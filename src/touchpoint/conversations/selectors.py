"""Reads of conversations that more than one caller needs: the inbox, the thread, search, the timeline."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery

from touchpoint.conversations.models import (
    Attachment,
    Channel,
    Conversation,
    Message,
    MessageKind,
    Status,
    Tag,
)
from touchpoint.core.errors import NotFound, ValidationFailed
from touchpoint.core.permissions import Actor
from touchpoint.customers.timeline import TimelineEntry

VIEWS = ("mine", "unassigned", "open", "pending", "snoozed", "resolved", "all")


@dataclass(frozen=True)
class InboxFilter:
    view: str = "open"
    status: str | None = None
    assignee_id: int | None = None
    team_id: int | None = None
    channel: str | None = None
    tag: str | None = None
    customer_id: int | None = None
    updated_since: datetime | None = None


def conversations_for(actor: Actor) -> QuerySet[Conversation]:
    return Conversation.objects.filter(workspace_id=actor.workspace_id)


def inbox(actor: Actor, flt: InboxFilter = InboxFilter()) -> QuerySet[Conversation]:
    """Conversations for a view and filters, newest activity first, with what a list row shows."""
    qs = _view(conversations_for(actor), actor, flt.view)
    if flt.status:
        qs = qs.filter(status=flt.status)
    if flt.assignee_id is not None:
        qs = qs.filter(assignee_id=flt.assignee_id)
    if flt.team_id is not None:
        qs = qs.filter(team_id=flt.team_id)
    if flt.channel:
        qs = qs.filter(channel=flt.channel)
    if flt.tag:
        qs = qs.filter(tags__name=flt.tag.lower())
    if flt.customer_id is not None:
        qs = qs.filter(customer_id=flt.customer_id)
    if flt.updated_since is not None:
        qs = qs.filter(updated_at__gte=flt.updated_since)
    return with_list_fields(qs)


def with_list_fields(qs: QuerySet[Conversation]) -> QuerySet[Conversation]:
    return qs.select_related("customer", "assignee", "team").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name"))
    )


def with_last_reply_status(conversations: list[Conversation]) -> list[Conversation]:
    """Sets `last_reply_status` on a page of rows (the list marks a failed reply), in one query that
    looks up each row's latest reply through the thread index. Read after paging, not as a column of
    the list's own query: a view sorted in memory would look it up for every row it sorts."""
    if conversations:
        latest = dict(Conversation.objects.filter(pk__in=[c.pk for c in conversations]).annotate(
            reply_status=Subquery(_last_reply_status(OuterRef("pk"))[:1])).values_list("pk", "reply_status"))
        for conversation in conversations:
            conversation.last_reply_status = latest.get(conversation.pk) or ""
    return conversations


def _last_reply_status(conversation_id) -> QuerySet:
    return (Message.objects.filter(conversation_id=conversation_id, kind=MessageKind.OUTGOING)
            .order_by("-created_at", "-id").values_list("delivery_status", flat=True))


def _view(qs: QuerySet[Conversation], actor: Actor, view: str) -> QuerySet[Conversation]:
    if view not in VIEWS:
        raise ValidationFailed(f"Unknown view {view!r}; use one of {', '.join(VIEWS)}.", field="view")
    if view == "mine":
        return qs.filter(assignee_id=actor.membership_id, status=Status.OPEN)
    if view == "unassigned":
        return qs.filter(assignee__isnull=True, status=Status.OPEN)
    if view == "all":
        return qs
    return qs.filter(status=view)


def inbox_counts(actor: Actor) -> dict[str, int]:
    """How many conversations each view holds. One grouped query over the workspace's unresolved rows."""
    rows = (
        conversations_for(actor)
        .exclude(status=Status.RESOLVED)
        .values("status")
        .annotate(
            n=Count("id"),
            mine=Count("id", filter=Q(assignee_id=actor.membership_id)),
            unassigned=Count("id", filter=Q(assignee__isnull=True)),
        )
    )
    counts = dict.fromkeys(("mine", "unassigned", "open", "pending", "snoozed"), 0)
    for row in rows:
        counts[row["status"]] = row["n"]
        if row["status"] == Status.OPEN:
            counts["mine"] = row["mine"]
            counts["unassigned"] = row["unassigned"]
    return counts


def access_conversation(actor: Actor, conversation_id: int) -> Conversation:
    found = with_list_fields(conversations_for(actor).filter(pk=conversation_id)).first()
    if found is None:
        raise NotFound(f"No conversation with id {conversation_id} in this workspace.")
    return found


def last_reply_status(conversation: Conversation) -> str:
    """The delivery status of the conversation's latest reply ("" without one): one query."""
    return _last_reply_status(conversation.pk).first() or ""


def failed_replies(actor: Actor, *, limit: int = 20) -> list[Message]:
    """The latest replies that did not reach their customer, with why: where admins look to fix a channel."""
    return list(Message.objects.filter(workspace_id=actor.workspace_id, kind=MessageKind.OUTGOING,
                                       delivery_status="failed")
                .select_related("conversation__customer").order_by("-created_at", "-id")[:limit])


def thread(conversation: Conversation, *, after_id: int | None = None, limit: int = 200) -> list[Message]:
    """The conversation's messages, oldest first (notes included: only agents read this)."""
    qs = conversation.messages.select_related("author").prefetch_related("attachments")
    if after_id is not None:
        qs = qs.filter(id__gt=after_id)
        return list(qs.order_by("created_at", "id")[:limit])
    # The latest `limit` messages, shown oldest first.
    latest = list(qs.order_by("-created_at", "-id")[:limit])
    latest.reverse()
    return latest


# The identity that lets a reply reach the customer on each channel.
REPLY_IDENTITIES = {
    Channel.WEBCHAT: ("visitor", "external"),  # the chat widget, when they are on the site
    Channel.EMAIL: ("email",),
    Channel.SMS: ("phone",),
    Channel.WHATSAPP: ("phone",),
}


def first_response_time(conversation: Conversation) -> timedelta | None:
    """KPIS.md first response time, in calendar time: from the start of the human part (the opening, or
    the bot's handoff) to the first public reply by a person; None while nobody has replied. Bot
    messages never set `first_response_at`."""
    if conversation.first_response_at is None:
        return None
    started = conversation.handed_off_at or conversation.created_at
    return max(conversation.first_response_at - started, timedelta(0))


def reply_channels(conversation: Conversation, identity_kinds: list[str]) -> list[tuple[str, str]]:
    """(channel, label) an agent may answer on: the conversation's own channel first, then every other
    channel the customer has an identity for (an email address for email, a phone number for SMS)."""
    found = [conversation.channel] + [
        channel for channel, kinds in REPLY_IDENTITIES.items()
        if channel != conversation.channel and any(kind in kinds for kind in identity_kinds)
    ]
    return [(channel, Channel(channel).label) for channel in found]


def access_attachment(actor: Actor, attachment_id: int) -> Attachment:
    found = Attachment.objects.filter(workspace_id=actor.workspace_id, pk=attachment_id).first()
    if found is None:
        raise NotFound(f"No attachment with id {attachment_id} in this workspace.")
    return found


def tags_for(actor: Actor) -> QuerySet[Tag]:
    return Tag.objects.filter(workspace_id=actor.workspace_id).order_by("name")


def access_message(actor: Actor, message_id: int, *, conversation: Conversation | None = None) -> Message:
    """One message of the workspace; of that conversation, when one is named (as in its URL)."""
    qs = Message.objects.filter(workspace_id=actor.workspace_id, pk=message_id)
    if conversation is not None:
        qs = qs.filter(conversation_id=conversation.pk)
    found = qs.select_related("author").first()
    if found is None:
        raise NotFound(f"No message with id {message_id} in this {'conversation' if conversation else 'workspace'}.")
    return found


def search_messages(actor: Actor, query: str, *, limit: int = 50) -> list[Message]:
    """Full-text search over message text (FTS5 on SQLite, tsvector on PostgreSQL), newest first."""
    terms = [t for t in "".join(c if c.isalnum() else " " for c in query).split() if t][:8]
    if not terms:
        return []
    if connection.vendor == "postgresql":
        ids_sql = (
            "SELECT id FROM conversations_message WHERE workspace_id = %s "
            "AND to_tsvector('simple', content_text) @@ to_tsquery('simple', %s) "
            "ORDER BY created_at DESC, id DESC LIMIT %s"
        )
        params: list = [actor.workspace_id, " & ".join(f"{t.lower()}:*" for t in terms), limit]
    else:
        match = " ".join(f'"{t}"*' for t in terms)
        # CROSS JOIN keeps the full-text index as the outer loop: otherwise SQLite walks msg_recent and
        # probes FTS5 once per message, seconds for a rare word.
        ids_sql = (
            "SELECT m.id FROM conversations_message_fts f CROSS JOIN conversations_message m ON m.id = f.rowid "
            "WHERE conversations_message_fts MATCH %s AND m.workspace_id = %s "
            "ORDER BY m.created_at DESC, m.id DESC LIMIT %s"
        )
        params = [match, actor.workspace_id, limit]
    with connection.cursor() as cursor:
        cursor.execute(ids_sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    found = Message.objects.filter(pk__in=ids).select_related("conversation", "customer", "author").in_bulk()
    return [found[i] for i in ids if i in found]


def timeline_source(customer_id: int, before: datetime | None, limit: int) -> list[TimelineEntry]:
    """Conversations opened and messages exchanged, for the customer's timeline."""
    messages = Message.objects.filter(customer_id=customer_id).exclude(kind=MessageKind.EVENT).select_related("author")
    conversations = Conversation.objects.filter(customer_id=customer_id)
    if before is not None:
        messages = messages.filter(created_at__lt=before)
        conversations = conversations.filter(created_at__lt=before)
    entries = []
    for m in messages.order_by("-created_at", "-id")[:limit]:
        who = m.author.display_name if m.author else m.get_sender_type_display()
        entries.append(TimelineEntry(
            at=m.created_at, kind=f"message.{m.kind}", title=f"{m.get_kind_display()} on {m.get_channel_display()} · {who}",
            body=m.content_text[:280], ref={"conversation_id": m.conversation_id, "message_id": m.pk, "channel": m.channel},
        ))
    # Messages first: at equal times the stable sort keeps "opened" below its first message.
    entries += [
        TimelineEntry(
            at=c.created_at, kind="conversation.opened", title=f"Conversation #{c.pk} opened on {c.get_channel_display()}",
            body=c.subject, ref={"conversation_id": c.pk, "channel": c.channel, "status": c.status},
        )
        for c in conversations.order_by("-created_at")[:limit]
    ]
    return entries
