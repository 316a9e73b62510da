"""Which conversation a reply belongs to.

First the mail's own threading headers: In-Reply-To and References name earlier Message-IDs, ours
(outgoing messages keep the Message-ID they were sent with as their external id) and the customer's
(incoming messages keep theirs). When a client dropped those headers, the reply token in the address
it answered to (support+t<conversation id>.<signature>@, our Reply-To) names the conversation; the
signature, an HMAC with the mailbox's secret, stops anyone from writing into a conversation by
guessing its number.

A reply is threaded only when its sender is the conversation's customer: the customer's record holds
the sender's address. Anyone else writing into a thread, say a colleague the customer forwarded our
reply to, starts a conversation of their own: nobody reads another customer's conversation by
replying to a forwarded mail, and the agent can still merge the two customers when they are one.
An address a chat visitor typed (a claim, see customers.models.Identity) counts here, as the mail our
answer went to: that is how a visitor's answer to our reply to their away form finds its chat. It
counts nowhere else: a mail from that address that answers nothing goes to the address's own record.
"""

import hashlib
import hmac
import re
from collections.abc import Iterable

from touchpoint.channels.email.parsing import ParsedEmail, short_id
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Channel, Conversation, Message, MessageKind
from touchpoint.customers.models import Identity, IdentityKind

_TOKEN_RE = re.compile(r"\+t(\d{1,18})\.([0-9a-f]{10})@", re.I)


def _signature(account: ChannelAccount, conversation_id: int) -> str:
    digest = hmac.new(account.secret.encode(), f"conversation:{conversation_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:10]


def reply_address(account: ChannelAccount, conversation_id: int) -> str:
    """The address our replies ask to be answered at: the mailbox, plus-addressed with a token."""
    local, _, domain = account.address.partition("@")
    return f"{local}+t{conversation_id}.{_signature(account, conversation_id)}@{domain}"


def base_address(address: str) -> str:
    """support+anything@example.com → support@example.com (lower case)."""
    local, _, domain = address.strip().strip("<>").lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def token_conversation_id(account: ChannelAccount, addresses: Iterable[str]) -> int | None:
    for address in addresses:
        match = _TOKEN_RE.search(address or "")
        if match and hmac.compare_digest(match.group(2).lower(), _signature(account, int(match.group(1)))):
            return int(match.group(1))
    return None


def referenced_conversation(account: ChannelAccount, parsed: ParsedEmail) -> Conversation | None:
    """The conversation of the latest message this mail answers or mentions in its references."""
    mail_ids = {short_id(i) for i in [*parsed.in_reply_to, *parsed.references]}
    if not mail_ids:
        return None
    # Unordered, and repeating the partial unique index's condition: SQLite then reads that index.
    # Ordered by time in SQL, it walked the workspace's every message newest first instead.
    messages = (
        Message.objects.filter(workspace_id=account.workspace_id, channel=Channel.EMAIL, external_id__in=mail_ids,
                               kind__in=(MessageKind.INCOMING, MessageKind.OUTGOING))
        .exclude(external_id="").select_related("conversation").order_by()
    )
    latest = max(messages, key=lambda m: (m.created_at, m.pk), default=None)
    return latest.conversation if latest else None


def conversation_for(account: ChannelAccount, parsed: ParsedEmail, recipients: list[str],
                     sender: str) -> Conversation | None:
    """The conversation this mail from `sender` (a normalized address) continues, or None to open a
    new one: one its headers or reply token name, whose customer holds the sender's address."""
    candidates = [referenced_conversation(account, parsed)]
    conversation_id = token_conversation_id(account, recipients)
    if conversation_id is not None:
        candidates.append(Conversation.objects.filter(pk=conversation_id, workspace_id=account.workspace_id).first())
    for conversation in candidates:
        if conversation is not None and Identity.objects.filter(
                workspace_id=account.workspace_id, customer_id=conversation.customer_id, kind=IdentityKind.EMAIL,
                value=sender).exists():
            return conversation
    return None
