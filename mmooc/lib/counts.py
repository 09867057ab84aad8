"""Counts as people read them: thousands separators and the right plural form."""

from __future__ import annotations

from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.translation import ngettext


def counted(n: int, singular: str, plural: str) -> str:
    """`1 group`, `1,715 groups`."""
    return f"{intcomma(n)} {ngettext(singular, plural, n)}"
