from typing import Any

from touchpoint.core.clock import now
from touchpoint.core.models import AuditEntry


def record(*, workspace_id: int, actor_id: int | None, action: str, obj: Any, data: dict | None = None) -> AuditEntry:
    return AuditEntry.objects.create(
        workspace_id=workspace_id,
        actor_id=actor_id,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        data=data or {},
        at=now(),
    )
