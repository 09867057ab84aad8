"""Values made from a copy's ref when the copy is sent, instead of being stored in its row.

A message may name a kind of such values (`Message.ref_values`): the app that knows what its
refs mean registers the kind at start-up. A course email's copies, say, have a learner's public
id as their ref, and their signed links (the learner's page, unsubscribe) are made from it
when each copy leaves:

- a link is as old as the email in the inbox, not as the scheduling of an email sent weeks
  later (a page link older than a month asks for a fresh one before leaving the cohort);
- a course email's million rows keep no links (about 260 bytes each), and scheduling it
  signs none.

    register(name, names=..., accepts=..., maker=...)    at start-up (an AppConfig.ready)
    kind(message)          the message's kind, or None
    Makers().values(kind, ref)    the values of one copy, one maker per kind for a batch
    complete(message, ref, context)    one copy's context with its values (previews)

A maker is made per batch of copies, not once per process: links carry the time they are
signed. The outbox leaves these names out of the rows it writes, and checks each copy's ref
with `accepts` instead of the values themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Kind:
    name: str
    names: frozenset[str]  # the context names its values fill
    accepts: Callable[[str], bool]  # whether a ref can make them (checked when a copy is queued)
    maker: Callable[[], Callable[[str], dict[str, str]]]  # a function of a ref, for one batch


_KINDS: dict[str, Kind] = {}


class UnknownKind(LookupError):
    """A message names values no app registered: a process started without the app that
    registers them. Not a fault of the message: the engine tries its copies again later."""


def register(name: str, *, names: frozenset[str], accepts: Callable[[str], bool],
             maker: Callable[[], Callable[[str], dict[str, str]]]) -> None:
    _KINDS[name] = Kind(name, frozenset(names), accepts, maker)


def get(name: str) -> Kind:
    try:
        return _KINDS[name]
    except KeyError:
        raise UnknownKind(f"no values are registered as {name!r} (known: {', '.join(sorted(_KINDS)) or 'none'})") \
            from None


def kind(message: Any) -> Kind | None:
    """The kind of values a message's copies get from their refs; None when it names none."""
    name = getattr(message, "ref_values", "")
    return get(name) if name else None


class Makers:
    """Values for the copies of one batch: one maker per kind, made when first needed."""

    def __init__(self) -> None:
        self._made: dict[str, Callable[[str], dict[str, str]]] = {}

    def values(self, kind: Kind, ref: str) -> dict[str, str]:
        make = self._made.get(kind.name)
        if make is None:
            make = self._made[kind.name] = kind.maker()
        return make(ref)


def complete(message: Any, ref: str, context: Mapping[str, str]) -> dict[str, str]:
    """One copy's context with the values made from its ref (none when the message names none)."""
    found = kind(message)
    if found is None or not found.accepts(ref):
        return dict(context)
    return {**context, **found.maker()(ref)}
