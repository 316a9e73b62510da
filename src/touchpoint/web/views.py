"""The agent workspace: sign-in, the inbox, the conversation pane, the customer 360 and search.

Views only parse input, call selectors and services, and render. htmx requests get the fragment
they swap; the same URLs without htmx answer with whole pages, so everything works without script."""

import math
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.db.models import prefetch_related_objects
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from touchpoint.accounts.selectors import access_team, memberships_for, teams_for
from touchpoint.accounts.services import remember_workspace, signed_out
from touchpoint.commerce.selectors import recent_orders
from touchpoint.conversations import services as conversations
from touchpoint.conversations.models import Channel, Conversation, Priority, Status
from touchpoint.conversations.selectors import (
    InboxFilter,
    access_attachment,
    access_conversation,
    access_message,
    conversations_for,
    inbox,
    inbox_counts,
    reply_channels,
    search_messages,
    tags_for,
    thread,
    with_last_reply_status,
)
from touchpoint.conversations.services import Content, IncomingFile
from touchpoint.core.api import SESSION_WORKSPACE_KEY, Keyset
from touchpoint.core.errors import NotFound, ValidationFailed
from touchpoint.customers.models import Customer
from touchpoint.customers.selectors import access_customer, search_customers
from touchpoint.customers.timeline import customer_timeline
from touchpoint.realtime.selectors import latest_event_id
from touchpoint.routing.selectors import shown_sla
from touchpoint.web import forms
from touchpoint.web.access import DeskRequest, desk_view

INBOX_PAGE_SIZE = 25
TIMELINE_PAGE_SIZE = 20
INBOX_ORDER = Keyset("inbox", "last_message_at", descending=True)
VIEW_LABELS = {"mine": "Mine", "unassigned": "Unassigned", "open": "Open", "pending": "Pending",
               "snoozed": "Snoozed", "resolved": "Resolved", "all": "All"}


# ---- signing in and out -----------------------------------------------------------------------


@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    if request.method != "POST":
        if request.user.is_authenticated:
            return redirect(next_url)
        return render(request, "web/login.html", {"next": next_url})
    form = forms.LoginForm(request.POST)
    if not form.is_valid():
        return _login_refused(request, next_url, "Enter your email and password.", 400)
    email = form.cleaned_data["email"].strip().lower()
    user = authenticate(request, username=email, password=form.cleaned_data["password"])
    if getattr(request, "axes_locked_out", False):  # too many failures for this account here, or from here
        return _login_refused(request, next_url, _locked_message(), 429, email)
    if user is None:
        return _login_refused(request, next_url, "Wrong email or password.", 401, email)
    login(request, user)  # a new session key: a session id planted before login is worthless
    return HttpResponseRedirect(next_url)


def _locked_message() -> str:
    minutes = math.ceil(settings.LOGIN_LOCKOUT_WINDOW_S / 60)
    return (f"Too many failed sign-ins: signing in from here is locked for {minutes} minutes. "
            "Wait and try again, or ask whoever runs your Touchpoint to lift the lock.")


def _login_refused(request: HttpRequest, next_url: str, error: str, status: int, email: str = "") -> HttpResponse:
    return render(request, "web/login.html", {"next": next_url, "error": error, "email": email}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next", "")
    user, session_key = request.user, request.session.session_key
    logout(request)
    if user.is_authenticated:
        signed_out(user=user, session_key=session_key)  # this session's open pages stop at once
    # Only back to a page of ours (an invitation to accept as someone else), never elsewhere.
    if next_url and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return redirect(next_url)
    return redirect("/login/")


@require_POST
@desk_view()
def switch_workspace(request: DeskRequest) -> HttpResponse:
    wanted = request.POST.get("workspace", "")
    membership = next((m for m in request.memberships if str(m.workspace_id) == wanted), None)
    if membership is None:
        raise NotFound("You are not a member of that workspace.")
    request.session[SESSION_WORKSPACE_KEY] = membership.workspace_id
    remember_workspace(user=request.user, workspace_id=membership.workspace_id)
    return redirect("/")


# ---- the inbox ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxState:
    """The inbox's view and filters, as the query string carries them between requests."""

    view: str = "open"
    team: int | None = None
    channel: str = ""
    tag: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> tuple["InboxState", str]:
        data = forms.cleaned(forms.InboxQuery(request.GET))
        state = cls(view=data["view"] or "open", team=data["team"], channel=data["channel"] or "",
                    tag=(data["tag"] or "").strip().lower())
        return state, data["cursor"] or ""

    def filter(self) -> InboxFilter:
        return InboxFilter(view=self.view, team_id=self.team, channel=self.channel or None, tag=self.tag or None)

    def query(self, **changes: object) -> str:
        values = {"view": self.view, "team": self.team or "", "channel": self.channel, "tag": self.tag, **changes}
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def _inbox_context(request: DeskRequest, state: InboxState, cursor: str = "") -> dict:
    rows, next_cursor = INBOX_ORDER.page(inbox(request.actor, state.filter()), cursor=cursor or None,
                                         limit=INBOX_PAGE_SIZE)
    prefetch_related_objects(rows, "sla")  # the SLA badge: one query for the page
    with_last_reply_status(rows)  # the "Reply failed" mark: one query for the page
    return {"state": state, "rows": rows, "next_cursor": next_cursor, "first_page": not cursor,
            "view_label": VIEW_LABELS[state.view]}


def _nav_context(request: DeskRequest, state: InboxState) -> dict:
    counts = inbox_counts(request.actor)
    views = [{"key": k, "label": label, "count": counts.get(k), "query": state.query(view=k)}
             for k, label in VIEW_LABELS.items()]
    return {"state": state, "views": views}


@require_safe
@desk_view()
def inbox_page(request: DeskRequest) -> HttpResponse:
    return _inbox_page(request)


def _inbox_page(request: DeskRequest, conversation_id: int | None = None) -> HttpResponse:
    state, cursor = InboxState.from_request(request)
    # Read the resume point before the rows: an event landing while the page is built is then
    # replayed when the socket connects, never skipped.
    last_event_id = latest_event_id(request.actor.workspace_id)
    context = {
        "section": "inbox",
        **_inbox_context(request, state, cursor),
        **_nav_context(request, state),
        "teams": list(teams_for(request.actor)),
        "tags": list(tags_for(request.actor)),
        "channels": Channel.choices,
        "last_event_id": last_event_id,
    }
    if conversation_id is not None:
        context.update(_pane_context(request, access_conversation(request.actor, conversation_id)))
    return render(request, "web/inbox.html", context)


@require_safe
@desk_view()
def inbox_rows(request: DeskRequest) -> HttpResponse:
    """The next page of the list ("load more")."""
    state, cursor = InboxState.from_request(request)
    return render(request, "web/_rows.html", _inbox_context(request, state, cursor))


@require_safe
@desk_view()
def inbox_nav(request: DeskRequest) -> HttpResponse:
    state, _ = InboxState.from_request(request)
    return render(request, "web/_views.html", _nav_context(request, state))


@require_safe
@desk_view()
def conversation_row(request: DeskRequest, conversation_id: int) -> HttpResponse:
    """One list row as the current view shows it; empty when the conversation left the view."""
    state, _ = InboxState.from_request(request)
    row = inbox(request.actor, state.filter()).filter(pk=conversation_id).first()
    if row is None:
        return HttpResponse("")
    prefetch_related_objects([row], "sla")
    with_last_reply_status([row])
    return render(request, "web/_row.html", {"c": row, "state": state})


# ---- the conversation pane ---------------------------------------------------------------------


def _pane_context(request: DeskRequest, conversation: Conversation) -> dict:
    actor = request.actor
    customer = conversation.customer
    customer_context = _customer_context(request, customer, exclude_conversation=conversation.pk)
    return {
        "conversation": conversation,
        "sla": shown_sla(conversation),
        "messages": thread(conversation),
        "members": [m for m in memberships_for(actor) if m.is_active],
        "all_teams": list(teams_for(actor)),
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "snooze_choices": forms.SNOOZE_CHOICES,
        "reply_channels": reply_channels(conversation, [i.kind for i in customer_context["identities"]]),
        **customer_context,
    }


def _customer_context(request: DeskRequest, customer: Customer, exclude_conversation: int | None = None) -> dict:
    previous = conversations_for(request.actor).filter(customer_id=customer.pk).order_by("-last_message_at", "-id")
    if exclude_conversation is not None:
        previous = previous.exclude(pk=exclude_conversation)
    entries = customer_timeline(customer.pk, limit=TIMELINE_PAGE_SIZE)
    return {
        "customer": customer,
        "identities": list(customer.identities.all()),
        "previous": list(previous[:10]),
        "orders": recent_orders(request.actor, customer.pk),  # commerce: latest orders with tracking, one query
        "timeline": entries,
        "timeline_before": entries[-1].at.isoformat() if len(entries) == TIMELINE_PAGE_SIZE else "",
    }


@require_safe
@desk_view()
def conversation_page(request: DeskRequest, conversation_id: int) -> HttpResponse:
    if request.htmx and not request.htmx.history_restore_request:
        conversation = access_conversation(request.actor, conversation_id)
        return render(request, "web/_pane.html", _pane_context(request, conversation))
    return _inbox_page(request, conversation_id=conversation_id)


@require_safe
@desk_view()
def conversation_header(request: DeskRequest, conversation_id: int) -> HttpResponse:
    conversation = access_conversation(request.actor, conversation_id)
    return render(request, "web/_header.html", _header_context(request, conversation))


def _header_context(request: DeskRequest, conversation: Conversation) -> dict:
    return {
        "conversation": conversation,
        "sla": shown_sla(conversation),
        "members": [m for m in memberships_for(request.actor) if m.is_active],
        "all_teams": list(teams_for(request.actor)),
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "snooze_choices": forms.SNOOZE_CHOICES,
    }


@require_safe
@desk_view()
def conversation_thread(request: DeskRequest, conversation_id: int) -> HttpResponse:
    conversation = access_conversation(request.actor, conversation_id)
    return render(request, "web/_thread.html", {"conversation": conversation, "messages": thread(conversation)})


@require_POST
@desk_view()
def post_message(request: DeskRequest, conversation_id: int) -> HttpResponse:
    conversation = access_conversation(request.actor, conversation_id)
    data = forms.cleaned(forms.MessageForm(request.POST))
    files = [IncomingFile(filename=f.name, content_type=f.content_type or "", data=f.read())
             for f in request.FILES.getlist("files")]
    content = Content(text=data["text"])
    channels = reply_channels(conversation, list(conversation.customer.identities.values_list("kind", flat=True)))
    channel = data["channel"] or conversation.channel
    if data["kind"] == "note":
        conversations.add_note(actor=request.actor, conversation=conversation, content=content, attachments=files)
    else:
        if channel not in dict(channels):
            raise ValidationFailed(f"{conversation.customer} cannot be reached by {Channel(channel).label}: add their "
                                   "address or number to the customer first, or reply on "
                                   f"{' or '.join(label for _, label in channels)}.", field="channel")
        conversations.reply(actor=request.actor, conversation=conversation, content=content, attachments=files,
                            channel=channel)
    if not request.htmx:
        return redirect(_conversation_url(conversation_id))
    conversation = access_conversation(request.actor, conversation_id)
    return render(request, "web/_posted.html", {
        "conversation": conversation, "messages": thread(conversation), "kind": data["kind"],
        "reply_channels": channels, "channel": channel,
    })


@require_POST
@desk_view()
def retry_delivery(request: DeskRequest, conversation_id: int, message_id: int) -> HttpResponse:
    """Send a failed reply again; the thread comes back with it queued."""
    conversation = access_conversation(request.actor, conversation_id)
    conversations.retry_delivery(actor=request.actor, message=access_message(request.actor, message_id, conversation=conversation))
    if not request.htmx:
        return redirect(_conversation_url(conversation_id))
    return render(request, "web/_thread.html", {"conversation": conversation, "messages": thread(conversation)})


def _changed(request: DeskRequest, conversation_id: int) -> HttpResponse:
    """After an action: the fresh header, and the thread (it gained a system event) out of band."""
    if not request.htmx:
        return redirect(_conversation_url(conversation_id))
    conversation = access_conversation(request.actor, conversation_id)
    return render(request, "web/_changed.html", {
        **_header_context(request, conversation), "messages": thread(conversation),
    })


def _conversation_url(conversation_id: int) -> str:
    return f"/conversations/{conversation_id}/"


@require_POST
@desk_view()
def assign(request: DeskRequest, conversation_id: int) -> HttpResponse:
    conversation = access_conversation(request.actor, conversation_id)
    wanted = forms.cleaned(forms.AssignForm(request.POST))["assignee"].strip()
    if wanted == "me":
        assignee = request.membership
    elif wanted:
        if not wanted.isdigit():
            raise ValidationFailed("Choose an agent to assign, or nobody.", field="assignee")
        assignee = next((m for m in memberships_for(request.actor) if m.pk == int(wanted)), None)
        if assignee is None:
            raise NotFound(f"No agent with id {wanted} in this workspace.")
    else:
        assignee = None
    conversations.assign(actor=request.actor, conversation=conversation, assignee=assignee)
    return _changed(request, conversation_id)


@require_POST
@desk_view()
def transfer(request: DeskRequest, conversation_id: int) -> HttpResponse:
    conversation = access_conversation(request.actor, conversation_id)
    team_id = forms.cleaned(forms.TransferForm(request.POST))["team"]
    team = access_team(request.actor, team_id) if team_id else None
    conversations.transfer_to_team(actor=request.actor, conversation=conversation, team=team)
    return _changed(request, conversation_id)


@require_POST
@desk_view()
def set_priority(request: DeskRequest, conversation_id: int) -> HttpResponse:
    conversation = access_conversation(request.actor, conversation_id)
    priority = forms.cleaned(forms.PriorityForm(request.POST))["priority"]
    conversations.update_conversation(actor=request.actor, conversation=conversation, priority=priority)
    return _changed(request, conversation_id)


@require_POST
@desk_view()
def set_status(request: DeskRequest, conversation_id: int) -> HttpResponse:
    conversation = access_conversation(request.actor, conversation_id)
    data = forms.cleaned(forms.StatusForm(request.POST))
    conversations.change_status(actor=request.actor, conversation=conversation, status=data["status"],
                                snoozed_until=data["snoozed_until"])
    return _changed(request, conversation_id)


@require_POST
@desk_view()
def set_tags(request: DeskRequest, conversation_id: int) -> HttpResponse:
    conversation = access_conversation(request.actor, conversation_id)
    form = forms.TagsForm(request.POST)
    data = forms.cleaned(form)
    remove = [data["remove"]] if data["remove"].strip() else []
    conversations.tag(actor=request.actor, conversation=conversation, add=form.names_to_add(), remove=remove)
    return _changed(request, conversation_id)


@require_safe
@desk_view()
def download_attachment(request: DeskRequest, attachment_id: int) -> HttpResponse:
    """Files only through here: signed in, same workspace, and always as a download, never rendered
    in our origin (a customer's HTML or SVG file must not run as our page)."""
    attachment = access_attachment(request.actor, attachment_id)
    response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.filename,
                            content_type=attachment.content_type)
    response["Cache-Control"] = "private, no-store"
    return response


# ---- customers and search ----------------------------------------------------------------------


@require_safe
@desk_view()
def customer_page(request: DeskRequest, customer_id: int) -> HttpResponse:
    customer = access_customer(request.actor, customer_id)
    if customer.pk != customer_id:
        return redirect(f"/customers/{customer.pk}/")  # merged: the surviving record
    return render(request, "web/customer.html", _customer_context(request, customer))


@require_safe
@desk_view()
def customer_timeline_page(request: DeskRequest, customer_id: int) -> HttpResponse:
    customer = access_customer(request.actor, customer_id)
    before = _parse_before(request.GET.get("before", ""))
    entries = customer_timeline(customer.pk, before=before, limit=TIMELINE_PAGE_SIZE)
    return render(request, "web/_timeline.html", {
        "customer": customer, "timeline": entries,
        "timeline_before": entries[-1].at.isoformat() if len(entries) == TIMELINE_PAGE_SIZE else "",
    })


def _parse_before(value: str) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("'before' must be an ISO 8601 time, e.g. 2026-03-01T09:30:00+00:00.",
                               field="before") from None
    if at.tzinfo is None:
        raise ValidationFailed("'before' needs a time zone, e.g. +00:00.", field="before")
    return at


@require_safe
@desk_view()
def search(request: DeskRequest) -> HttpResponse:
    query = forms.cleaned(forms.SearchForm(request.GET))["q"].strip()
    customers = list(search_customers(request.actor, query)[:20]) if query else []
    messages = search_messages(request.actor, query, limit=30) if query else []
    return render(request, "web/search.html", {"q": query, "customers": customers, "found_messages": messages})
