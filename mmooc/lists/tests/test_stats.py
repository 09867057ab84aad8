from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mmooc.groups.models import Membership
from mmooc.lists.models import Post
from mmooc.lists.stats import group_stats
from mmooc.testing import make_group

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def post(group, when, **fields):
    return Post.objects.create(group=group, message_id=f"<{when.timestamp()}-{group.pk}@x>", raw=b"",
                               received_at=when, **fields)


@pytest.fixture
def groups(cohort):
    created = NOW - timedelta(weeks=4)
    busy = make_group(cohort, 1, members=["a@example.org", "b@example.org", "c@example.org"], created_at=created)
    quiet = make_group(cohort, 2, members=["d@example.org", "e@example.org"], created_at=created)
    Membership.objects.filter(learner__email="e@example.org").update(left_at=NOW)
    for days in (1, 2, 9, 20):
        post(busy, NOW - timedelta(days=days))
    post(busy, NOW - timedelta(days=1, hours=1), held=True)
    post(quiet, NOW - timedelta(days=10))
    return busy, quiet


def test_it_reports_members_posts_and_last_post(groups):
    busy, quiet = group_stats(groups[0].cohort, now=NOW)
    assert (busy["group"], busy["members"], busy["posts"], busy["last_post"]) == (
        groups[0], 3, 4, NOW - timedelta(days=1))
    assert (quiet["members"], quiet["posts"]) == (1, 1)


def test_it_counts_posts_per_week_oldest_first(groups):
    busy, _ = group_stats(groups[0].cohort, now=NOW, weeks=3)
    assert busy["weekly"] == [1, 1, 2]
    assert busy["posts_per_week"] == 1.0


def test_it_flags_groups_without_a_post_for_n_days(groups):
    busy, quiet = group_stats(groups[0].cohort, now=NOW)
    assert (busy["quiet"], quiet["quiet"]) == (False, True)
    assert group_stats(groups[0].cohort, now=NOW, quiet_days=14)[1]["quiet"] is False


def test_a_new_group_without_posts_is_not_quiet_yet(cohort):
    make_group(cohort, 1, created_at=NOW - timedelta(days=2))
    [row] = group_stats(cohort, now=NOW)
    assert (row["quiet"], row["posts"], row["last_post"], row["weekly"][-1]) == (False, 0, None, 0)


def test_it_takes_two_queries_for_any_number_of_groups(cohort, django_assert_num_queries):
    for n in range(1, 6):
        make_group(cohort, n, members=[f"m{n}@example.org"])
    with django_assert_num_queries(2):
        assert len(group_stats(cohort, now=NOW)) == 5
