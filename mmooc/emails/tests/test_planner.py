"""The send planner's plain function, against worked examples: every expected figure below is
worked out by hand in the comment next to it (copy k of a run leaves (k - 1) / rate seconds
after the run starts; quotas are counted in hours and days from the first copy)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from mmooc.emails.planner import (
    Batch,
    OtherSend,
    Quotas,
    duration_text,
    effective_rate,
    plan,
    quotas_for,
    region,
)
from mmooc.lib.env import env_numbers

NINE = datetime(2026, 12, 7, 9, tzinfo=UTC)  # a Monday


def at(hours: int = 0, minutes: int = 0, seconds: float = 0, days: int = 0) -> datetime:
    return NINE + timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def test_a_rate_limited_send_of_fifty_thousand_copies_takes_59_minutes_31_seconds():
    # 50,000 copies due at 09:00 at 14 a second: the last is copy 50,000, which leaves
    # 49,999 / 14 = 3,571.357 s = 59 min 31.357 s after the first.
    p = plan([Batch("Europe/Paris", 50_000, NINE)], [("example.org", 50_000)], Quotas(per_second=14), 14)
    assert (p.copies, p.first) == (50_000, NINE)
    assert p.last == at(seconds=49_999 / 14)
    assert duration_text(p.duration) == "59 min 31 s"
    assert p.warnings == []
    assert "First copy: Mon 7 Dec 2026 09:00 UTC; last copy: Mon 7 Dec 2026 09:59 UTC (59 min 31 s)." in p.lines()


def test_copies_due_later_wait_behind_the_backlog_of_earlier_zones():
    # At 1 a second: Paris's 3,600 copies leave 09:00:00 to 09:59:59 (copy 3,600 at 3,599 s).
    # Tokyo's 600 fall due at 09:30 but wait behind them: copy 3,601 leaves at 3,600 s
    # (10:00:00), copy 4,200 at 4,199 s (10:09:59).
    p = plan([Batch("Asia/Tokyo", 600, at(minutes=30)), Batch("Europe/Paris", 3_600, NINE)], [],
             Quotas(), 1)
    regions = {r.region: (r.copies, r.first, r.last) for r in p.regions}
    assert regions == {"Europe": (3_600, NINE, at(seconds=3_599)), "Asia": (600, at(hours=1), at(seconds=4_199))}
    assert (p.first, p.last) == (NINE, at(seconds=4_199))
    assert duration_text(p.duration) == "1 h 9 min"


def test_a_zone_due_after_the_backlog_cleared_starts_at_its_own_time():
    # At 1 a second Paris's 1,000 leave 09:00:00-09:16:39; New York's 1,000, due 09:30 (its
    # 09:00 is later in UTC in the example), find no backlog: 09:30:00-09:46:39.
    p = plan([Batch("Europe/Paris", 1_000, NINE), Batch("America/New_York", 1_000, at(minutes=30))], [],
             Quotas(), 1)
    assert [(r.region, r.first, r.last) for r in p.regions] == [
        ("Americas", at(minutes=30), at(minutes=46, seconds=39)),
        ("Europe", NINE, at(minutes=16, seconds=39))]
    assert duration_text(p.duration) == "46 min 39 s"


def test_without_a_rate_every_copy_leaves_when_it_falls_due():
    p = plan([Batch("Asia/Tokyo", 100, at(hours=-8)), Batch("Europe/Paris", 100, NINE)], [], Quotas(), 0)
    assert (p.first, p.last, duration_text(p.duration)) == (at(hours=-8), NINE, "8 h")
    assert p.rate_text() == "no rate limit"


def test_exceeding_the_daily_quota_says_by_how_much_and_when_the_send_finishes():
    # 1,000 copies, 200 a day at 1 a second, days counted from 09:00 Monday.
    # Day 1 (Mon): copies 1-200, 09:00:00-09:03:19. Day 2 (Tue): 201-400. Day 3 (Wed): Paris's
    # last 100 (401-500, to 09:01:39), then Bogotá's first (copy 501, 100 s after 09:00:
    # 09:01:40; due Monday 15:00, it waited). Day 4 (Thu): 601-800. Day 5 (Fri): 801-1,000,
    # the last at 199 s: Fri 11 Dec 09:03:19.
    quotas = Quotas(per_second=1, per_day=200, source="Amazon SES")
    p = plan([Batch("Europe/Paris", 500, NINE), Batch("America/Bogota", 500, at(hours=6))], [], quotas, 1)
    assert p.last == at(days=4, seconds=199)
    assert [(r.region, r.first, r.last) for r in p.regions] == [
        ("Americas", at(days=2, seconds=100), at(days=4, seconds=199)),
        ("Europe", NINE, at(days=2, seconds=99))]
    assert p.warnings == ["Exceeds the daily quota of 200 by 800 copies: it needs 5 days' quotas and finishes "
                          "at Fri 11 Dec 2026 09:03 UTC."]


def test_an_hourly_quota_holds_copies_for_the_next_hour():
    # 2,500 copies at 09:00, no rate, 1,000 an hour: 1,000 at 09:00, 1,000 at 10:00, 500 at 11:00.
    p = plan([Batch("Africa/Lagos", 2_500, NINE)], [], Quotas(per_hour=1_000), 0)
    assert (p.first, p.last) == (NINE, at(hours=2))
    assert p.warnings == ["Exceeds the hourly quota of 1,000: copies wait for the next hour's, and the last "
                          "leaves at Mon 7 Dec 2026 11:00 UTC."]


def test_a_send_spread_over_two_days_within_each_days_quota_gets_no_warning():
    # 300 copies, 200 a day: Tokyo's 150 leave in the first day (from 09:00 Monday), New York's
    # 150, due 25 hours later, in the second. No copy waits.
    p = plan([Batch("Asia/Tokyo", 150, NINE), Batch("America/New_York", 150, at(hours=25))], [],
             Quotas(per_day=200), 0)
    assert (p.last, p.warnings) == (at(hours=25), [])


def test_copies_by_domain_show_the_ten_largest_then_the_others():
    # 900 copies: gmail 500, yahoo 300, ten domains of 10. Ties go in name order, so d01-d08
    # are shown and d09, d10 make "others": 900 - 500 - 300 - 80 = 20.
    domains = [("gmail.com", 500), ("yahoo.com", 300)] + [(f"d{i:02}.org", 10) for i in range(10, 0, -1)]
    p = plan([Batch("UTC", 900, NINE)], domains, Quotas(), 0)
    assert p.domains == [("gmail.com", 500), ("yahoo.com", 300)] + [(f"d{i:02}.org", 10) for i in range(1, 9)] + [
        ("others", 20)]
    assert "Copies by domain: gmail.com 500, yahoo.com 300, d01.org 10" in p.lines()[1]


def test_a_per_domain_hourly_quota_delays_the_largest_domains():
    # 200 an hour per domain: gmail's 500 need 3 hours (200, 200, 100), the last no earlier
    # than 11:00; yahoo's 300 need 2 (last at 10:00 at the earliest); the rest fit in one.
    domains = [("gmail.com", 500), ("yahoo.com", 300), ("example.org", 100)]
    p = plan([Batch("UTC", 900, NINE)], domains, Quotas(per_domain_hour=200), 0)
    assert p.last == at(hours=2)
    assert p.warnings == [
        "gmail.com gets 500 copies, up to 500 in one hour, more than the 200 an hour it takes: it will defer the "
        "rest (the engine does not hold them back), so its last copy arrives at Mon 7 Dec 2026 11:00 UTC at the "
        "earliest.",
        "yahoo.com gets 300 copies, up to 300 in one hour, more than the 200 an hour it takes: it will defer the "
        "rest (the engine does not hold them back), so its last copy arrives at Mon 7 Dec 2026 10:00 UTC at the "
        "earliest."]


def test_a_domain_whose_copies_are_spread_over_the_hours_is_not_delayed():
    # gmail has half of the copies: 150 of Tokyo's 300 at 09:00, 150 of Lima's 300 at 21:00;
    # at 1 a second each zone's copies leave within 5 minutes, so 150 an hour: under 200.
    # Over 900 an hour at once (the hour of Lima's 300 plus 600 more), gmail would get 450.
    spread = [Batch("Asia/Tokyo", 300, NINE), Batch("America/Lima", 300, at(hours=12))]
    p = plan(spread, [("gmail.com", 300), ("example.org", 300)], Quotas(per_domain_hour=200), 1)
    assert p.warnings == [] and p.last == at(hours=12, seconds=299)
    bunched = plan([*spread, Batch("America/Bogota", 600, at(hours=12))], [("gmail.com", 600), ("x.org", 600)],
                   Quotas(per_domain_hour=200), 0)
    # Hour 12 has 900 copies, gmail's share (half) 450: 200 in hour 12, 200 in hour 13, the
    # last 50 in hour 14 (21:00 + 2 h = 23:00).
    assert bunched.warnings[0].startswith("gmail.com gets 600 copies, up to 450 in one hour")
    assert "its last copy arrives at Mon 7 Dec 2026 23:00 UTC at the earliest" in bunched.warnings[0]


def test_a_collision_counts_the_other_sends_copies_due_in_the_window():
    # This send: 09:00 to 09:16:39 (1,000 at 1 a second). Week 3 of py-2 has 1,234 copies
    # due 09:10-09:20 (inside the window); the newsletter's, at 12:00, are not.
    others = [OtherSend("py-2: 'Week 3'", 1_234, at(minutes=10), at(minutes=20)),
              OtherSend("py-1: 'News'", 50, at(hours=3), at(hours=3))]
    p = plan([Batch("Europe/Paris", 1_000, NINE)], [], Quotas(), 1, others=others)
    assert [o.label for o in p.collisions] == ["py-2: 'Week 3'"]
    assert p.warnings == ["Collides with 1 other send: 1,234 copies of other messages are due between "
                          "Mon 7 Dec 2026 09:00 UTC and Mon 7 Dec 2026 09:16 UTC (py-2: 'Week 3': 1,234 copies). "
                          "They share the rate and the quotas; the times above do not count them."]


def test_past_due_copies_are_counted_and_said_to_go_at_once():
    p = plan([Batch("Asia/Kolkata", 40, NINE, past_due=True), Batch("Europe/Paris", 60, at(hours=5))], [],
             Quotas(), 0)
    assert p.past_due == 40
    assert p.warnings == ["40 copies are past due (their time has passed in the learners' zones): they go out "
                          "at once, from Mon 7 Dec 2026 09:00 UTC."]


def test_an_empty_audience_plans_nothing():
    p = plan([], [], Quotas(per_day=100), 0, skipped=3)
    assert (p.recipients, p.copies, p.first, p.last, p.warnings) == (3, 0, None, None, [])


@pytest.mark.parametrize(("zone", "expected"), [
    ("America/Argentina/Buenos_Aires", "Americas"), ("Europe/Lisbon", "Europe"), ("Africa/Lagos", "Africa"),
    ("Asia/Kolkata", "Asia"), ("Australia/Sydney", "Oceania"), ("Pacific/Auckland", "Oceania"),
    ("Atlantic/Azores", "Other"), ("Indian/Maldives", "Other"), ("Etc/GMT+12", "Other"), ("UTC", "Other"),
    ("", "Other"), (None, "Other")])
def test_regions_go_by_the_zone_names_first_part(zone, expected):
    assert region(zone) == expected


def test_quotas_are_the_providers_defaults_overridden_key_by_key():
    ses = quotas_for("amazon_ses", {})
    assert (ses.per_second, ses.per_day, ses.per_hour, ses.per_domain_hour) == (1, 200, 0, 0)
    assert "check your account's limits" in ses.source
    mine = quotas_for("amazon_ses", {"day": 50_000, "second": 14})
    assert (mine.per_second, mine.per_day) == (14, 50_000) and mine.source == "MMOOC_PROVIDER_QUOTAS"
    assert quotas_for("postmark", {}).text() == ("no limits (Postmark publishes no default limits: check your "
                                                 "account's limits)")
    assert quotas_for("mailgun", {"domain_hour": 1_000}).source == "MMOOC_PROVIDER_QUOTAS and Mailgun's defaults"


def test_the_rate_is_the_lower_of_the_engines_and_the_providers():
    assert effective_rate(0, Quotas(per_second=14)) == 14
    assert effective_rate(5, Quotas(per_second=14)) == 5
    assert effective_rate(20, Quotas()) == 20
    assert effective_rate(0, Quotas()) == 0


def test_provider_quotas_are_read_as_key_number_pairs():
    keys = ("second", "hour", "day", "domain_hour")
    assert env_numbers("Q", keys, {"Q": "second=14, day=50000,domain_hour=0"}) == {
        "second": 14, "day": 50_000, "domain_hour": 0}
    assert env_numbers("Q", keys, {}) == {}
    for bad in ("week=3", "day=-1", "day", "day=many", "day=nan", "day=inf"):
        with pytest.raises(ImproperlyConfigured, match="Q: expected key=number pairs"):
            env_numbers("Q", keys, {"Q": bad})
