"""What the health engine reads from the database: posts, posters, replies, check-ins, members lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mmooc import testing
from mmooc.groups.membership import leave
from mmooc.insights import facts
from mmooc.insights.tests.helpers import group_of, post
from mmooc.mailer.models import Suppression

pytestmark = pytest.mark.django_db


def by_group(cohort):
    return {f.group_id: f for f in facts.group_facts(cohort)}


def test_it_counts_posts_posters_and_replies_between_members_in_the_window(cohort):
    group, (a, b, c) = group_of(cohort, 1, ["Europe/Paris"] * 3)
    first = post(group, a)
    post(group, b, reply_to=first)
    post(group, a, refs=f"<elsewhere@x> {first.message_id}")  # to themselves: no reply between members
    post(group, c, when=timezone.now() - timedelta(weeks=3))  # before the window
    got = by_group(cohort)[group.pk]
    assert (got.members, got.posts, got.posters, got.replies) == (3, 3, frozenset({a.pk, b.pk}), 1)


def test_check_ins_of_the_window_count_for_the_group_their_learner_is_in(cohort):
    from mmooc.checkins import parsing
    from mmooc.checkins.models import CheckIn

    group, (a, b, c) = group_of(cohort, 1, ["Europe/Paris"] * 3)
    for learner, week in ((a, 1), (a, 2), (b, 2)):
        CheckIn.objects.create(learner=learner, cohort=cohort, group=group, week=week, status=parsing.DONE,
                               source=CheckIn.GROUP)
    CheckIn.objects.create(learner=c, cohort=cohort, week=1, status=parsing.DONE, source=CheckIn.REPLY,
                           created_at=timezone.now() - timedelta(weeks=3))  # before the window
    got = by_group(cohort)[group.pk]
    assert (got.checkins, got.checked_in) == (3, frozenset({a.pk, b.pk}))


def test_a_reply_names_its_parent_by_references_without_in_reply_to(cohort):
    group, (a, b) = group_of(cohort, 1, ["UTC", "UTC"])
    first = post(group, a, when=timezone.now() - timedelta(weeks=5))  # the parent may be older
    post(group, b, refs=f"<root@x> {first.message_id}")
    assert by_group(cohort)[group.pk].replies == 1


def test_a_post_of_another_group_with_the_same_message_id_is_no_parent(cohort):
    group, (a, b) = group_of(cohort, 1, ["UTC", "UTC"])
    other, (c,) = group_of(cohort, 2, ["UTC"])
    first = post(other, c)
    post(group, b, refs=first.message_id)
    assert by_group(cohort)[group.pk].replies == 0


def test_members_who_left_unsubscribed_or_bounced_are_lost_but_moved_ones_are_not(cohort):
    group, (a, b, c, d) = group_of(cohort, 1, ["UTC"] * 4)
    leave(a)
    type(b).objects.filter(pk=b.pk).update(unsubscribed_at=timezone.now())
    Suppression.objects.create(address=c.email_key, reason=Suppression.HARD_BOUNCE)
    got = by_group(cohort)[group.pk]
    assert (got.members, got.lost) == (3, 3)


def test_course_weeks_count_from_the_start_date(cohort):
    assert facts.course_week(cohort, cohort.start_date) == 1
    assert facts.course_week(cohort, cohort.start_date + timedelta(days=7)) == 2
    assert facts.course_week(cohort, cohort.start_date - timedelta(days=1)) == 0


def test_a_member_both_unsubscribed_and_suppressed_is_lost_once_and_old_suppressions_do_not_count(cohort):
    group, (a, b) = group_of(cohort, 1, ["UTC"] * 2)
    type(a).objects.filter(pk=a.pk).update(unsubscribed_at=timezone.now())
    Suppression.objects.create(address=a.email_key, reason=Suppression.HARD_BOUNCE)
    Suppression.objects.create(address=b.email_key, reason=Suppression.HARD_BOUNCE)
    Suppression.objects.filter(address=b.email_key).update(created_at=timezone.now() - timedelta(weeks=9))
    assert by_group(cohort)[group.pk].lost == 1


def test_lost_members_are_found_without_a_suppression_lookup_per_member(cohort):
    """One subquery test per member made the health page of a large cohort take seconds."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    group_of(cohort, 1, ["UTC"] * 3)
    with CaptureQueriesContext(connection) as queries:
        facts.lost_members(cohort, timezone.now() - timedelta(weeks=2))
    suppression_reads = [q["sql"] for q in queries if "mailer_suppression" in q["sql"]]
    assert suppression_reads and not any("EXISTS" in sql for sql in suppression_reads)


def test_it_reads_no_member_one_by_one(cohort):
    """Members are counted per group in the database; a post's or a check-in's author is looked
    up: no statement returns a row per member (a cohort of 100,000 has 70,000 of them)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mmooc.checkins import parsing
    from mmooc.checkins.models import CheckIn

    group, members = group_of(cohort, 1, ["Europe/Paris"] * 8)
    post(group, members[0])
    CheckIn.objects.create(learner=members[1], cohort=cohort, group=group, week=1, status=parsing.DONE,
                           source=CheckIn.GROUP)
    with CaptureQueriesContext(connection) as queries:
        got = by_group(cohort)[group.pk]
    assert (got.members, got.posters, got.checked_in) == (8, {members[0].pk}, {members[1].pk})
    assert testing.largest_result(queries.captured_queries) < 8


def test_a_post_by_someone_no_longer_in_the_group_makes_no_poster(cohort):
    group, (a, b) = group_of(cohort, 1, ["UTC", "UTC"])
    post(group, a)
    post(group, b)
    leave(b)
    got = by_group(cohort)[group.pk]
    assert (got.members, got.posts, got.posters) == (1, 2, frozenset({a.pk}))


def test_recent_unsubscribes_are_read_from_the_unsubscribe_time_index(cohort):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    group, (a, b) = group_of(cohort, 1, ["UTC", "UTC"])
    a.unsubscribed_at = timezone.now() - timedelta(days=1)
    a.save(update_fields=["unsubscribed_at"])
    with CaptureQueriesContext(connection) as queries:
        assert facts.lost_members(cohort, timezone.now() - timedelta(weeks=2)) == {group.pk: 1}
    [sql] = [q["sql"] for q in queries.captured_queries if '"learners_learner"."unsubscribed_at" >=' in q["sql"]]
    assert "learner_cohort_unsubscribed" in testing.query_plan(sql)
