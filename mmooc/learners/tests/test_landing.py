"""Landing pages: /, /<course>/, /<course>/<cohort>/ and the iframe form."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from mmooc.courses.models import Cohort
from mmooc.learners.models import Learner
from mmooc.learners.registration import form_started
from mmooc.testing import make_cohort, make_course, make_learner

pytestmark = pytest.mark.django_db


def test_it_redirects_home_to_the_newest_open_cohorts_course(client):
    cohort = make_cohort()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == f"/{cohort.course.slug}/"


def test_it_lists_courses_when_none_is_open(client):
    cohort = make_cohort(open_signup=False, title="Past")
    response = client.get("/")
    assert response.status_code == 200 and cohort.course.title in response.content.decode()


def test_it_shows_the_open_cohort_on_the_course_page(client):
    course = make_course(title="Gentle Python", summary="Learn Python with friends.")
    make_cohort(course, open_signup=False, title="Old run")
    make_cohort(course, title="Spring run")
    content = client.get(f"/{course.slug}/").content.decode()
    assert "Gentle Python" in content and "Learn Python with friends." in content
    assert "Spring run" in content and 'id="signup"' in content


def test_it_shows_modules_with_resource_kinds_and_time(client):
    cohort = make_cohort()
    content = client.get(f"/{cohort.course.slug}/{cohort.slug}/").content.decode()
    assert "Week 1" in content and "reading, video" in content and "about 75 minutes" in content


def test_it_counts_confirmed_learners_and_countries(client):
    cohort = make_cohort()
    make_learner(cohort, timezone="Asia/Kolkata", country="IN")
    make_learner(cohort, timezone="Europe/Paris", country="FR")
    make_learner(cohort, timezone="Europe/Paris", country="FR")
    make_learner(cohort, state=Learner.PENDING, country="DE")
    content = client.get(f"/{cohort.course.slug}/{cohort.slug}/").content.decode()
    assert "3 learners from 2 countries" in content


def test_it_formats_large_counts_with_separators(client):
    from mmooc.learners.views import signup_counts

    cohort = make_cohort()
    Learner.objects.bulk_create([Learner(cohort=cohort, email=f"l{i}@example.org", email_key=f"l{i}@example.org",
                                         state=Learner.CONFIRMED, country="IN") for i in range(1234)])
    assert signup_counts(cohort) == {"learners": 1234, "countries": 1}
    assert "1,234 learners from 1 country" in client.get(f"/{cohort.course.slug}/").content.decode()


def test_it_offers_the_waitlist_when_signup_is_closed(client):
    course = make_course()
    make_cohort(course, open_signup=False)
    make_cohort(course, signup_opens=timezone.now() + timedelta(days=20),
                signup_closes=timezone.now() + timedelta(days=40))
    content = client.get(f"/{course.slug}/").content.decode()
    assert "Signup is not open" in content and "next cohort opens" in content
    assert 'id="signup"' not in content


def test_it_gives_404_for_an_unknown_course(client):
    assert client.get("/no-such-course/").status_code == 404


def test_it_hides_draft_cohorts(client):
    cohort = make_cohort(state=Cohort.DRAFT)
    assert client.get(f"/{cohort.course.slug}/{cohort.slug}/").status_code == 404
    assert client.get(f"/{cohort.course.slug}/").status_code == 404


def test_it_gives_404_for_a_cohort_of_another_course(client):
    cohort = make_cohort()
    other = make_course()
    assert client.get(f"/{other.slug}/{cohort.slug}/").status_code == 404


def test_it_lets_the_embed_page_be_framed(client):
    cohort = make_cohort()
    response = client.get(f"/{cohort.course.slug}/{cohort.slug}/embed")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert 'id="signup"' in response.content.decode()


def test_it_forbids_framing_the_landing_page(client):
    cohort = make_cohort()
    assert client.get(f"/{cohort.course.slug}/{cohort.slug}/")["X-Frame-Options"] == "DENY"


def test_it_takes_signups_in_the_embed_without_a_csrf_cookie(cohort=None):
    from django.test import Client

    cohort = make_cohort()
    response = Client(enforce_csrf_checks=True).post(f"/{cohort.course.slug}/{cohort.slug}/embed",
                                                     {"email": "ada@example.org", "timezone": "UTC",
                                                      "started": form_started(time.time() - 60)})
    assert response.status_code == 200
    assert Learner.objects.filter(email="ada@example.org").exists()


def test_it_renders_the_description_and_faq_as_sanitized_markdown(client):
    course = make_course(description="Read **chapter 1**.<script>alert(1)</script>",
                         faq=[{"question": "Is it free?", "answer": "Yes, *entirely*."}])
    make_cohort(course)
    content = client.get(f"/{course.slug}/").content.decode()
    assert "<strong>chapter 1</strong>" in content and "<em>entirely</em>" in content
    assert "<script>alert(1)" not in content
