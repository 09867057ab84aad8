"""Copies queued before a grouping show the groups once it is applied: left by the request
that applies it to the periodic job `emails.groups`; on PostgreSQL one UPDATE per message."""

from __future__ import annotations

from datetime import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail, CourseEmailVariant, GroupRefresh
from mmooc.groups.apply import apply_grouping
from mmooc.mailer.models import Delivery
from mmooc.testing import make_learner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


@pytest.fixture(autouse=True)
def any_group_size(settings):
    settings.GROUP_MIN_SIZE = 1


def weekly(cohort) -> CourseEmail:
    return CourseEmail.objects.create(
        cohort=cohort, subject="Week 2", body="Hi {{ learner.first_name }}, in {{ group.name }}.\n",
        module=cohort.course.modules.get(position=2), schedule=CourseEmail.LOCAL, day_offset=7, local_time=time(9))


def contexts():
    return {d.ref: d.context for d in Delivery.objects.filter(message__tag=scheduling.TAG)}


def scheduled_then_grouped(cohort, organizer, django_capture_on_commit_callbacks, n=9):
    learners = [make_learner(cohort, f"l{i}@example.org", language="es" if i % 3 == 0 else "en") for i in range(n)]
    make_learner(cohort, "alone@example.org", wants_group=False)
    email = weekly(cohort)
    CourseEmailVariant.objects.create(email=email, language="es", subject="Semana 2", body="Hola, {{ group.name }}.\n")
    scheduling.schedule(email, organizer)
    with django_capture_on_commit_callbacks(execute=True):
        apply_grouping(cohort, target_size=3, welcome_now=False)
    return learners


def test_applying_a_grouping_leaves_the_copies_to_the_periodic_job(cohort, organizer,
                                                                   django_capture_on_commit_callbacks):
    scheduled_then_grouped(cohort, organizer, django_capture_on_commit_callbacks)
    assert all(c["group.name"] == "" for c in contexts().values())  # the request did not rewrite them
    assert GroupRefresh.objects.filter(cohort=cohort).exists()
    assert scheduling.refresh_pending_groups() == 9
    assert not GroupRefresh.objects.exists()
    assert sorted(c["group.name"] for c in contexts().values())[1:] == ["Group 1"] * 3 + ["Group 2"] * 3 + [
        "Group 3"] * 3


def test_the_copies_take_what_a_copy_queued_now_would_hold(cohort, organizer, django_capture_on_commit_callbacks):
    learners = scheduled_then_grouped(cohort, organizer, django_capture_on_commit_callbacks)
    scheduling.refresh_pending_groups()
    refreshed = contexts()
    email = CourseEmail.objects.get()
    for learner in [*learners, cohort.learners.get(email="alone@example.org")]:
        with scheduling.speaking("es" if learner.language == "es" else ""):
            fresh = scheduling.Personalizer(email).context(learner)
        held = refreshed[str(learner.public_id)]
        assert held == {k: fresh[k] for k in held}, learner.email
    assert "Tu grupo de estudio" in refreshed[str(learners[0].public_id)]["group.note"]


def test_a_second_turn_changes_nothing(cohort, organizer, django_capture_on_commit_callbacks):
    scheduled_then_grouped(cohort, organizer, django_capture_on_commit_callbacks)
    scheduling.refresh_pending_groups()
    assert scheduling.refresh_groups(cohort) == 0


@pytest.mark.postgres
def test_on_postgresql_it_is_one_update_per_message_whatever_the_size(cohort, organizer,
                                                                      django_capture_on_commit_callbacks):
    scheduled_then_grouped(cohort, organizer, django_capture_on_commit_callbacks, n=30)
    with CaptureQueriesContext(connection) as captured:
        scheduling.refresh_groups(cohort)
    sql = [q["sql"] for q in captured.captured_queries]
    assert sum(s.lstrip().startswith(("WITH", "UPDATE")) for s in sql) == 2  # the email's and its variant's
    assert len(sql) <= 8


def test_the_learners_of_one_group_share_one_set_of_values(cohort, organizer, django_capture_on_commit_callbacks,
                                                          monkeypatch):
    # Held for the whole cohort while its copies are refreshed: one dict per group (or way of
    # studying alone), not one per learner.
    learners = scheduled_then_grouped(cohort, organizer, django_capture_on_commit_callbacks)
    handed: list[dict] = []
    monkeypatch.setattr(scheduling.outbox, "refresh_queued", lambda message, values: handed.append(values) or 0)
    scheduling.refresh_groups(cohort, [learner.pk for learner in learners])
    by_group: dict[str, set[int]] = {}
    for values in handed:
        for held in values.values():
            by_group.setdefault(held["group.name"], set()).add(id(held))
        assert len({id(v) for v in values.values()}) == 3  # three groups of three
    assert sorted(by_group) == ["Group 1", "Group 2", "Group 3"]
