"""Scheduling a course email does the same work per batch whatever the number of learners:
what is the same for every learner (the active language) is asked once, not per learner."""

from __future__ import annotations

from datetime import time

import pytest
from django.utils import translation

from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail
from mmooc.testing import make_cohort, make_learner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def _scheduled_language_lookups(monkeypatch, organizer, n: int, slug: str) -> int:
    cohort = make_cohort(slug=slug, tz="Europe/London")
    for i in range(n):
        make_learner(cohort, f"{slug}{i}@example.org", timezone=["Asia/Kolkata", "America/New_York"][i % 2])
    email = CourseEmail.objects.create(
        cohort=cohort, subject="Week 1", body="Hi {{ learner.first_name }}, {{ group.note }} {{ local.start }}",
        module=cohort.course.modules.first(), schedule=CourseEmail.LOCAL, day_offset=7, local_time=time(9))
    calls = []
    real = translation.get_language
    monkeypatch.setattr(translation, "get_language", lambda: calls.append(1) or real())
    assert scheduling.schedule(email, organizer) == n
    monkeypatch.setattr(translation, "get_language", real)
    return len(calls)


def test_the_language_is_asked_as_often_for_eight_learners_as_for_two(monkeypatch, organizer):
    _scheduled_language_lookups(monkeypatch, organizer, 1, "warm")  # the process's first lookups, made once
    assert (_scheduled_language_lookups(monkeypatch, organizer, 8, "eight")
            == _scheduled_language_lookups(monkeypatch, organizer, 2, "two"))


def test_copies_are_written_in_the_order_of_their_refs(monkeypatch, organizer):
    """The learners are read by public id, which is each copy's ref: the outbox's index of refs
    takes a message's copies in one sweep, not at as many random places as there are learners.
    Two batches, so the order holds from one batch to the next as well as within one."""
    from mmooc.mailer.models import Delivery

    monkeypatch.setattr(scheduling, "BATCH", 7)
    cohort = make_cohort(slug="refs", tz="Europe/London")
    learners = [make_learner(cohort, f"refs{i}@example.org") for i in range(12)]
    email = CourseEmail.objects.create(cohort=cohort, subject="Week 1", body="Hi {{ learner.first_name }}",
                                       module=cohort.course.modules.first(), schedule=CourseEmail.LOCAL,
                                       day_offset=7, local_time=time(9))
    assert scheduling.schedule(email, organizer) == 12
    refs = list(Delivery.objects.filter(message=email.message).order_by("pk").values_list("ref", flat=True))
    assert refs == sorted(str(learner.public_id) for learner in learners)
    assert refs != [str(learner.public_id) for learner in learners]  # the learners were made in another order
