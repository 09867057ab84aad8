"""Applying a remedy: members moved in one transaction, one email each, the old archive readable."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from mmooc import testing
from mmooc.audit.models import AuditEntry
from mmooc.groups.models import Membership, StudyGroup
from mmooc.insights import remedy
from mmooc.insights.remedies import MERGE, RESEED
from mmooc.insights.tests.helpers import group_of, post
from mmooc.learners.models import Learner
from mmooc.lists import relay
from mmooc.lists.links import archive_url
from mmooc.lists.models import Post
from mmooc.lists.tests.mail import raw_post
from mmooc.mailer import engine
from mmooc.mailer.models import Delivery

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("outbox_mode")]


@pytest.fixture
def quiet_pair(cohort):
    """Two quiet English groups an hour apart (3 + 2 members), and a lively one far away."""
    big, big_members = group_of(cohort, 1, ["Europe/Paris", "Europe/Paris", "Europe/Berlin"])
    small, small_members = group_of(cohort, 2, ["Europe/London", "Africa/Lagos"])
    group_of(cohort, 3, ["Asia/Tokyo", "Asia/Tokyo"], language="es")
    return big, big_members, small, small_members


def the_merge(cohort):
    [found] = [r for r in remedy.remedies(cohort) if r.kind == MERGE]
    return found


def snapshot():
    return (sorted(Membership.objects.values_list("id", "group_id", "left_at")),
            sorted(StudyGroup.objects.values_list("id", "capacity")), Delivery.objects.count(),
            AuditEntry.objects.count())


def test_a_merge_moves_members_closes_the_old_group_and_tells_each_member_once(cohort, organizer, quiet_pair):
    big, big_members, small, small_members = quiet_pair
    merge = the_merge(cohort)
    assert (merge.target, merge.sources, merge.size_after) == (big.pk, (small.pk,), 5)
    queued = remedy.apply(cohort, merge, organizer)
    assert queued == 5
    assert sorted(Membership.objects.active().filter(group=big).values_list("learner_id", flat=True)) == sorted(
        learner.pk for learner in big_members + small_members)
    small.refresh_from_db()
    big.refresh_from_db()
    assert small.capacity == 0 and big.capacity >= 5 and big.span_hours == 1.0
    rows = Delivery.objects.filter(message__tag="group-merged")
    assert sorted(rows.values_list("recipient", flat=True)) == sorted(m.email for m in big_members + small_members)
    entry = AuditEntry.objects.get(action="groups.merge")
    assert entry.actor == organizer and entry.details["sources"] == [small.pk]


def test_the_email_names_the_group_its_members_its_address_and_a_way_to_stay_out(cohort, organizer, quiet_pair):
    big, big_members, small, small_members = quiet_pair
    remedy.apply(cohort, the_merge(cohort), organizer)
    engine.drain()
    moved = Delivery.objects.get(recipient=small_members[0].email)
    text = message_from_bytes(bytes(moved.stored), policy=policy.default).get_body(("plain",)).get_content()
    assert big.name in text and big.address in text and small.name in text
    assert all(m.first_name in text for m in big_members + small_members)
    assert "/archive/" in text or "/groups/" in text
    headers = message_from_bytes(bytes(moved.stored), policy=policy.default)
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert Delivery.objects.filter(recipient=small_members[0].email).count() == 1


def test_each_member_reads_the_merge_in_their_own_language(cohort, organizer, quiet_pair):
    big, big_members, small, small_members = quiet_pair
    Learner.objects.filter(pk__in=[small_members[0].pk, big_members[0].pk]).update(language="es")
    assert remedy.apply(cohort, the_merge(cohort), organizer) == 5
    engine.drain()

    def read(learner):
        delivery = Delivery.objects.select_related("message").get(recipient=learner.email)
        mail = message_from_bytes(bytes(delivery.stored), policy=policy.default)
        return mail["Subject"], mail.get_body(("plain",)).get_content(), delivery.message.headers

    subject, text, headers = read(small_members[0])
    assert subject == f"Tu grupo de estudio se une a {big.name}"
    assert f"Tu grupo de estudio, {small.name}, ha estado muy tranquilo" in text
    assert "Quién está en el grupo" in text and headers["Content-Language"] == "es"
    subject, text, _headers = read(big_members[0])
    assert subject == f"Nuevas personas en {big.name}" and "se suman 2 participantes más" in " ".join(text.split())
    subject, text, headers = read(small_members[1])
    assert subject == f"Your study group is joining {big.name}" and "Content-Language" not in headers
    assert read(big_members[1])[0] == f"New members in {big.name}"


def test_the_old_archive_stays_readable_to_its_moved_members_and_its_address_takes_no_posts(
        client, cohort, organizer, quiet_pair):
    big, big_members, small, small_members = quiet_pair
    remedy.apply(cohort, the_merge(cohort), organizer)
    page = client.get(archive_url(small, small_members[0]))
    assert page.status_code == 200 and "no longer takes posts" in page.content.decode()
    assert client.get(archive_url(big, small_members[0])).status_code == 200
    [outcome] = relay.receive(raw_post(sender=small_members[1].email, to=small.address), small_members[1].email,
                              [small.address])
    assert outcome.action in (relay.REFUSED, relay.DROPPED)
    assert not Post.objects.filter(group=small).exists()


def test_a_learner_who_left_every_group_cannot_read_the_old_archive(client, cohort, organizer, quiet_pair):
    from mmooc.groups.membership import leave

    big, big_members, small, small_members = quiet_pair
    remedy.apply(cohort, the_merge(cohort), organizer)
    leave(small_members[0])
    assert client.get(archive_url(small, small_members[0])).status_code == 404


def test_a_reseeding_gives_waiting_learners_the_quiet_group(cohort, organizer, quiet_pair):
    big, big_members, *_ = quiet_pair
    waiting = testing.make_learner(cohort, "late@example.org", name="Late Comer", timezone="Europe/Rome")
    [reseed] = [r for r in remedy.remedies(cohort) if r.kind == RESEED]
    assert reseed.joiners == (waiting.pk,)
    remedy.apply(cohort, reseed, organizer)
    assert Membership.objects.active().get(learner=waiting).group_id == reseed.target
    assert Delivery.objects.filter(recipient="late@example.org", message__tag="group-joined").count() == 1


def test_a_remedy_no_longer_proposed_is_refused_and_changes_nothing(cohort, organizer, quiet_pair):
    big, big_members, small, small_members = quiet_pair
    merge = the_merge(cohort)
    testing.join(small, testing.make_learner(cohort, "newcomer@example.org", timezone="Europe/London"))
    before = snapshot()
    with pytest.raises(remedy.RemedyError):
        remedy.apply(cohort, merge, organizer)
    assert snapshot() == before


def test_a_remedy_applied_twice_is_refused_the_second_time(cohort, organizer, quiet_pair):
    merge = the_merge(cohort)
    remedy.apply(cohort, merge, organizer)
    before = snapshot()
    with pytest.raises(remedy.RemedyError):
        remedy.apply(cohort, merge, organizer)
    assert snapshot() == before


def test_group_states_count_members_per_zone_without_reading_them_one_by_one(cohort):
    """Each group's members are counted per time zone in the database: no statement returns
    a row per member (a cohort of 100,000 has 70,000 of them)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    group, _ = group_of(cohort, 1, ["Africa/Lagos"] * 3 + ["Asia/Tokyo"] * 2)  # no daylight saving time
    with CaptureQueriesContext(connection) as queries:
        [state] = remedy.states(cohort)
    assert (state.group_id, state.offsets) == (group.pk, (1.0,) * 3 + (9.0,) * 2)
    assert testing.largest_result(queries.captured_queries) < 5


def test_group_states_leave_out_the_groups_no_remedy_may_touch(cohort):
    """Only quiet groups with room left can take part in a remedy; the others' members (most of
    a large cohort's) are never counted by zone."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    quiet, _ = group_of(cohort, 1, ["Europe/Paris"] * 2)
    full, _ = group_of(cohort, 2, ["Europe/Paris"] * remedy.max_size(cohort))
    lively, members = group_of(cohort, 3, ["Europe/Berlin"] * 4)
    for member in members[:3]:
        post(lively, member)
    with CaptureQueriesContext(connection) as queries:
        assert [s.group_id for s in remedy.states(cohort)] == [quiet.pk]
    by_zone = [q["sql"] for q in queries.captured_queries if '"learners_learner"."timezone"' in q["sql"]]
    assert by_zone and all(f"IN ({quiet.pk})" in sql for sql in by_zone)
    if connection.vendor == "sqlite":  # found from the groups' memberships, not from every learner
        assert all("membership_group_active" in testing.query_plan(sql) for sql in by_zone)


@pytest.mark.postgres
def test_waiting_learners_are_found_from_two_indexes_alone(cohort):
    """Who waits is decided over the ids of those wanting a group and of active members, both
    read from an index, never from every learner's row (PostgreSQL's plan: SQLite's planner
    takes another index at a test's size)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    group_of(cohort, 1, ["Europe/Paris"] * 2)
    waiting = testing.make_learner(cohort, "late@example.org")
    with CaptureQueriesContext(connection) as queries:
        assert [w.learner_id for w in remedy.waiting(cohort)] == [waiting.pk]
    [sql] = [q["sql"] for q in queries.captured_queries if "NOT EXISTS" in q["sql"].upper()]
    assert "Index Only Scan using learner_cohort_wanting_group" in testing.query_plan(sql)
