"""One root for what goes wrong with outgoing webhooks."""

from __future__ import annotations


class HooksError(Exception):
    """Something about an outgoing webhook."""


class TargetRefused(HooksError, ValueError):
    """An endpoint address that webhooks are never sent to; the message says why, for an organizer."""
