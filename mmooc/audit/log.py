"""Recording consequential actions: `record(request.user, "email.scheduled", email, "…")`.

An action taken in a web request also records the client's address (behind a trusted proxy,
the one the proxy names: mmooc.lib.clients)."""

from __future__ import annotations

from typing import Any

from mmooc.audit.models import AuditEntry
from mmooc.lib.clients import current_address


def record(actor: Any, action: str, obj: Any = None, summary: str = "", **details: Any) -> AuditEntry:
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=user,
        actor_name=user.get_username() if user else (str(actor) if actor else "system"),
        action=action,
        object_type=obj._meta.label_lower if obj is not None and hasattr(obj, "_meta") else "",
        object_id=str(obj.pk) if obj is not None and hasattr(obj, "pk") else "",
        summary=summary[:500],
        details=details,
        address=current_address(),
    )
