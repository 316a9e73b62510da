"""API for canned replies and macros: write them, find them, preview a reply, apply a macro."""

from django.http import HttpRequest
from ninja import Query, Router, Status

from touchpoint.accounts.selectors import access_team
from touchpoint.automation import selectors, services
from touchpoint.automation.models import CannedReply, Macro
from touchpoint.automation.schemas import (
    CannedReplyIn,
    CannedReplyOut,
    CannedReplyPatch,
    CannedReplyQuery,
    MacroAppliedOut,
    MacroIn,
    MacroOut,
    MacroPatch,
    MacroQuery,
    RenderedOut,
    actions_as_stored,
)
from touchpoint.conversations.selectors import access_conversation
from touchpoint.core.api import Id, Keyset, Page, actor, page_of

router = Router()

CANNED = Keyset("automation.canned_replies", "created_at", descending=False)
MACROS = Keyset("automation.macros", "created_at", descending=False)


# ---- canned replies -----------------------------------------------------------------------------


def _canned(request: HttpRequest, canned_reply_id: int) -> CannedReply:
    return selectors.access_canned_reply(actor(request), canned_reply_id)


@router.get("/canned-replies", response=Page[CannedReplyOut], tags=["canned replies"],
            summary="List or search canned replies")
def list_canned_replies(request: HttpRequest, params: Query[CannedReplyQuery]) -> dict:
    """Those you may see: everyone's and your teams' (supervisors and admins see all). With `q`: the best
    `limit` matches, shortcuts starting with `q` first, most used first, on one page."""
    who = actor(request)
    if params.q is not None and params.q.strip():
        return {"items": selectors.search_canned_replies(who, params.q, limit=params.limit), "next_cursor": None}
    qs = selectors.canned_replies_for(who).select_related("team", "created_by")
    return page_of(CANNED, qs, cursor=params.cursor, limit=params.limit)


@router.post("/canned-replies", response={201: CannedReplyOut}, tags=["canned replies"],
             summary="Create a canned reply (supervisor)")
def create_canned_reply(request: HttpRequest, payload: CannedReplyIn) -> Status:
    who = actor(request)
    team = access_team(who, payload.team_id) if payload.team_id is not None else None
    canned = services.create_canned_reply(actor=who, shortcut=payload.shortcut, title=payload.title,
                                          body=payload.body, team=team)
    return Status(201, _canned(request, canned.pk))


@router.get("/canned-replies/{canned_reply_id}", response=CannedReplyOut, tags=["canned replies"])
def get_canned_reply(request: HttpRequest, canned_reply_id: Id) -> CannedReply:
    return _canned(request, canned_reply_id)


@router.patch("/canned-replies/{canned_reply_id}", response=CannedReplyOut, tags=["canned replies"],
              summary="Change a canned reply (supervisor)")
def update_canned_reply(request: HttpRequest, canned_reply_id: Id, payload: CannedReplyPatch) -> CannedReply:
    who = actor(request)
    canned = _canned(request, canned_reply_id)
    team = services.KEEP
    if "team_id" in payload.model_fields_set:
        team = access_team(who, payload.team_id) if payload.team_id is not None else None
    services.update_canned_reply(actor=who, canned=canned, shortcut=payload.shortcut, title=payload.title,
                                 body=payload.body, team=team)
    return _canned(request, canned_reply_id)


@router.delete("/canned-replies/{canned_reply_id}", response={204: None}, tags=["canned replies"],
               summary="Delete a canned reply (supervisor)")
def delete_canned_reply(request: HttpRequest, canned_reply_id: Id) -> Status:
    services.delete_canned_reply(actor=actor(request), canned=_canned(request, canned_reply_id))
    return Status(204, None)


@router.post("/conversations/{conversation_id}/canned-replies/{canned_reply_id}/render", response=RenderedOut,
             tags=["canned replies"], summary="Preview a canned reply for a conversation")
def render_canned_reply(request: HttpRequest, conversation_id: Id, canned_reply_id: Id) -> dict:
    """The text with the customer's and your details filled in. Nothing is sent or stored: post the text
    (edited or not) to /conversations/{id}/messages to send it."""
    who = actor(request)
    rendered = services.render_canned_reply(actor=who, conversation=access_conversation(who, conversation_id),
                                            canned=_canned(request, canned_reply_id))
    return {"text": rendered.text, "missing": rendered.missing}


# ---- macros -------------------------------------------------------------------------------------


def _macro(request: HttpRequest, macro_id: int) -> Macro:
    return selectors.access_macro(actor(request), macro_id)


@router.get("/macros", response=Page[MacroOut], tags=["macros"], summary="List the macros you may apply")
def list_macros(request: HttpRequest, params: Query[MacroQuery]) -> dict:
    """The workspace's macros and your personal ones, oldest first."""
    qs = selectors.macros_for(actor(request)).select_related("created_by")
    return page_of(MACROS, qs, cursor=params.cursor, limit=params.limit)


@router.post("/macros", response={201: MacroOut}, tags=["macros"],
             summary="Create a macro (workspace: supervisor; personal: anyone)")
def create_macro(request: HttpRequest, payload: MacroIn) -> Status:
    macro = services.create_macro(actor=actor(request), name=payload.name, description=payload.description,
                                  visibility=payload.visibility, actions=actions_as_stored(payload.actions))
    return Status(201, _macro(request, macro.pk))


@router.get("/macros/{macro_id}", response=MacroOut, tags=["macros"])
def get_macro(request: HttpRequest, macro_id: Id) -> Macro:
    return _macro(request, macro_id)


@router.patch("/macros/{macro_id}", response=MacroOut, tags=["macros"], summary="Change a macro")
def update_macro(request: HttpRequest, macro_id: Id, payload: MacroPatch) -> Macro:
    actions = actions_as_stored(payload.actions) if payload.actions is not None else None
    services.update_macro(actor=actor(request), macro=_macro(request, macro_id), name=payload.name,
                          description=payload.description, visibility=payload.visibility, actions=actions)
    return _macro(request, macro_id)


@router.delete("/macros/{macro_id}", response={204: None}, tags=["macros"], summary="Delete a macro")
def delete_macro(request: HttpRequest, macro_id: Id) -> Status:
    services.delete_macro(actor=actor(request), macro=_macro(request, macro_id))
    return Status(204, None)


@router.post("/conversations/{conversation_id}/macros/{macro_id}/apply", response=MacroAppliedOut, tags=["macros"],
             summary="Apply a macro to a conversation")
def apply_macro(request: HttpRequest, conversation_id: Id, macro_id: Id) -> dict:
    """Every action, in order, in one transaction: when one is refused (403 or 422, naming the action),
    none is applied."""
    who = actor(request)
    result = services.apply_macro(actor=who, conversation=access_conversation(who, conversation_id),
                                  macro=_macro(request, macro_id))
    return {"conversation": access_conversation(who, conversation_id), "applied": result.applied,
            "missing": result.missing}
