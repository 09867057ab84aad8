"""Template filters for dates and times, built into every template (settings.TEMPLATES).

    {{ cohort.start_date|day }}              Wednesday 25 November 2026
    {{ row.release|short_day }}              Wed 25 Nov 2026
    {{ post.received_at|moment:zone_name }}  Wed 25 Nov 2026, 09:00 (on that zone's clock)
    {% with stage=cohort|course_stage:learner.timezone %}   before / during (week N) / after
    {{ delivery.sent_at|staff_time }}        2027-03-15 09:00 UTC, then the reader's own time (staff pages)

Pages and emails write dates and times only through these (see `mmooc.lib.clock`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from mmooc.lib import clock

register = template.Library()


@register.filter(name="day")
def day_filter(value: date | datetime | None) -> str:
    return clock.day(value) if value else ""


@register.filter(name="short_day")
def short_day_filter(value: date | datetime | None) -> str:
    return clock.short_day(value) if value else ""


@register.filter(name="moment")
def moment_filter(value: datetime | None, zone_name: str = "UTC") -> str:
    return clock.moment(value, zone_name or "UTC") if value else ""


@register.filter(name="course_stage")
def course_stage_filter(cohort: Any, zone_name: str = "UTC") -> clock.Stage:
    """Where a learner in `zone_name` stands in the cohort's run today (before, during, after)."""
    return clock.stage(cohort.start_date, cohort.end_date, zone_name or "UTC", timezone.now())


@register.filter(name="staff_time")
def staff_time_filter(value: datetime | None) -> SafeString | str:
    """An instant on a staff page: in UTC, and after it the reader's own zone, which the browser
    knows (static/mmooc/local-times.js fills it in; without scripts the UTC time stands alone)."""
    if not value:
        return ""
    utc = clock.in_zone(value, "UTC")
    return format_html('<time class="staff-time" datetime="{}">{} UTC</time>', utc.isoformat(), clock.utc_stamp(utc))
