"""Cursor paging: `limit` rows after an opaque, signed cursor; `has_more` and `next_cursor`."""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.db.models import QuerySet

from mmooc.api.errors import invalid

SALT = "mmooc.api.cursor"
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000


def page(qs: QuerySet, cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    """The rows after `cursor` in id order, and the cursor of the next page (None at the end)."""
    if cursor:
        try:
            after = int(signing.loads(cursor, salt=SALT)["after"])
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            raise invalid("invalid_cursor", "This cursor is not one the API gave.", "cursor") from None
        qs = qs.filter(pk__gt=after)
    rows = list(qs.order_by("pk")[: limit + 1])
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, signing.dumps({"after": rows[-1].pk}, salt=SALT)
