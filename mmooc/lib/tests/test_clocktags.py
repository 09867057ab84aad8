from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.template import Context, Template


def render(value) -> str:
    return Template("{{ value|staff_time }}").render(Context({"value": value}))


def test_a_staff_time_is_written_in_utc_for_the_browser_to_add_the_readers_own():
    when = datetime(2027, 3, 15, 2, 0, tzinfo=ZoneInfo("America/Los_Angeles"))  # 09:00 UTC (PDT)
    assert render(when) == '<time class="staff-time" datetime="2027-03-15T09:00:00+00:00">2027-03-15 09:00 UTC</time>'
    assert render(datetime(2027, 1, 5, 23, 59, tzinfo=UTC)).endswith(">2027-01-05 23:59 UTC</time>")


def test_nothing_is_written_for_no_time():
    assert render(None) == ""
