"""Each weekly email names the learner's group, its address and how to write to it; a learner
studying alone or waiting for a group gets a line of their own. Copies queued before the
groups were formed show the group once it is."""

from __future__ import annotations

from datetime import time

import pytest

from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail, CourseEmailVariant
from mmooc.groups.membership import place_late_joiner
from mmooc.learners import lifecycle
from mmooc.mailer.models import Delivery
from mmooc.mailer.render import Prepared
from mmooc.testing import add_member, join, make_group, make_learner

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def _weekly(cohort, **fields) -> CourseEmail:
    fields.setdefault("body", "Hi {{ learner.first_name }}, this week: {{ module.title }}.\n")
    return CourseEmail.objects.create(cohort=cohort, subject="Week 2", module=cohort.course.modules.get(position=2),
                                      schedule=CourseEmail.LOCAL, day_offset=7, local_time=time(9), **fields)


def _copy(learner) -> tuple[str, str, dict]:
    delivery = Delivery.objects.filter(ref=str(learner.public_id), message__tag=scheduling.TAG).get()
    parts = Prepared(delivery.message).parts(delivery.pk, delivery.full_context(), "<x@example.org>")
    return parts.text, parts.html, delivery.context


def test_a_group_member_reads_their_groups_name_address_and_how_to_write_to_it(cohort, organizer):
    group = make_group(cohort, 3, name="The Turtles", address="py-1-turtles@lists.course.example.org")
    member = add_member(group, "ann@example.org").learner
    add_member(group, "bob@example.org")
    scheduling.schedule(_weekly(cohort), organizer)
    text, html, context = _copy(member)
    flat = " ".join(text.split())
    assert ("Your study group is The Turtles, 2 people. To write to your group, send an email to "
            "py-1-turtles@lists.course.example.org") in flat
    assert "py-1-turtles@lists.course.example.org" in html and "The Turtles" in html
    assert max(len(line) for line in text.splitlines() if "http" not in line) <= 76, text
    # Only what the copy shows is kept with it; its links are made when it is sent.
    assert set(context) == {"learner.first_name", "group.note"}


def test_learners_alone_or_waiting_get_a_line_of_their_own(cohort, organizer):
    alone = make_learner(cohort, "alone@example.org", wants_group=False)
    waiting = make_learner(cohort, "waiting@example.org")
    scheduling.schedule(_weekly(cohort), organizer)
    assert "You are studying on your own" in " ".join(_copy(alone)[0].split())
    assert "Your study group is not formed yet" in " ".join(_copy(waiting)[0].split())


def test_the_line_is_in_the_language_of_the_learners_variant(cohort, organizer):
    email = _weekly(cohort)
    CourseEmailVariant.objects.create(email=email, language="es", subject="Semana 2", body="Hola.\n")
    group = make_group(cohort, 1, name="Grupo 1")
    spanish = make_learner(cohort, "ana@example.org", language="es")
    join(group, spanish)
    scheduling.schedule(email, organizer)
    text = " ".join(_copy(spanish)[0].split())
    assert "Tu grupo de estudio es Grupo 1" in text and "Your study group" not in text


def test_an_email_that_names_the_group_itself_and_emails_without_a_week_get_no_block(cohort, organizer):
    make_learner(cohort, "ann@example.org")
    own = _weekly(cohort, body="Write to {{ group.address }}.\n")
    farewell = CourseEmail.objects.create(cohort=cohort, subject="Bye", body="Bye.\n", schedule=CourseEmail.LOCAL,
                                          day_offset=40, local_time=time(9))
    scheduling.schedule(own, organizer)
    scheduling.schedule(farewell, organizer)
    assert "group.note" not in own.message.body and "group.note" not in farewell.message.body


def test_copies_queued_before_the_groups_show_the_group_once_the_learner_is_placed(
        cohort, organizer, django_capture_on_commit_callbacks):
    late = make_learner(cohort, "late@example.org")
    scheduling.schedule(_weekly(cohort), organizer)
    assert "not formed yet" in _copy(late)[0]
    group = make_group(cohort, 2, name="Group 2", capacity=10)
    add_member(group, "first@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        assert place_late_joiner(late) is not None
    text = " ".join(_copy(late)[0].split())
    assert "Your study group is Group 2, 2 people" in text and group.address in text


def test_a_learner_who_leaves_their_group_reads_that_they_study_alone(
        cohort, organizer, django_capture_on_commit_callbacks):
    group = make_group(cohort, 1)
    learner = add_member(group, "ann@example.org").learner
    scheduling.schedule(_weekly(cohort), organizer)
    assert group.address in _copy(learner)[0]
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.choose_group(learner, False)
    text = " ".join(_copy(learner)[0].split())
    assert "You are studying on your own" in text and group.address not in text


def test_one_learners_values_read_their_own_group_only(cohort):
    """A preview as one learner (or their welcome, or a late joiner's copy) reads that learner's
    membership, not every member of the cohort."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mmooc import testing

    group = make_group(cohort, 3, name="Group 3")
    ada, *others = [make_learner(cohort, f"m{n}@example.org", name=f"M{n} Lovelace") for n in range(5)]
    for learner in (ada, *others):
        join(group, learner)
    with CaptureQueriesContext(connection) as queries:
        one = scheduling.Personalizer(_weekly(cohort), learners=[ada.pk]).context(ada)
    assert one == scheduling.Personalizer(_weekly(cohort)).context(ada)
    assert (one["group.name"], one["group.size"]) == ("Group 3", "5")
    assert testing.largest_result(queries.captured_queries) < 5


def test_a_groups_members_share_one_set_of_group_values(cohort):
    """Held for the whole send: one dict per group, not one per member (a million members'
    dicts were some 300 MB of a course email's memory)."""
    turtles, owls = make_group(cohort, 3, name="Turtles"), make_group(cohort, 4, name="Owls")
    ann, bob, cy = (make_learner(cohort, f"{n}@example.org") for n in ("ann", "bob", "cy"))
    join(turtles, ann), join(turtles, bob), join(owls, cy)
    groups = scheduling.Personalizer(_weekly(cohort)).groups
    assert groups[ann.pk] is groups[bob.pk]
    assert groups[ann.pk] == {"group.name": "Turtles", "group.address": turtles.address, "group.size": "2"}
    assert groups[cy.pk]["group.name"] == "Owls" and groups[cy.pk] is not groups[ann.pk]


def test_a_sample_preview_reads_no_membership(cohort):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    join(make_group(cohort, 1), make_learner(cohort, "ada@example.org"))
    with CaptureQueriesContext(connection) as queries:
        values = scheduling.sample_context(_weekly(cohort))
    assert values["group.name"] == "Group 7"
    assert not [q for q in queries.captured_queries if "groups_membership" in q["sql"]]
