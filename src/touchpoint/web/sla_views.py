"""The notifications menu of the agent workspace's top bar (SLA warnings, for now)."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from touchpoint.routing import selectors as routing_selectors
from touchpoint.routing import services as routing
from touchpoint.web.access import DeskRequest, desk_view


def _context(request: DeskRequest, *, keep_open: bool = False) -> dict:
    return {"notifications": routing_selectors.notifications_for(request.actor),
            "unread": routing_selectors.unread_count(request.actor), "keep_open": keep_open}


@require_safe
@desk_view()
def notifications(request: DeskRequest) -> HttpResponse:
    """The menu: loaded after the page, and again when a live event says a new one arrived."""
    return render(request, "web/_notifications.html", _context(request, keep_open=request.GET.get("open") == "1"))


@require_POST
@desk_view()
def read_notifications(request: DeskRequest) -> HttpResponse:
    routing.mark_notifications_read(actor=request.actor)
    if not request.htmx:
        return redirect("/")
    return render(request, "web/_notifications.html", _context(request, keep_open=True))
