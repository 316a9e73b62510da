from django.db import models


class WorkspaceScopedQuerySet(models.QuerySet):
    def in_workspace(self, workspace_id: int) -> "WorkspaceScopedQuerySet":
        return self.filter(workspace_id=workspace_id)


class AuditEntry(models.Model):
    """Append-only record of consequential actions (merges, role changes, token issue/revoke)."""

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey("accounts.Membership", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(db_index=True)

    objects = WorkspaceScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["workspace", "object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"
