"""Time-zone helpers: IANA names validated against the zoneinfo database."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time
from functools import lru_cache

from django.core.exceptions import ValidationError

# Names chromium and older systems report that the database keeps only as links.
LEGACY_NAMES = {"Asia/Calcutta": "Asia/Kolkata", "Asia/Saigon": "Asia/Ho_Chi_Minh",
                "Asia/Katmandu": "Asia/Kathmandu", "Asia/Rangoon": "Asia/Yangon",
                "Europe/Kiev": "Europe/Kyiv", "America/Buenos_Aires": "America/Argentina/Buenos_Aires"}


@lru_cache(maxsize=1)
def available_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def canonical_zone(name: str) -> str:
    """The IANA name to store for `name`, or ValidationError when it is no known zone."""
    name = (name or "").strip()
    name = LEGACY_NAMES.get(name, name)
    if name not in available_zones() or len(name) > 64:
        raise ValidationError("%(name)s is not a known time zone", params={"name": name[:64] or "(empty)"})
    return name


def validate_zone(name: str) -> None:
    canonical_zone(name)


@lru_cache(maxsize=1024)
def zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def local_datetime(day: date, at: time, zone_name: str) -> datetime:
    """The aware datetime for wall-clock `at` on `day` in `zone_name` (DST of that day)."""
    return datetime.combine(day, at, tzinfo=zone(zone_name))


def utc_offset_hours(zone_name: str, on: date) -> float:
    """The zone's UTC offset in hours at noon on `on` (daylight saving time included)."""
    offset = local_datetime(on, time(12), zone_name).utcoffset()
    assert offset is not None
    return offset.total_seconds() / 3600


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    """Zone name → ISO country code, from the tz database's zone.tab (shipped by tzdata)."""
    from importlib import resources

    table: dict[str, str] = {}
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _, name, *_ = line.split("\t")
            table[name] = code
    return table


def country_of_zone(name: str) -> str:
    """The ISO 3166 code of the country a zone belongs to, or "" (UTC, Etc/…)."""
    return _zone_countries().get(LEGACY_NAMES.get(name, name), "")
