"""Agent replies leave as mail through SMTP (Django's SMTP email backend).

Each reply is a proper part of the customer's thread: In-Reply-To names their last mail, References
carries the chain, Reply-To holds the conversation's reply token (for clients that drop threading
headers), and the Message-ID it is sent with becomes the message's external id so the customer's
answer finds its way back. Nothing taken from a customer or an agent reaches a header unsanitized.
"""

import re
import smtplib
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection

from touchpoint.channels.adapters import PermanentDeliveryError, TransientDeliveryError
from touchpoint.channels.email.parsing import clean_line
from touchpoint.channels.email.threading import reply_address
from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Channel, Message, MessageKind
from touchpoint.customers.models import Identity

_REPLY_PREFIX_RE = re.compile(r"^((re|aw|sv|fwd?)\s*:\s*)+", re.I)
MAX_REFERENCES = 20


class EmailAdapter:
    def send(self, message: Message, account: ChannelAccount) -> str:
        mail = build_mail(message, account)
        try:
            mail.send()
        except BadHeaderError as error:
            raise PermanentDeliveryError(f"The mail could not be written: {error}") from error
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            detail = "; ".join(f"{address}: {code} {_text(reply)}" for address, (code, reply) in error.recipients.items())
            raise _by_code(min(codes) if codes else 0, f"Recipient refused: {detail}") from error
        except smtplib.SMTPResponseException as error:  # sender refused, data refused, auth failed...
            raise _by_code(error.smtp_code, f"SMTP {error.smtp_code} {_text(error.smtp_error)}") from error
        except (smtplib.SMTPException, OSError) as error:  # disconnected, refused, timed out, TLS
            raise TransientDeliveryError(f"Mail server unreachable: {error}") from error
        return mail.extra_headers["Message-ID"].strip("<>")


def _by_code(code: int, detail: str) -> Exception:
    """5xx is final (no such mailbox, message refused); 4xx and anything else may pass later."""
    return PermanentDeliveryError(detail) if 500 <= code < 600 else TransientDeliveryError(detail)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def build_mail(message: Message, account: ChannelAccount) -> EmailMultiAlternatives:
    conversation = message.conversation
    earlier = list(
        Message.objects.filter(conversation_id=conversation.pk, channel=Channel.EMAIL, pk__lt=message.pk,
                               kind__in=(MessageKind.INCOMING, MessageKind.OUTGOING))
        .exclude(external_id="").exclude(external_id__startswith="sha256:")
        .order_by("created_at", "id").values("kind", "external_id", "metadata")
    )
    incoming = [m for m in earlier if m["kind"] == MessageKind.INCOMING]
    domain = account.address.rpartition("@")[2] or "localhost"
    mail_id = make_msgid(idstring=f"tp{message.pk}", domain=domain)
    headers = {"Message-ID": mail_id}
    if earlier:
        parent = (incoming or earlier)[-1]["external_id"]
        headers["In-Reply-To"] = f"<{parent}>"
        headers["References"] = " ".join(f"<{i}>" for i in _references(earlier, incoming))
    workspace_name = clean_line(account.workspace.name)[:100]
    mail = EmailMultiAlternatives(
        subject=subject_for(conversation.subject, is_reply=bool(earlier), fallback=f"Your message to {workspace_name}"),
        body=message.content_text,
        from_email=formataddr((workspace_name, account.address)),
        to=[_recipient(message, incoming)],
        reply_to=[formataddr((workspace_name, reply_address(account, conversation.pk)))],
        headers=headers,
        connection=_connection(account),
    )
    if message.content_html:
        mail.attach_alternative(f"<!doctype html><html><body>{message.content_html}</body></html>", "text/html")
    for attachment in message.attachments.all():
        with attachment.file.open("rb") as file:
            mail.attach(clean_line(attachment.filename), file.read(), attachment.content_type)
    return mail


def subject_for(subject: str, *, is_reply: bool, fallback: str) -> str:
    """One line, whatever the conversation's subject holds: CR, LF and control characters cannot
    start a header of their own."""
    subject = _REPLY_PREFIX_RE.sub("", clean_line(subject)).strip() or clean_line(fallback)
    return f"Re: {subject}"[:250] if is_reply else subject[:250]


def _references(earlier: list[dict], incoming: list[dict]) -> list[str]:
    """The customer's own chain (from their first mail) followed by every mail of this thread; when
    long, the first and the latest are kept, as mail clients do."""
    chain = list(incoming[0]["metadata"].get("email", {}).get("references", [])) if incoming else []
    chain = [clean_line(i).replace(" ", "") for i in chain if i] + [m["external_id"] for m in earlier]
    chain = list(dict.fromkeys(i for i in chain if i and "<" not in i and ">" not in i))
    if len(chain) > MAX_REFERENCES:
        chain = chain[:1] + chain[-(MAX_REFERENCES - 1):]
    return chain


def _recipient(message: Message, incoming: list[dict]) -> str:
    """Where the customer last wrote from; else the address they asked to be answered at in the chat's
    away form, while it is still theirs; else their first email address on record."""
    address = incoming[-1]["metadata"].get("email", {}).get("from", "") if incoming else ""
    addresses = Identity.objects.filter(customer_id=message.conversation.customer_id, kind="email")
    if not address:
        asked = (Message.objects.filter(conversation_id=message.conversation_id, kind=MessageKind.INCOMING,
                                        metadata__reply_by="email").order_by("-created_at", "-id")
                 .values_list("metadata__reply_to", flat=True).first())
        address = asked if asked and addresses.filter(value=asked).exists() else ""
    if not address:
        address = addresses.order_by("created_at", "id").values_list("value", flat=True).first() or ""
    if not address:
        raise PermanentDeliveryError("The customer has no email address to send this reply to.")
    name = clean_line(message.conversation.customer.name)[:100]
    return formataddr((name, clean_line(address)))


def _connection(account: ChannelAccount):
    """The workspace's own relay when the account names one (config["smtp"]: host, port, username,
    security "starttls" | "ssl" | "none"; the password is the account's secret), else the server's
    (EMAIL_HOST, EMAIL_PORT...)."""
    relay = (account.config or {}).get("smtp") or {}
    if not relay.get("host"):
        return get_connection("django.core.mail.backends.smtp.EmailBackend", fail_silently=False)
    security = relay.get("security", "starttls")
    return get_connection(
        "django.core.mail.backends.smtp.EmailBackend", fail_silently=False, host=relay["host"],
        port=int(relay.get("port") or (465 if security == "ssl" else 587)),
        username=relay.get("username", ""), password=account.secret if relay.get("username") else "",
        use_tls=security == "starttls", use_ssl=security == "ssl", timeout=settings.EMAIL_TIMEOUT,
    )


class MailNotSent(Exception):
    """A notice the relay did not take; the message says why, for the person who asked for it."""


def send_notice(*, workspace_id: int, to: str, subject: str, body: str) -> None:
    """Mail from the desk itself rather than from a conversation (an invitation to join): from the
    workspace's email account and through its relay when it has an active one, else from
    DEFAULT_FROM_EMAIL through the server's configured email backend."""
    account = (ChannelAccount.objects.filter(workspace_id=workspace_id, kind=Channel.EMAIL, is_active=True)
               .select_related("workspace").order_by("pk").first())
    if account is not None:
        sender = formataddr((clean_line(account.workspace.name)[:100], account.address))
        connection = _connection(account)
    else:
        sender, connection = settings.DEFAULT_FROM_EMAIL, get_connection(fail_silently=False)
    mail = EmailMultiAlternatives(subject=clean_line(subject)[:250], body=body, from_email=sender,
                                  to=[clean_line(to)], connection=connection)
    try:
        mail.send()
    except (BadHeaderError, smtplib.SMTPException, OSError) as error:
        raise MailNotSent(f"The mail server did not take the mail: {error}") from error
