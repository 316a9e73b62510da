"""Canned replies (saved answers with placeholders) and macros (several conversation actions in one go).

Both are written only through services.py, which validates placeholders and macro actions, so a row
here is always usable: a canned reply renders, a macro's actions are well formed."""

from django.db import models

from touchpoint.core.models import WorkspaceScopedQuerySet


class CannedReply(models.Model):
    """A saved answer an agent drops into the composer by its shortcut ("/refund-policy").

    With a team it is that team's own wording (visible to its members, and to the supervisors and
    admins who manage it); without one, every agent of the workspace sees it."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    shortcut = models.CharField(max_length=50)
    title = models.CharField(max_length=120)
    body = models.TextField()  # plain text with {{placeholders}}; the reply service escapes it
    # A deleted team's replies stay, for everyone: losing the wording would be worse than sharing it.
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey("accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    usage_count = models.PositiveIntegerField(default=0)  # inserts into the composer: ranks the search
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "shortcut"], name="canned_unique_shortcut")]
        ordering = ["shortcut"]

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class MacroVisibility(models.TextChoices):
    PERSONAL = "personal", "Only me"
    WORKSPACE = "workspace", "Everyone in the workspace"


class Macro(models.Model):
    """Several actions on a conversation applied at once and all together, e.g. "Refund sent":
    reply with the refund wording, tag `refund`, set pending.

    `actions` is a list such as [{"type": "reply", "body": "..."}, {"type": "tag", "tags": ["refund"]},
    {"type": "status", "status": "pending"}]; services.validate_actions defines every kind."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    actions = models.JSONField(default=list)
    visibility = models.CharField(max_length=16, choices=MacroVisibility.choices, default=MacroVisibility.WORKSPACE)
    created_by = models.ForeignKey("accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="macro_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
