"""Landing and learner pages link the course's community spaces and the cohort's calendar and feed."""

import pytest
from django.conf import settings

from mmooc.learners.links import learner_page_url
from mmooc.testing import make_cohort, make_course, make_learner

pytestmark = pytest.mark.django_db


def test_the_landing_page_links_the_community_calendar_and_feed(client):
    course = make_course(slug="py", links={"forum": "https://forum.example.org/py"})
    cohort = make_cohort(course, slug="py-1")
    html = client.get("/py/py-1/").content.decode()
    assert 'href="https://forum.example.org/py"' in html
    assert 'href="/py/py-1/calendar.ics"' in html
    assert 'href="/py/py-1/feed.atom"' in html
    assert 'href="/py/py-1/archive/"' in html
    assert cohort.slug in html


def test_the_learner_page_offers_the_calendar_in_the_learner_time_zone(client):
    cohort = make_cohort(make_course(slug="py"), slug="py-2")
    learner = make_learner(cohort, timezone="Asia/Kolkata")
    url = learner_page_url(learner).removeprefix(settings.BASE_URL)
    html = client.get(url).content.decode()
    assert 'href="/py/py-2/calendar.ics?tz=Asia/Kolkata"' in html


def test_the_learner_page_links_the_calendar_archive_and_feed_in_the_learner_language(client):
    cohort = make_cohort(make_course(slug="py"), slug="py-3")
    learner = make_learner(cohort, timezone="Asia/Kolkata", language="pt")
    url = learner_page_url(learner).removeprefix(settings.BASE_URL)
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'href="/py/py-3/calendar.ics?tz=Asia/Kolkata&amp;lang=pt-br"' in html
    assert 'href="/py/py-3/archive/?lang=pt-br"' in html and 'href="/py/py-3/feed.atom?lang=pt-br"' in html
