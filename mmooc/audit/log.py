"""Recording consequential actions: `record(request.user, "email.scheduled", email, "…")`.

An action taken in a web request also records the client's address (behind a trusted proxy,
the one the proxy names: mmooc.lib.clients)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from django.db.models import Q, TextField
from django.db.models.functions import Cast

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


def forget(needles: Iterable[str], replacement: str = "an erased learner") -> int:
    """Someone erased their data: entries that named them (a staff action on their address)
    keep what was done, with `replacement` for every needle (as a whole word), in the summary
    and the details. Returns how many entries changed."""
    words = sorted({n.strip() for n in needles if n.strip()}, key=len, reverse=True)
    if not words:
        return 0
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE)
    text = Cast("details", TextField())
    named = Q()
    for word in words:
        named |= Q(summary__icontains=word) | Q(details_text__icontains=word)
    changed = 0
    for entry in AuditEntry.objects.annotate(details_text=text).filter(named).only("summary", "details"):
        details = json.loads(pattern.sub(replacement, json.dumps(entry.details, ensure_ascii=False)))
        AuditEntry.objects.filter(pk=entry.pk).update(summary=pattern.sub(replacement, entry.summary)[:500],
                                                      details=details)
        changed += 1
    return changed
