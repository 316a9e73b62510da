"""Connecting a mailbox and the relay its replies leave through (admins only)."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from touchpoint.channels.models import ChannelAccount
from touchpoint.conversations.models import Channel
from touchpoint.core.errors import Conflict, ValidationFailed
from touchpoint.core.permissions import Actor, Role, check_same_workspace

DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
SECURITY = tuple(DEFAULT_PORTS)


@transaction.atomic
def connect_mailbox(
    *, actor: Actor, name: str, address: str, smtp_host: str = "", smtp_port: int | None = None,
    smtp_security: str = "starttls", smtp_username: str = "", smtp_password: str = "",
) -> ChannelAccount:
    """A mailbox customers write to, whose address replies are sent from. Without a relay of its own,
    replies leave through the server's (EMAIL_HOST...)."""
    actor.require(Role.ADMIN)
    name = (name or "").strip()
    if not 1 <= len(name) <= 120:
        raise ValidationFailed("Name the mailbox (1–120 characters), e.g. 'Support'.", field="name")
    address = (address or "").strip().lower()
    try:
        validate_email(address)
    except ValidationError:
        raise ValidationFailed(f"{address!r} is not an email address; write it like support@example.com.",
                               field="address") from None
    if ChannelAccount.objects.filter(kind=Channel.EMAIL, address=address).exists():
        raise Conflict(f"{address} is connected already; change its relay there instead.", field="address")
    account = ChannelAccount(workspace_id=actor.workspace_id, kind=Channel.EMAIL, name=name, address=address)
    _apply_relay(account, host=smtp_host, port=smtp_port, security=smtp_security, username=smtp_username,
                 password=smtp_password)
    account.save()
    return account


@transaction.atomic
def set_mail_relay(
    *, actor: Actor, account: ChannelAccount, host: str, port: int | None = None, security: str = "starttls",
    username: str = "", password: str = "",
) -> ChannelAccount:
    """Where the mailbox's replies leave through; an empty host means the server's relay. An empty
    password keeps the one stored (a password is never shown again)."""
    actor.require(Role.ADMIN)
    check_same_workspace(actor, account)
    if account.kind != Channel.EMAIL:
        raise ValidationFailed(f"{account.name} is a {account.kind} account; only a mailbox has a mail relay.")
    account = ChannelAccount.objects.select_for_update().get(pk=account.pk)
    _apply_relay(account, host=host, port=port, security=security, username=username, password=password)
    account.save(update_fields=["config", "secret"])
    return account


def _apply_relay(account: ChannelAccount, *, host: str, port: int | None, security: str, username: str,
                 password: str) -> None:
    host = (host or "").strip()
    config = {k: v for k, v in (account.config or {}).items() if k != "smtp"}
    if host:
        if len(host) > 253 or any(c.isspace() or c in "/@:" for c in host):
            raise ValidationFailed(f"{host!r} is not a host name; write it like smtp.example.com.", field="smtp_host")
        if security not in SECURITY:
            raise ValidationFailed(f"Security is one of {', '.join(SECURITY)}.", field="smtp_security")
        if port is not None and not 1 <= port <= 65535:
            raise ValidationFailed("The port is a number from 1 to 65535 (587 for STARTTLS, 465 for SSL).",
                                   field="smtp_port")
        username = (username or "").strip()[:254]
        if username and not (password or account.pk):
            raise ValidationFailed("Give the relay's password with its user name.", field="smtp_password")
        config["smtp"] = {"host": host, "port": port or DEFAULT_PORTS[security], "security": security,
                          "username": username}
    account.config = config
    if password:
        account.secret = password
