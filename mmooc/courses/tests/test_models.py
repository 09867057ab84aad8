from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from mmooc.courses.models import Cohort, Course, Module
from mmooc.testing import make_cohort, make_course

pytestmark = pytest.mark.django_db


def test_course_slugs_are_unique():
    make_course(slug="python")
    with pytest.raises(IntegrityError), transaction.atomic():
        Course.objects.create(slug="python", title="Another")


def test_cohort_slugs_are_unique_across_courses():
    make_cohort(make_course(), slug="spring")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_cohort(make_course(), slug="spring")
    assert Cohort.objects.filter(slug="spring").count() == 1


def test_module_positions_are_unique_within_a_course():
    course = make_course(modules=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        Module.objects.create(course=course, position=2, title="Again")
    Module.objects.create(course=make_course(modules=0), position=2, title="Elsewhere")


def test_modules_come_in_position_order():
    course = make_course(modules=0)
    for position in (3, 1, 2):
        Module.objects.create(course=course, position=position, title=f"M{position}")
    assert [m.position for m in course.modules.all()] == [1, 2, 3]


def test_a_cohort_cannot_end_before_it_starts():
    with pytest.raises(IntegrityError), transaction.atomic():
        make_cohort(start=date(2027, 3, 1), weeks=-1)


def test_the_signup_window_must_close_after_it_opens():
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        make_cohort(signup_opens=now, signup_closes=now - timedelta(days=1))


def test_a_cohort_time_zone_must_be_known():
    cohort = make_cohort()
    cohort.timezone = "Mars/Olympus"
    with pytest.raises(ValidationError):
        cohort.full_clean()


def test_phases_follow_the_calendar():
    now = timezone.now()
    cohort = make_cohort(start=(now + timedelta(days=10)).date())
    assert cohort.phase(now) == "signup-open"
    assert cohort.phase(now - timedelta(days=20)) == "upcoming"
    assert cohort.phase(now + timedelta(days=40)) == "running"
    assert cohort.phase(now + timedelta(days=100)) == "finished"
    assert list(Cohort.objects.signup_open(now)) == [cohort]
    cohort.state = Cohort.DRAFT
    cohort.save(update_fields=["state"])
    assert cohort.phase(now) == "draft"
    assert list(Cohort.objects.signup_open(now)) == []


def test_module_release_dates_count_from_the_start():
    cohort = make_cohort(start=date(2027, 3, 1))
    week3 = cohort.course.modules.get(position=3)
    assert week3.release_date(cohort) == date(2027, 3, 15)
    assert week3.total_minutes() == 75


def test_a_cohort_under_way_is_running_even_while_signup_stays_open():
    now = timezone.now()
    cohort = make_cohort(start=(now - timedelta(days=10)).date(), signup_opens=now - timedelta(days=30),
                         signup_closes=now + timedelta(days=2))
    assert cohort.stage(now) == ("running", "Running, week 2, signup open")
    assert cohort.stage(now + timedelta(days=3)) == ("running", "Running, week 2")
    assert cohort.signup_is_open(now)  # learners may still join
    assert cohort.stage(now - timedelta(days=40)) == ("upcoming", "Upcoming")
    assert cohort.stage(now - timedelta(days=12)) == ("signup-open", "Signup open")
    assert cohort.stage(now + timedelta(days=60))[0] == "finished"
    cohort.state = Cohort.ARCHIVED
    assert cohort.stage(now) == ("archived", "Archived")


def test_a_cohort_whose_signup_closed_before_the_start_is_not_running_yet():
    now = timezone.now()
    cohort = make_cohort(start=(now + timedelta(days=3)).date(), open_signup=False)
    assert cohort.stage(now) == ("upcoming", "Signup closed, not started")
