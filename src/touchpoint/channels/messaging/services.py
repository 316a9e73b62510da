"""What Twilio tells us, turned into the one way messages enter and the one way delivery is recorded."""

import re

from django.db import transaction
from django.http import QueryDict

from touchpoint.channels.messaging.twilio import DELIVERY_STATUS, WHATSAPP_PREFIX
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Channel, Message, MessageKind
from touchpoint.conversations.services import Content, receive_message, record_delivery
from touchpoint.core.errors import Conflict, ValidationFailed
from touchpoint.core.permissions import Actor, Role
from touchpoint.customers.identities import normalize
from touchpoint.customers.models import IdentityKind

MAX_MEDIA = 10  # Twilio's own limit per message
_ACCOUNT_SID = re.compile(r"AC[0-9a-f]{32}")
_AUTH_TOKEN = re.compile(r"[0-9a-f]{32}")


@transaction.atomic
def connect_twilio_number(
    *, actor: Actor, kind: str, name: str, number: str, account_sid: str, auth_token: str
) -> ChannelAccount:
    """An SMS or WhatsApp number of a Twilio account (admins only). The auth token becomes the
    account's secret: it checks Twilio's webhook signatures and authenticates our replies."""
    actor.require(Role.ADMIN)
    if kind not in (Channel.SMS, Channel.WHATSAPP):
        raise ValidationFailed(f"A Twilio number is for sms or whatsapp, not {kind!r}.", field="kind")
    name = (name or "").strip()
    if not 1 <= len(name) <= 120:
        raise ValidationFailed("Name the number (1–120 characters), e.g. 'Support line'.", field="name")
    number = normalize(IdentityKind.PHONE, number.removeprefix(WHATSAPP_PREFIX))
    if not _ACCOUNT_SID.fullmatch(account_sid.strip()):
        raise ValidationFailed("A Twilio account SID is AC followed by 32 hexadecimal characters; copy it from the "
                               "Twilio console's dashboard.", field="account_sid")
    if not _AUTH_TOKEN.fullmatch(auth_token.strip()):
        raise ValidationFailed("A Twilio auth token is 32 hexadecimal characters; copy it from the Twilio console's "
                               "dashboard.", field="auth_token")
    if ChannelAccount.objects.filter(kind=kind, address=number).exists():
        raise Conflict(f"{number} is already connected for {kind}; disconnect it there first.", field="number")
    return ChannelAccount.objects.create(workspace_id=actor.workspace_id, kind=kind, name=name, address=number,
                                         config={"account_sid": account_sid.strip()}, secret=auth_token.strip())


def receive_twilio_message(*, account: ChannelAccount, params: QueryDict) -> tuple[Message, bool]:
    """An SMS or WhatsApp message. The MessageSid is the external id, so a replayed webhook is stored once."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    sender = (params.get("From") or "").removeprefix(WHATSAPP_PREFIX)
    if not sid or not sender:
        raise ValidationFailed("A Twilio message webhook names its MessageSid and From; this one lacks them.",
                               field="MessageSid" if not sid else "From")
    phone = normalize(IdentityKind.PHONE, sender)
    media = _media(params)
    text = params.get("Body") or ""
    if not text.strip() and media:
        # Media are kept as Twilio's URLs (fetching them needs the internet); say so in the thread.
        text = f"[{len(media)} media file{'s' if len(media) > 1 else ''}: {', '.join(m['content_type'] or 'file' for m in media)}]"
    metadata = {
        "provider": "twilio",
        "from": phone,
        "to": (params.get("To") or "").removeprefix(WHATSAPP_PREFIX),
        "media": media,
    }
    if params.get("ProfileName"):
        metadata["profile_name"] = params["ProfileName"]
    return receive_message(
        workspace_id=account.workspace_id, channel=account.kind, sender=(IdentityKind.PHONE, phone),
        sender_name=params.get("ProfileName") or "", content=Content(text=text), external_id=sid,
        metadata=metadata, channel_account_id=account.pk,
    )


def _media(params: QueryDict) -> list[dict[str, str]]:
    try:
        count = min(max(int(params.get("NumMedia") or 0), 0), MAX_MEDIA)
    except ValueError:
        raise ValidationFailed("NumMedia must be a whole number.", field="NumMedia") from None
    return [
        {"url": params[f"MediaUrl{i}"], "content_type": params.get(f"MediaContentType{i}") or ""}
        for i in range(count) if params.get(f"MediaUrl{i}")
    ]


def record_twilio_status(*, account: ChannelAccount, params: QueryDict) -> Message | None:
    """A status callback for a message we sent, found by the SID Twilio gave at send time. Unknown
    SIDs and statuses that say nothing new are ignored; a failed message stays failed, since Twilio's
    callbacks may arrive out of order."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    twilio_status = params.get("MessageStatus") or params.get("SmsStatus") or ""
    status = DELIVERY_STATUS.get(twilio_status)
    if not sid or status is None:
        return None
    message = Message.objects.filter(workspace_id=account.workspace_id, channel=account.kind,
                                     kind=MessageKind.OUTGOING, external_id=sid).first()
    if message is None or message.delivery_status in (status, "failed"):
        return message
    error = ""
    if status == "failed":
        code, reason = params.get("ErrorCode"), params.get("ErrorMessage")
        error = f"Twilio reported the message {twilio_status}" + (f" (error {code})" if code else "") + (
            f": {reason}" if reason else "")
    return record_delivery(message=message, status=status, error=error)
