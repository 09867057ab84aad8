"""Absolute public links to a cohort's calendar, archive and feed, for pages and emails."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse


def _absolute(path: str) -> str:
    return settings.BASE_URL + path


def calendar_url(cohort: Any, tz: str | None = None, language: str = "") -> str:
    """The cohort's iCalendar feed; with `tz`, its times are written in that time zone; with
    `language` (a variant language), its events in that language."""
    url = _absolute(reverse("emails_public:calendar", args=[cohort.course.slug, cohort.slug]))
    query = {key: value for key, value in (("tz", tz), ("lang", language)) if value}
    return f"{url}?{urlencode(query)}" if query else url


def archive_url(cohort: Any) -> str:
    return _absolute(reverse("emails_public:archive", args=[cohort.course.slug, cohort.slug]))


def feed_url(cohort: Any) -> str:
    return _absolute(reverse("emails_public:feed", args=[cohort.course.slug, cohort.slug]))


def view_url(email: Any) -> str:
    return _absolute(reverse("emails_public:view", args=[email.public_id]))


def course_url(cohort: Any) -> str:
    return _absolute(f"/{cohort.course.slug}/{cohort.slug}/")
