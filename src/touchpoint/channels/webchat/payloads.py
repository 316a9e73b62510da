"""What the widget is sent about a message: its text and who wrote it, never internal fields. Files
are linked through signed URLs that only open that one file."""

from django.core import signing

from touchpoint.conversations.models import Attachment, Channel, Message, MessageKind, SenderType

FILE_SALT = "touchpoint.widget.file"
CARD_FIELDS = ("title", "price", "stock", "url", "note")
FILE_LINK_MAX_AGE_S = 7 * 24 * 3600


def widget_message(message: Message, *, event_id: int | None = None, attachments: list | None = None) -> dict:
    """`attachments`: the message's files when the caller knows them (saves a query on the hot path)."""
    incoming = message.kind == MessageKind.INCOMING
    files = message.attachments.all() if attachments is None else attachments
    shown = {
        "type": "message",
        "id": message.pk,
        "event_id": event_id,
        "conversation_id": message.conversation_id,
        "from": "visitor" if incoming else "agent",
        "author": "" if incoming or message.author is None else message.author.display_name,
        # Only the widget's own ids: an email's Message-ID or a provider's id stays inside.
        "client_id": message.external_id if incoming and message.channel == Channel.WEBCHAT else "",
        "channel": message.channel,
        "text": message.content_text,
        "attachments": [_file(a, message.customer_id) for a in files],
        "at": message.created_at.isoformat(),
    }
    if message.sender_type == SenderType.BOT and message.kind == MessageKind.OUTGOING:
        shown.update(_bot_parts(message.metadata or {}))
    return shown


def _bot_parts(metadata: dict) -> dict:
    """A bot message: who (the bot's name), its lead text (the cards' lines, kept in the text for agents
    and text-only channels, are shown as cards instead), product cards and quick replies. Only the
    known fields of each card are passed on, as plain strings: the widget builds them as text nodes."""
    bot = metadata.get("bot") if isinstance(metadata.get("bot"), dict) else {}
    parts: dict = {"from": "bot", "author": str(bot.get("name") or "")[:80]}
    if isinstance(bot.get("lead"), str):
        parts["text"] = bot["lead"]
    cards = bot.get("cards") if isinstance(bot.get("cards"), list) else []
    parts["cards"] = [_card(card) for card in cards[:10] if isinstance(card, dict)]
    replies = bot.get("quick_replies") if isinstance(bot.get("quick_replies"), list) else []
    parts["quick_replies"] = [str(reply)[:80] for reply in replies[:5] if isinstance(reply, str) and reply.strip()]
    return parts


def _card(card: dict) -> dict:
    shown = {key: str(card.get(key) or "")[:300] for key in CARD_FIELDS}
    if not shown["url"].lower().startswith(("https://", "http://")):
        shown["url"] = ""  # a link is a web address or nothing
    return shown


def _file(attachment: Attachment, customer_id: int) -> dict:
    ticket = signing.dumps([attachment.pk, customer_id], salt=FILE_SALT)
    return {"name": attachment.filename, "size": attachment.size, "url": f"/widget/v1/files/{ticket}/"}


def file_from_ticket(ticket: str) -> tuple[int, int] | None:
    """(attachment id, customer id) from a file link, or None if it is forged or too old."""
    try:
        attachment_id, customer_id = signing.loads(ticket, salt=FILE_SALT, max_age=FILE_LINK_MAX_AGE_S)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return int(attachment_id), int(customer_id)
