"""API for what channels add to a conversation: the phone call behind a voice conversation."""

from django.http import HttpRequest
from ninja import Router

from touchpoint.channels.models import Call
from touchpoint.channels.voice import selectors, services
from touchpoint.channels.voice.schemas import CallOut, DispositionIn
from touchpoint.core.api import Id, actor

router = Router(tags=["calls"])


@router.get("/conversations/{conversation_id}/call", response=CallOut, summary="The phone call of a voice conversation")
def get_call(request: HttpRequest, conversation_id: Id) -> Call:
    """Its legs (one per agent, more after a transfer) and each part's duration in seconds."""
    return selectors.access_call(actor(request), conversation_id)


@router.post("/conversations/{conversation_id}/call/disposition", response=CallOut, summary="Set the call's disposition")
def set_disposition(request: HttpRequest, conversation_id: Id, payload: DispositionIn) -> Call:
    """How the call ended, in the desk's own words ("Refund issued", "Wrong number"). Setting it
    again replaces it; the thread records each change."""
    who = actor(request)
    services.set_disposition(actor=who, call=selectors.access_call(who, conversation_id), disposition=payload.disposition)
    return selectors.access_call(who, conversation_id)
