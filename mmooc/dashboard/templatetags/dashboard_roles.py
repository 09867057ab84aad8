"""Template filters for staff pages: `{% load dashboard_roles %}` then `{% if user|is_organizer %}`."""

from __future__ import annotations

from typing import Any

from django import template

from mmooc.lib import staff

register = template.Library()


@register.filter
def is_organizer(user: Any) -> bool:
    return staff.is_organizer(user)


@register.filter
def is_sitewide(user: Any) -> bool:
    """An organizer of every cohort: the one who sees the outbox, suppressions, webhooks, tokens."""
    return staff.is_sitewide(user)
