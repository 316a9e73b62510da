"""Reads of canned replies and macros, always inside the actor's workspace and what the actor may see.

Who sees what:
- a canned reply without a team: everyone in the workspace; with a team: that team's members, and
  the supervisors and admins who manage canned replies;
- a workspace macro: everyone; a personal macro: only the person who made it.
"""

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from touchpoint.accounts.models import Team
from touchpoint.automation.models import CannedReply, Macro, MacroVisibility
from touchpoint.core.errors import NotFound
from touchpoint.core.permissions import Actor, Role

SEARCH_LIMIT = 10


def canned_replies_for(actor: Actor) -> QuerySet[CannedReply]:
    qs = CannedReply.objects.filter(workspace_id=actor.workspace_id)
    if actor.can(Role.SUPERVISOR):
        return qs
    own_teams = Team.objects.filter(workspace_id=actor.workspace_id, members__id=actor.membership_id)
    return qs.filter(Q(team__isnull=True) | Q(team__in=own_teams))


def access_canned_reply(actor: Actor, canned_reply_id: int) -> CannedReply:
    found = canned_replies_for(actor).filter(pk=canned_reply_id).select_related("team", "created_by").first()
    if found is None:
        raise NotFound(f"No canned reply with id {canned_reply_id} in this workspace.")
    return found


def search_canned_replies(actor: Actor, query: str, *, limit: int = SEARCH_LIMIT) -> list[CannedReply]:
    """What the composer offers after "/ref": shortcuts that start with the words first, then any
    shortcut, title or body containing them; the most used first within each group.

    Case-insensitive. A leading "/" is the composer's trigger, not part of the shortcut."""
    query = query.strip().removeprefix("/").strip()
    qs = canned_replies_for(actor).select_related("team")
    if not query:
        return list(qs.order_by("-usage_count", "shortcut")[:limit])
    qs = qs.filter(Q(shortcut__icontains=query) | Q(title__icontains=query) | Q(body__icontains=query))
    qs = qs.annotate(rank=Case(When(shortcut__istartswith=query, then=Value(0)),
                               When(shortcut__icontains=query, then=Value(1)),
                               When(title__icontains=query, then=Value(2)),
                               default=Value(3), output_field=IntegerField()))
    return list(qs.order_by("rank", "-usage_count", "shortcut")[:limit])


def macros_for(actor: Actor) -> QuerySet[Macro]:
    visible = Q(visibility=MacroVisibility.WORKSPACE)
    if actor.membership_id is not None:
        visible |= Q(visibility=MacroVisibility.PERSONAL, created_by_id=actor.membership_id)
    return Macro.objects.filter(workspace_id=actor.workspace_id).filter(visible)


def access_macro(actor: Actor, macro_id: int) -> Macro:
    found = macros_for(actor).filter(pk=macro_id).select_related("created_by").first()
    if found is None:
        raise NotFound(f"No macro with id {macro_id} in this workspace.")
    return found
