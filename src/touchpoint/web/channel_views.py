"""Settings → Channels (admins): the workspace's mailboxes and numbers, where their replies leave
through, the replies that failed and why, and the forms that fix a channel. The demo's local
outbox is read here too."""

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from touchpoint.channels.email import services as email
from touchpoint.channels.messaging.services import connect_twilio_number
from touchpoint.channels.messaging.twilio import api_base
from touchpoint.channels.models import ChannelAccount
from touchpoint.channels.outbox import outbox_items
from touchpoint.channels.selectors import access_channel_account, channel_accounts_for
from touchpoint.conversations.models import Channel
from touchpoint.conversations.selectors import failed_replies
from touchpoint.core.errors import DomainError
from touchpoint.core.permissions import Role
from touchpoint.web import forms
from touchpoint.web.access import DeskRequest, desk_view

REPLIES_BY = (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP)  # the channels a delivery task sends on


def route(account: ChannelAccount) -> str:
    """Where the account's replies leave through, in words (never a password)."""
    if account.kind == Channel.EMAIL:
        relay = (account.config or {}).get("smtp") or {}
        if relay.get("host"):
            return f"SMTP relay {relay['host']}:{relay.get('port', '')} ({relay.get('security', 'starttls')})"
        return f"the server's mail relay ({settings.EMAIL_HOST}:{settings.EMAIL_PORT})"
    if account.kind in (Channel.SMS, Channel.WHATSAPP):
        sid = (account.config or {}).get("account_sid") or "no account SID"
        return f"Twilio account {sid} at {api_base(account)}"
    if account.kind == Channel.WEBCHAT:
        return "the chat widget, live"
    return "—"


def _channels_page(request: DeskRequest, *, error: str = "", status: int = 200, form_data: dict | None = None) -> HttpResponse:
    accounts = list(channel_accounts_for(request.actor).order_by("kind", "name"))
    active_kinds = {a.kind for a in accounts if a.is_active}
    return render(request, "web/settings_channels.html", {
        "section": "channels",
        "accounts": [(a, route(a)) for a in accounts],
        "missing": [Channel(kind).label for kind in REPLIES_BY if kind not in active_kinds],
        "failed": failed_replies(request.actor),
        "has_outbox": outbox_items(request.actor.workspace_id, limit=1) is not None,
        "error": error, "form_data": form_data or {},
    }, status=status)


@never_cache
@require_safe
@desk_view(Role.ADMIN)
def channels(request: DeskRequest) -> HttpResponse:
    return _channels_page(request)


def _kept(request: DeskRequest) -> dict:
    return {k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "smtp_password", "auth_token")}


@require_POST
@desk_view(Role.ADMIN)
def connect_mailbox(request: DeskRequest) -> HttpResponse:
    try:
        data = forms.cleaned(forms.MailboxForm(request.POST))
        email.connect_mailbox(actor=request.actor, name=data["name"], address=data["address"],
                              smtp_host=data["smtp_host"], smtp_port=data["smtp_port"],
                              smtp_security=data["smtp_security"] or "starttls", smtp_username=data["smtp_username"],
                              smtp_password=data["smtp_password"])
    except DomainError as error:
        return _channels_page(request, error=error.message, status=error.status, form_data=_kept(request))
    return redirect("/settings/channels/")


@require_POST
@desk_view(Role.ADMIN)
def mail_relay(request: DeskRequest, account_id: int) -> HttpResponse:
    account = access_channel_account(request.actor, account_id)
    try:
        data = forms.cleaned(forms.RelayForm(request.POST))
        email.set_mail_relay(actor=request.actor, account=account, host=data["smtp_host"], port=data["smtp_port"],
                             security=data["smtp_security"] or "starttls", username=data["smtp_username"],
                             password=data["smtp_password"])
    except DomainError as error:
        return _channels_page(request, error=error.message, status=error.status)
    return redirect("/settings/channels/")


@require_POST
@desk_view(Role.ADMIN)
def connect_number(request: DeskRequest) -> HttpResponse:
    try:
        data = forms.cleaned(forms.TwilioNumberForm(request.POST))
        connect_twilio_number(actor=request.actor, kind=data["kind"], name=data["name"], number=data["number"],
                              account_sid=data["account_sid"], auth_token=data["auth_token"])
    except DomainError as error:
        return _channels_page(request, error=error.message, status=error.status, form_data=_kept(request))
    return redirect("/settings/channels/")


@never_cache
@require_safe
@desk_view(Role.ADMIN)
def outbox(request: DeskRequest) -> HttpResponse:
    """What the workspace's local outbox kept (the demo's replies), newest first."""
    items = outbox_items(request.actor.workspace_id)
    return render(request, "web/settings_outbox.html", {"section": "channels", "items": items or [],
                                                         "has_outbox": items is not None})
