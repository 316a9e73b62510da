"""The widget's writes: who a visitor is (a session), what they send and upload, the offline form.

A visitor is anonymous (a random visitor id kept in their browser) until the site vouches for them
with `user_hash`, an HMAC-SHA256 with the widget's secret computed by the site's server over one of
two payloads (see `signed_payload`): the user id alone, or the user id and the email. Only what the
hash covers is trusted: it finds the customer, becomes a verified identity and opens their chats.
An email the hash does not cover is a hint shown to agents as unverified, never looked up, never
attached as an identity. A wrong or missing hash leaves the visitor anonymous, whatever they claim.

An address typed into the pre-chat or away form is a claim (customers.models.Identity.claimed): it
lets agents answer the visitor by email, and nothing else; any trusted source naming the address
takes it over, so the visitor never receives another's orders or mail."""

import hashlib
import hmac
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass, replace

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from touchpoint.accounts.models import Workspace
from touchpoint.accounts.selectors import access_team
from touchpoint.accounts.services import validate_business_hours
from touchpoint.channels.models import ChannelAccount
from touchpoint.channels.webchat import selectors
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Channel, Conversation, Message
from touchpoint.conversations.services import ChatLine, Content, IncomingFile
from touchpoint.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from touchpoint.core.permissions import Actor, Role
from touchpoint.core.text import clean_text
from touchpoint.customers import services as customers
from touchpoint.customers.identities import normalize
from touchpoint.customers.models import Customer

log = logging.getLogger(__name__)
ID_RE = re.compile(r"^[A-Za-z0-9-]{16,64}$")  # visitor ids and message client ids: UUIDs in practice
SESSION_SALT = "touchpoint.widget.session"
SESSION_MAX_AGE_S = 24 * 3600
UPLOAD_SALT = "touchpoint.widget.upload"
UPLOAD_MAX_AGE_S = 24 * 3600
MAX_ATTACHMENTS = 5
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class NotStored(DomainError):
    """A message that failed to store for a reason of ours, not the visitor's (the cause is logged)."""

    status = 503
    code = "not_stored"

    def __init__(self) -> None:
        super().__init__("We could not store this message; please send it again.")


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def widget_actor(workspace_id: int) -> Actor:
    """The widget acting on the workspace's behalf (a pre-chat topic routes, a login merges records).
    System events it causes read "Touchpoint …"."""
    return Actor(workspace_id=workspace_id, membership_id=None, role=Role.AGENT)


def new_visitor_id() -> str:
    return str(uuid.uuid4())


def signed_payload(user_id: str, email: str | None = None) -> str:
    """What `user_hash` signs: the user id alone (it vouches for the id only), or the user id, a line
    feed and the email, exactly as the page passes them (it vouches for both). A user id has no line
    feed (see identities.normalize), so the two payloads can never be mistaken for each other."""
    return f"{user_id}\n{email}" if email is not None else str(user_id)


def user_hash(secret: str, user_id: str, email: str | None = None) -> str:
    """What the site's server computes to vouch for its signed-in user (hex)."""
    return hmac.new(secret.encode(), signed_payload(user_id, email).encode(), hashlib.sha256).hexdigest()


# ---- sessions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SiteUser:
    """window.TouchpointSettings as the site sent it. Worth nothing without a valid user_hash."""

    user_id: str
    email: str = ""
    name: str = ""
    user_hash: str = ""

    @classmethod
    def parse(cls, raw: object) -> "SiteUser | None":
        if not isinstance(raw, dict) or not raw.get("user_id"):
            return None
        text = {k: clean_text(str(raw.get(k) or "")).strip()[:320] for k in ("user_id", "email", "name", "user_hash")}
        return cls(**text)


@dataclass(frozen=True)
class VisitorSession:
    """Who is on the other end of a widget socket; carried as a signed token to the HTTP endpoints."""

    workspace_id: int
    account_id: int
    visitor_id: str
    customer_id: int | None  # None until an anonymous visitor first writes
    verified: bool
    name: str = ""
    warnings: tuple[str, ...] = ()
    address: str = ""  # the client's address on this connection or request (core.net), for the limits

    def token(self) -> str:
        return signing.dumps([self.workspace_id, self.account_id, self.visitor_id, self.customer_id, self.verified],
                             salt=SESSION_SALT)

    @classmethod
    def from_token(cls, token: str) -> "VisitorSession":
        try:
            workspace_id, account_id, visitor_id, customer_id, verified = signing.loads(
                token or "", salt=SESSION_SALT, max_age=SESSION_MAX_AGE_S)
        except (signing.BadSignature, ValueError, TypeError):
            raise PermissionDenied("This chat session expired or is not valid; reload the page to chat again.",
                                   code="session_invalid") from None
        return cls(workspace_id, account_id, visitor_id, customer_id, verified)

    def with_customer(self, customer_id: int) -> "VisitorSession":
        return replace(self, customer_id=customer_id, warnings=())

    def at(self, address: str) -> "VisitorSession":
        """The session as used from this client address (a token does not carry one: it is where the
        request came from that counts)."""
        return replace(self, address=address)


@dataclass(frozen=True)
class Signed:
    """What a valid user_hash covers."""

    user_id: str
    email: str | None  # None: the hash signs the user id alone


def verify(account: ChannelAccount, user: SiteUser) -> Signed | None:
    """The claims user_hash signs, or None when it signs none of them."""
    given = user.user_hash.lower().encode()
    if not given:
        return None
    if hmac.compare_digest(user_hash(account.secret, user.user_id).encode(), given):
        return Signed(user.user_id, None)
    if user.email and hmac.compare_digest(user_hash(account.secret, user.user_id, user.email).encode(), given):
        return Signed(user.user_id, user.email)
    return None


def start_session(*, account: ChannelAccount, visitor_id: str, user: SiteUser | None = None,
                  address: str = "") -> VisitorSession:
    """Who this visitor is. Creates nothing for an anonymous visitor until they write. Each start
    counts against the address's and the widget's limits on new sessions (RateLimited)."""
    check_rate(SESSIONS, account_id=account.pk, address=address)
    if not ID_RE.match(visitor_id or ""):
        visitor_id = new_visitor_id()
    warnings: list[str] = []
    if user is not None:
        signed = verify(account, user)
        if signed is None:
            warnings.append("TouchpointSettings.user_hash matches neither user_id nor user_id + \"\\n\" + email: "
                            "the visitor stays anonymous.")
        else:
            for attempt in range(2):
                try:
                    with transaction.atomic():
                        return _verified_session(account, visitor_id, user, signed, warnings, address).at(address)
                except IntegrityError:  # two tabs signing the same new user in at once: read theirs
                    if attempt:
                        raise Conflict("Could not start the chat; try again.") from None
    return _anonymous_session(account, visitor_id, warnings).at(address)


def _anonymous_session(account: ChannelAccount, visitor_id: str, warnings: list[str]) -> VisitorSession:
    customer = selectors.visitor_customer(account.workspace_id, visitor_id)
    if customer is not None and selectors.has_verified_identity(customer):
        # This browser's visitor id was used while a customer was signed in: someone not signed in
        # must not see their chats, so this visitor starts afresh.
        visitor_id, customer = new_visitor_id(), None
    return VisitorSession(account.workspace_id, account.pk, visitor_id, customer.pk if customer else None,
                          verified=False, name=customer.name if customer else "", warnings=tuple(warnings))


def _verified_session(account: ChannelAccount, visitor_id: str, user: SiteUser, signed: Signed,
                      warnings: list[str], address: str) -> VisitorSession:
    """The customer the signed claims name: by the user id, else by a signed email, else new (or the
    visitor's own anonymous record). Unsigned claims name nobody: the name fills an empty name, an
    unsigned email is kept on the record as a hint for agents."""
    workspace_id = account.workspace_id
    user_id = _valid_or_none("external", signed.user_id, warnings)
    if user_id is None:
        return _anonymous_session(account, visitor_id, warnings)
    email = _valid_or_none("email", signed.email, warnings) if signed.email else None
    hint = None
    if user.email and signed.email is None:
        hint = _valid_or_none("email", user.email, warnings)
        if hint:
            warnings.append("TouchpointSettings.email is not signed by user_hash: it is shown to agents as unverified "
                            "and identifies nobody. Sign user_id + \"\\n\" + email to have it trusted.")
    known = selectors.identity_owner(workspace_id, "external", user_id) or (
        selectors.identity_owner(workspace_id, "email", email) if email else None)
    before = selectors.visitor_customer(workspace_id, visitor_id)
    if before is not None and before != known and selectors.has_verified_identity(before):
        visitor_id, before = new_visitor_id(), None  # another signed-in customer used this browser
    if known is None and before is None:
        check_rate(NEW_VISITORS, account_id=account.pk, address=address)
        known = customers.create_customer(workspace_id=workspace_id, name=user.name,
                                          identities=[("visitor", visitor_id)])
    elif known is None:
        known = before
    elif before is not None and before.pk != known.pk:
        # What they wrote before signing in joins their record.
        known = customers.merge_customers(actor=widget_actor(workspace_id), source=before, target=known)
    customers.add_identity(customer=known, kind="external", value=user_id, verified=True)
    if email and selectors.identity_owner(workspace_id, "email", email) in (None, known):
        customers.add_identity(customer=known, kind="email", value=email, verified=True)
    changes: dict = {}
    if user.name and not known.name:
        changes["name"] = user.name
    if hint and not selectors.holds_identity(known, "email", hint) and known.custom_attributes.get("unverified_email") != hint:
        changes["custom_attributes"] = {"unverified_email": hint}
    if changes:
        known = customers.update_customer(actor=widget_actor(workspace_id), customer=known, **changes)
    return VisitorSession(workspace_id, account.pk, visitor_id, known.pk, verified=True, name=known.name,
                          warnings=tuple(warnings))


def _valid_or_none(kind: str, value: str, warnings: list[str]) -> str | None:
    try:
        return normalize(kind, value)
    except ValidationFailed as error:
        warnings.append(f"TouchpointSettings: {error.message}")
        return None


def _session_customer(session: VisitorSession, *, name: str = "") -> Customer:
    """The visitor's customer record, made on their first message."""
    if session.customer_id is not None:
        # Known since the socket said hello: one read. Merged since? Then look again from the start.
        customer = Customer.objects.filter(pk=session.customer_id, workspace_id=session.workspace_id).first()
        if customer is not None and customer.merged_into_id is None:
            return customer
        if session.verified:
            customer = selectors.follow_merges(customer)
            if customer is None:
                raise PermissionDenied("This chat session is no longer valid; reload the page.", code="session_invalid")
            return customer
    if selectors.visitor_customer(session.workspace_id, session.visitor_id) is None:
        _limit(session, NEW_VISITORS)  # a record for a new visitor id: the ids are the visitor's to make up
    customer = customers.resolve_customer(workspace_id=session.workspace_id, kind="visitor", value=session.visitor_id,
                                          name=name)
    if selectors.has_verified_identity(customer):
        raise PermissionDenied("This chat belongs to a signed-in customer; reload the page.", code="session_invalid")
    return customer


# ---- messages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prechat:
    """The pre-chat form, sent along with the first message."""

    name: str = ""
    email: str = ""
    topic: str = ""

    @classmethod
    def parse(cls, raw: object) -> "Prechat | None":
        if not isinstance(raw, dict):
            return None
        return cls(**{k: clean_text(str(raw.get(k) or "")).strip()[:200] for k in ("name", "email", "topic")})


def message_metadata(session: VisitorSession) -> dict:
    """What a visitor's message records about its sender. `verified`: the site vouched for the user
    (user_hash) when they wrote it, which is what lets the bot tell them about their own orders."""
    metadata: dict = {"visitor_id": session.visitor_id}
    if session.verified:
        metadata["verified"] = True
    return metadata


@dataclass(frozen=True)
class Received:
    message: Message
    created: bool
    customer_id: int | None  # the visitor's own record, known from their first message on


def receive_visitor_message(
    *, account: ChannelAccount, session: VisitorSession, client_id: str, text: str, uploads: list[str] = (),
    prechat: Prechat | None = None,
) -> Received:
    """A chat message from the widget. Stored once per client id: a resend after a dropped connection
    returns the message stored the first time."""
    _check_client_id(client_id)
    # receive_message finds a resend itself; looked up first only when files came with it (their
    # waiting copies are gone once stored).
    already = _already_stored(session, client_id) if uploads else None
    if already is not None:
        return _resent(session, already)
    text = _check_text(text)
    if prechat and prechat.email:
        _valid_email(prechat.email)
    files, paths = _take_uploads(session, uploads)
    if not text.strip() and not files:
        raise ValidationFailed("The message is empty; write something or attach a file.", field="text")
    resent = _over_rate_unless_resent(session, client_id)
    if resent is not None:
        return resent
    with transaction.atomic():
        customer = _session_customer(session, name=prechat.name if prechat else "")
        topic = prechat.topic if prechat and prechat.topic in (account.config.get("topics") or {}) else ""
        message, created = conversations.receive_message(
            workspace_id=session.workspace_id, channel=Channel.WEBCHAT, customer=customer, content=Content(text=text),
            external_id=client_id, subject=topic, attachments=files, channel_account_id=account.pk,
            metadata=message_metadata(session),
        )
        if not created:
            return _resent(session, _check_owner(session, message))
        if prechat and _opened_by(message):
            _apply_prechat(account, session, message.conversation, customer, prechat, topic)
    _discard_uploads(paths)
    return Received(message, created, customer.pk)


@dataclass(frozen=True)
class VisitorMessage:
    """One `message` frame of a visitor's socket."""

    session: VisitorSession
    client_id: object
    text: object
    uploads: list = ()
    prechat: Prechat | None = None


def receive_visitor_messages(*, account: ChannelAccount, messages: list[VisitorMessage]) -> list[Received | DomainError]:
    """What a busy widget received while storing its previous lot, stored together: the usual case,
    text from a visitor whose record exists, with a few queries for the lot (receive_chat_lines);
    anything else (a first message, files, the pre-chat form) as receive_visitor_message stores it.
    Each message gets its own outcome: one visitor's error is not another's."""
    results: list[Received | DomainError | None] = [None] * len(messages)
    chat: dict[int, ChatLine] = {}
    known = _unmerged_customers(account.workspace_id, messages)
    for index, item in enumerate(messages):
        try:
            if item.session.customer_id not in known or item.uploads or item.prechat:
                results[index] = receive_visitor_message(account=account, session=item.session,
                                                         client_id=item.client_id, text=item.text,
                                                         uploads=item.uploads, prechat=item.prechat)
                continue
            _check_client_id(item.client_id)
            text = _check_text(item.text)
            if not text.strip():
                raise ValidationFailed("The message is empty; write something or attach a file.", field="text")
            results[index] = _over_rate_unless_resent(item.session, item.client_id)
            if results[index] is None:
                chat[index] = ChatLine(customer_id=item.session.customer_id, text=text, external_id=item.client_id,
                                       metadata=message_metadata(item.session), channel_account_id=account.pk)
        except DomainError as error:
            results[index] = error
    stored = conversations.receive_chat_lines(workspace_id=account.workspace_id, channel=Channel.WEBCHAT,
                                              lines=list(chat.values())) if chat else []
    for index, (message, created) in zip(chat, stored, strict=True):
        session = messages[index].session
        try:
            results[index] = Received(message, True, session.customer_id) if created else (
                _resent(session, _check_owner(session, message)))
        except DomainError as error:
            results[index] = error
    return results


def _unmerged_customers(workspace_id: int, messages: list[VisitorMessage]) -> set[int]:
    ids = {item.session.customer_id for item in messages if item.session.customer_id is not None}
    return set(Customer.objects.filter(workspace_id=workspace_id, pk__in=ids, merged_into__isnull=True)
               .values_list("pk", flat=True)) if ids else set()


def _over_rate_unless_resent(session: VisitorSession, client_id: str) -> Received | None:
    """Raises RateLimited for a visitor writing too fast, unless this is a resend of a message they
    sent before (no new message: answered all the same)."""
    try:
        _limit(session, MESSAGES)
    except RateLimited:
        already = _already_stored(session, client_id)
        if already is None:
            raise
        return _resent(session, already)
    return None


def _resent(session: VisitorSession, message: Message) -> Received:
    mine = session.customer_id or (None if message.metadata.get("offline") else message.customer_id)
    return Received(message, False, mine)


def leave_offline_message(
    *, account: ChannelAccount, session: VisitorSession, client_id: str, email: str, text: str, name: str = "",
) -> Received:
    """The away form: the answer will go out by email, so the conversation's customer must hold the
    address. An address nobody owns joins the visitor's record as a claim (taken from any other
    visitor who claimed it): enough to answer by email and to thread the replies back, never a way to
    anyone's records (customers.add_identity). An address a customer owns files the message in a new
    conversation of that customer, as an email from that address would be, and shows the visitor
    nothing of theirs."""
    already = _already_stored(session, client_id)
    if already is not None:
        return Received(already, False, session.customer_id)
    email = _valid_email(email)
    text = _check_text(text)
    if not text.strip():
        raise ValidationFailed("Write your message, and we'll answer it by email.", field="text")
    _limit(session, MESSAGES)
    name = clean_text(name)
    actor = widget_actor(session.workspace_id)
    with transaction.atomic():
        owner = selectors.identity_owner(session.workspace_id, "email", email)
        mine = _session_customer(session, name=name) if owner is None or session.customer_id else None
        conversation = None
        if owner is None:
            owner = mine
            customers.add_identity(customer=owner, kind="email", value=email, claimed=True)
        elif mine is None or owner.pk != mine.pk:
            conversation = conversations.open_conversation(actor=actor, customer=owner, channel=Channel.WEBCHAT,
                                                           subject="Message left in the chat")
        if name and not owner.name:
            owner = customers.update_customer(actor=actor, customer=owner, name=name)
        message, created = conversations.receive_message(
            workspace_id=session.workspace_id, channel=Channel.WEBCHAT, customer=owner, content=Content(text=text),
            external_id=client_id, channel_account_id=account.pk, conversation=conversation,
            metadata={"visitor_id": session.visitor_id, "offline": True, "reply_by": "email", "reply_to": email},
        )
    return Received(message, created, mine.pk if mine else None)


def _already_stored(session: VisitorSession, client_id: object) -> Message | None:
    """The message this visitor sent under this client id before, if any."""
    _check_client_id(client_id)
    message = selectors.stored_message(session.workspace_id, client_id)
    return None if message is None else _check_owner(session, message)


def _check_client_id(client_id: object) -> None:
    if not isinstance(client_id, str) or not ID_RE.match(client_id):
        raise ValidationFailed("Each message needs a client_id: a UUID made by the widget.", field="client_id")


def _check_owner(session: VisitorSession, message: Message) -> Message:
    """A client id is the visitor's own: one that someone else used is refused, showing nothing of theirs."""
    if message.metadata.get("visitor_id") != session.visitor_id:
        raise Conflict("That message id was used already; send the message with a new id.", code="client_id_taken",
                       field="client_id")
    return message


def _opened_by(message: Message) -> bool:
    # A conversation opened for this message carries the message's own time (receive_message's `at`).
    return message.conversation.created_at == message.created_at


def _apply_prechat(account: ChannelAccount, session: VisitorSession, conversation: Conversation, customer: Customer,
                   prechat: Prechat, topic: str) -> None:
    actor = widget_actor(session.workspace_id)
    if prechat.email and not session.verified:
        email = normalize("email", prechat.email)
        owner = selectors.identity_owner(session.workspace_id, "email", email)
        if owner is None:  # nobody's, or only claimed: the visitor's claim now, which unlocks nothing
            customers.add_identity(customer=customer, kind="email", value=email, claimed=True)
        elif owner.pk != customer.pk:
            # Someone else's address, and nothing proves it is theirs: shown to agents, not linked.
            conversations.update_conversation(actor=actor, conversation=conversation,
                                              custom_fields={"prechat_email": email})
    team_id = (account.config.get("topics") or {}).get(topic)
    if team_id:
        try:
            team = access_team(actor, int(team_id))
        except (NotFound, ValueError, TypeError):
            log.warning("widget %s: topic %r names team %r, which is not in the workspace", account.pk, topic, team_id)
            return
        conversations.transfer_to_team(actor=actor, conversation=conversation, team=team)


def _check_text(text: object) -> str:
    """The message's text as it will be stored (core.text: what the database cannot hold is cleaned
    out), checked before it joins a lot so that it can only fail alone."""
    text = clean_text(text) if isinstance(text, str) else ""
    limit = settings.WIDGET_MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise ValidationFailed(f"The message is {len(text):,} characters; the limit is {limit:,}. Split it up.",
                               code="message_too_long", field="text")
    return text


def _valid_email(email: str) -> str:
    try:
        return normalize("email", email)
    except ValidationFailed:
        raise ValidationFailed(f"{email!r} is not an email address we can answer.", field="email") from None


# ---- abuse limits ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """One thing the widget limits per minute: the settings that give its limit per visitor id (none
    where the visitor id means nothing), per client address on the widget and per widget."""

    what: str
    noun: str
    per_visitor: str | None
    per_address: str
    per_widget: str


MESSAGES = Rate("messages", "messages", "WIDGET_MESSAGES_PER_MINUTE", "WIDGET_MESSAGES_PER_MINUTE_PER_ADDRESS",
                "WIDGET_MESSAGES_PER_MINUTE_PER_WIDGET")
UPLOADS = Rate("uploads", "files", "WIDGET_UPLOADS_PER_MINUTE", "WIDGET_UPLOADS_PER_MINUTE_PER_ADDRESS",
               "WIDGET_UPLOADS_PER_MINUTE_PER_WIDGET")
SESSIONS = Rate("sessions", "new chats", None, "WIDGET_SESSIONS_PER_MINUTE_PER_ADDRESS",
                "WIDGET_SESSIONS_PER_MINUTE_PER_WIDGET")
NEW_VISITORS = Rate("new-visitors", "new visitors", None, "WIDGET_NEW_VISITORS_PER_MINUTE_PER_ADDRESS",
                    "WIDGET_NEW_VISITORS_PER_MINUTE_PER_WIDGET")


def _limit(session: VisitorSession, rate: Rate) -> None:
    check_rate(rate, account_id=session.account_id, address=session.address, visitor_id=session.visitor_id)


def check_rate(rate: Rate, *, account_id: int, address: str, visitor_id: str | None = None) -> None:
    """Counts one more against the visitor's, the address's and the widget's limits, in that order, and
    raises RateLimited at the first one over. Fixed one-minute windows counted in the shared cache
    (Redis when scaled out). The address is unknown ("") only where no server gave one: not counted."""
    now = time.time()
    retry_after = 60 - int(now) % 60
    scopes = (
        ("visitor", visitor_id, rate.per_visitor, "Slow down: at most {limit} {noun} a minute."),
        ("address", address, rate.per_address, "Too many {noun} from your network: at most {limit} a minute."),
        ("widget", "all", rate.per_widget, "This chat is very busy right now."),
    )
    for scope, who, setting, message in scopes:
        if not who or setting is None:
            continue
        limit = getattr(settings, setting)
        if _count(f"widget-rate:{rate.what}:{account_id}:{scope}:{who}:{int(now // 60)}") > limit:
            raise RateLimited(message.format(limit=limit, noun=rate.noun) + f" Try again in {retry_after} s.",
                              retry_after=retry_after)


def _count(key: str) -> int:
    """One more in this window, as the cache counts it."""
    cache.add(key, 0, timeout=90)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=90)
        return 1


# ---- uploads ---------------------------------------------------------------------------------


def store_upload(*, session: VisitorSession, filename: str, content_type: str, data: bytes) -> dict:
    """Keep a file until the message that carries it is sent; the widget gets a signed ticket for it."""
    _limit(session, UPLOADS)
    check_upload_size(filename, len(data))
    content_type = (content_type or "application/octet-stream").split(";")[0].strip().lower()
    if content_type not in settings.ATTACHMENT_CONTENT_TYPES:
        raise ValidationFailed(f"{filename}: files of type {content_type} are not accepted; send an image, a PDF "
                               "or a document.", code="attachment_type", field="file")
    name = re.sub(r"[^\w .()-]", "_", filename)[:120].strip() or "attachment"
    path = default_storage.save(f"widget-uploads/{uuid.uuid4().hex}/{name}", ContentFile(data))
    ticket = signing.dumps([path, name, content_type, len(data), session.account_id, session.visitor_id],
                           salt=UPLOAD_SALT)
    return {"upload": ticket, "name": name, "size": len(data), "content_type": content_type}


def check_upload_size(filename: str, size: int) -> None:
    limit = settings.WIDGET_UPLOAD_MAX_BYTES
    if size > limit:
        raise ValidationFailed(f"{filename} is {size / 1048576:.1f} MB; files may be at most {limit / 1048576:.0f} MB.",
                               code="attachment_too_large", field="file")


def _take_uploads(session: VisitorSession, tickets: object) -> tuple[list[IncomingFile], list[str]]:
    if not tickets:
        return [], []
    if not isinstance(tickets, list) or len(tickets) > MAX_ATTACHMENTS:
        raise ValidationFailed(f"Attach at most {MAX_ATTACHMENTS} files to one message.", field="uploads")
    files, paths = [], []
    for ticket in tickets:
        try:
            path, name, content_type, _, account_id, visitor_id = signing.loads(
                str(ticket), salt=UPLOAD_SALT, max_age=UPLOAD_MAX_AGE_S)
        except (signing.BadSignature, ValueError, TypeError):
            raise ValidationFailed("An attachment expired or is not valid; attach the file again.",
                                   field="uploads") from None
        if (account_id, visitor_id) != (session.account_id, session.visitor_id):
            raise ValidationFailed("That attachment was uploaded by someone else.", field="uploads")
        try:
            with default_storage.open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            raise ValidationFailed(f"{name} is no longer here; attach it again.", field="uploads") from None
        files.append(IncomingFile(filename=name, content_type=content_type, data=data))
        paths.append(path)
    return files, paths


def _discard_uploads(paths: list[str]) -> None:
    """The message holds its own copy now."""
    for path in paths:
        try:
            default_storage.delete(path)
        except OSError:
            log.warning("could not delete widget upload %s", path)


# ---- setting a widget up -----------------------------------------------------------------------


@transaction.atomic
def create_widget(*, actor: Actor, name: str, config: dict | None = None) -> ChannelAccount:
    """A website widget for the workspace (admins only). Its address is the public key in the snippet;
    its secret signs visitors' user ids (identity verification) and is shown once."""
    actor.require(Role.ADMIN)
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationFailed("Name the widget (1–120 characters), e.g. the website it is on.", field="name")
    return ChannelAccount.objects.create(
        workspace_id=actor.workspace_id, kind=Channel.WEBCHAT, name=name, address=f"wk_{secrets.token_urlsafe(18)}",
        config=validate_config(actor, config or {}),
    )


def validate_config(actor: Actor, config: dict) -> dict:
    if not isinstance(config, dict):
        raise ValidationFailed("The widget's settings must be an object.", field="config")
    topics = config.get("topics") or {}
    if not isinstance(topics, dict):
        raise ValidationFailed('Topics map a name to a team id, e.g. {"Orders": 3}.', field="topics")
    for topic, team_id in topics.items():
        if not isinstance(team_id, int):
            raise ValidationFailed(f"Topic {topic!r}: give the team's id (a number).", field="topics")
        access_team(actor, team_id)
    if "business_hours" in config:
        validate_business_hours(config["business_hours"])
    origins = config.get("allowed_origins") or []
    if not isinstance(origins, list) or not all(isinstance(o, str) and re.match(r"^https?://[^/\s]+$", o) for o in origins):
        raise ValidationFailed('Allowed origins are like "https://shop.example.com" (scheme and host, no path).',
                               field="allowed_origins")
    if config.get("color") and not COLOR_RE.match(str(config["color"])):
        raise ValidationFailed("The color is a hex code like #2457d6.", field="color")
    return config


DEMO_STORE = "demo_store"  # the config mark of the demo store's own widget


def ensure_demo_widget(workspace: Workspace) -> ChannelAccount:
    """The demo store's own widget, made the first time the demo store page is shown, with a topic per
    team. Never a widget an admin made: the demo store hands out sign-ins signed with its secret."""
    existing = ChannelAccount.objects.filter(workspace=workspace, kind=Channel.WEBCHAT, is_active=True,
                                             config__demo_store=True).first()
    if existing is not None:
        return existing
    from touchpoint.accounts.models import Team

    topics = {team.name: team.pk for team in Team.objects.filter(workspace=workspace, name__in=("Orders", "Returns",
                                                                                                "Billing"))}
    return ChannelAccount.objects.create(
        workspace=workspace, kind=Channel.WEBCHAT, name="Demo store", address=f"wk_{secrets.token_urlsafe(18)}",
        config={DEMO_STORE: True, "prechat": True, "topics": topics, "title": "Northwind Outfitters",
                "greeting": "Hi! Ask us about an order, a return or your bill."},
    )


def demo_sign_in(*, account: ChannelAccount, demo_workspace: Workspace) -> dict:
    """What the demo store's "Sign in" puts on its page for anyone who clicks: a made-up shopper signed
    as a shop's server would sign its user (user id and email). Only for the demo store's own widget in
    the demo workspace, and only a shopper whose address is on a domain reserved for examples, so a
    real customer is never signed in by a public page. Anything else: NotFound."""
    if not (account.config or {}).get(DEMO_STORE) or account.workspace_id != demo_workspace.pk:
        raise NotFound("The demo sign-in exists only on the demo store of the demo workspace.")
    shopper = selectors.demo_shopper(demo_workspace.pk)
    if shopper is None:
        raise NotFound("The demo workspace has no demo shopper to sign in as.")
    customer, user_id, email = shopper
    return {"user_id": user_id, "email": email, "name": customer.name,
            "user_hash": user_hash(account.secret, user_id, email)}
