"""apply_grouping: groups, memberships, the audit entry and the welcome emails."""

from __future__ import annotations

import re
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
import time_machine
from django.utils import timezone

from mmooc.audit.models import AuditEntry
from mmooc.groups.apply import apply_grouping, eligible_learners, group_address
from mmooc.groups.grouping import GroupingError
from mmooc.groups.models import GroupCheck, Membership, StudyGroup
from mmooc.groups.welcome import group_context, send_pending_welcomes
from mmooc.learners import links
from mmooc.learners.models import Learner
from mmooc.mailer.engine import drain
from mmooc.mailer.models import Delivery, Message
from mmooc.testing import make_learner

pytestmark = [pytest.mark.django_db,
              pytest.mark.cohort(course={"group_intro": "Tell us which chapter you liked best."})]


def fill(cohort, n, zone="Europe/Paris", **fields):
    return [make_learner(cohort, timezone=zone, **fields) for _ in range(n)]


def test_it_groups_every_eligible_learner_once(cohort):
    learners = fill(cohort, 10)
    apply_grouping(cohort)
    assert sorted(Membership.objects.values_list("learner_id", flat=True)) == sorted(x.pk for x in learners)
    assert list(StudyGroup.objects.filter(cohort=cohort).values_list("number", flat=True)) == [1, 2, 3]


def test_it_leaves_out_unconfirmed_solo_and_departed_learners(cohort):
    fill(cohort, 4)
    make_learner(cohort, state=Learner.PENDING)
    make_learner(cohort, wants_group=False)
    make_learner(cohort, state=Learner.LEFT)
    make_learner(cohort, group_confirmed=False)
    grouping = apply_grouping(cohort)
    assert grouping.learner_count == 4
    assert Membership.objects.count() == 4


def test_it_takes_only_learners_who_said_yes_when_the_cohort_asks(cohort):
    cohort.confirm_group_wish = True
    cohort.save()
    yes = fill(cohort, 2, group_confirmed=True)
    fill(cohort, 2)  # never answered
    assert set(eligible_learners(cohort)) == set(yes)


def test_it_counts_learners_confirmed_after_the_group_check_as_wanting_a_group(cohort):
    cohort.confirm_group_wish = True
    cohort.save()
    GroupCheck.objects.create(cohort=cohort, sent_at=timezone.now() - timedelta(days=1))
    late = make_learner(cohort, timezone="UTC")
    make_learner(cohort, confirmed_at=timezone.now() - timedelta(days=2))  # asked, silent
    assert list(eligible_learners(cohort)) == [late]


def test_it_names_groups_and_gives_each_a_list_address(cohort, settings):
    settings.LIST_DOMAIN = "lists.example.org"
    fill(cohort, 3)
    apply_grouping(cohort)
    group = StudyGroup.objects.get()
    assert (group.name, group.address) == ("Group 1", "py-3-group-1@lists.example.org")
    assert group.public_id is not None
    assert (group.language, group.pooled, group.span_hours) == ("en", False, 0.0)
    assert group.capacity == 5  # four, and room for a late joiner


def test_it_shortens_long_cohort_slugs_in_addresses(cohort):
    cohort.slug = "a" * 60
    address = group_address(cohort, 12)
    assert len(address.split("@")[0]) <= 64
    assert address.split("@")[0].endswith("-group-12")


def test_it_records_spans_and_time_zone_arcs(cohort):
    fill(cohort, 2, zone="Pacific/Kiritimati")
    fill(cohort, 2, zone="Pacific/Pago_Pago")
    apply_grouping(cohort)
    group = StudyGroup.objects.get()
    assert group.span_hours == 1.0
    assert {group.offset_start, group.offset_end} == {14.0, -11.0}


def test_it_continues_numbering_for_learners_grouped_later(cohort):
    fill(cohort, 4)
    apply_grouping(cohort)
    fill(cohort, 3, zone="Asia/Tokyo")
    second = apply_grouping(cohort, seed=7)
    assert [g.number for g in second.groups.order_by("number")] == [2]
    assert Membership.objects.count() == 7


def test_it_records_the_seed_and_sizes(cohort, organizer):
    fill(cohort, 5)
    grouping = apply_grouping(cohort, target_size=3, seed=42, actor=organizer)
    assert (grouping.seed, grouping.target_size, grouping.max_size, grouping.min_size) == (42, 3, 3, 2)
    assert grouping.created_by == organizer


def test_it_records_an_audit_entry(cohort, organizer):
    fill(cohort, 5)
    grouping = apply_grouping(cohort, actor=organizer)
    entry = AuditEntry.objects.get(action="grouping.applied")
    assert (entry.actor, entry.object_id) == (organizer, str(grouping.pk))
    assert entry.details["groups"] == 2 and entry.details["learners"] == 5


def test_it_sends_each_group_one_welcome_message_for_all_its_members(cohort):
    fill(cohort, 6)
    apply_grouping(cohort)
    messages = Message.objects.filter(tag="group-welcome")
    assert messages.count() == 2
    for message in messages:
        group = StudyGroup.objects.get(name=message.list_name)
        members = set(group.memberships.values_list("learner__email", flat=True))
        assert set(message.deliveries.values_list("recipient", flat=True)) == members
        assert (message.kind, message.scope, message.reply_to) == (
            Message.SUBSCRIBED, cohort.scope, group.address)
        assert message.list_id == group.address.replace("@", ".")


def test_it_tells_members_who_is_in_the_group_and_how_it_works(cohort):
    make_learner(cohort, name="Ada Lovelace", timezone="Europe/London")
    make_learner(cohort, name="Grace Hopper", timezone="America/New_York")
    make_learner(cohort, name="*Evil* {{ unsubscribe_url }}", timezone="Asia/Tokyo")
    apply_grouping(cohort)
    body = Message.objects.get(tag="group-welcome").body
    assert "- Ada (Europe/London)" in body
    assert "- Grace (America/New York)" in body
    assert "- Evil (Asia/Tokyo)" in body
    assert "py-3-group-1@" in body
    assert "Tell us which chapter you liked best." in body


def test_it_gives_each_member_their_own_links_with_a_leave_the_group_unsubscribe(cohort):
    ada = make_learner(cohort, name="Ada Lovelace")
    with time_machine.travel(timezone.now(), tick=False):
        apply_grouping(cohort)
        expected = group_context(ada)
    delivery = Delivery.objects.get(recipient=ada.email)
    # The welcome shows the greeting and the learner page; only what it shows is stored.
    assert delivery.context == {k: expected[k] for k in ("greeting", "learner.page_url", "unsubscribe_url")}
    assert delivery.ref == str(ada.public_id)


def test_it_reports_progress_per_group(cohort):
    fill(cohort, 9)
    seen = []
    apply_grouping(cohort, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_it_writes_nothing_when_the_size_is_impossible(cohort):
    fill(cohort, 5)
    with pytest.raises(GroupingError):
        apply_grouping(cohort, target_size=1)
    assert (StudyGroup.objects.count(), Membership.objects.count(), Message.objects.count()) == (0, 0, 0)


def test_it_keeps_the_groups_and_queues_interrupted_welcomes_on_the_next_apply(cohort, monkeypatch):
    fill(cohort, 5)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("mmooc.groups.welcome._welcome", broken)
    with pytest.raises(RuntimeError):
        apply_grouping(cohort)
    assert Membership.objects.count() == 5
    assert not Message.objects.exists()
    assert StudyGroup.objects.filter(welcomed_at__isnull=True).count() == 2
    monkeypatch.undo()
    apply_grouping(cohort)
    assert Message.objects.filter(tag="group-welcome").count() == 2
    assert not StudyGroup.objects.filter(welcomed_at__isnull=True).exists()


def test_it_welcomes_each_group_once(cohort):
    fill(cohort, 5)
    apply_grouping(cohort)
    assert not StudyGroup.objects.filter(welcomed_at__isnull=True).exists()
    send_pending_welcomes(cohort)
    apply_grouping(cohort)
    assert Message.objects.filter(tag="group-welcome").count() == 2


def test_it_welcomes_groups_in_short_transactions(cohort, monkeypatch):
    monkeypatch.setattr("mmooc.groups.welcome.WELCOME_BATCH", 2)
    fill(cohort, 20)
    apply_grouping(cohort)
    assert Message.objects.filter(tag="group-welcome").count() == 5
    assert Delivery.objects.count() == 20


def test_it_makes_no_groups_when_nobody_is_eligible(cohort):
    grouping = apply_grouping(cohort)
    assert grouping.learner_count == 0
    assert not StudyGroup.objects.exists()


def test_it_sends_a_welcome_that_reads_well_with_every_placeholder_filled(cohort):
    ada = make_learner(cohort, name="Ada Lovelace", timezone="Europe/London")
    make_learner(cohort, name="", timezone="Europe/London")
    apply_grouping(cohort)
    drain()
    stored = Delivery.objects.get(recipient=ada.email).stored
    mail = message_from_bytes(bytes(stored), policy=policy.default)
    text = mail.get_body(("plain",)).get_content()
    assert mail["Subject"].startswith("Welcome to Group 1 of ")
    assert mail["Reply-To"] == "py-3-group-1@" + mail["Reply-To"].split("@")[1]
    assert "py-3-group-1." in mail["List-Id"]
    url = re.search(r"<(https?://[^>]+)>", mail["List-Unsubscribe"]).group(1)
    assert links.unsubscribe_target(url.rstrip("/").rsplit("/", 1)[1]) == (ada, "group")
    assert text.startswith("Hello Ada,")
    assert "A learner (Europe/London)" in text
    assert "{{" not in text


def test_it_writes_each_batch_of_welcomes_in_one_insert_per_table(cohort, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr("mmooc.groups.welcome.WELCOME_BATCH", 5)
    fill(cohort, 40)
    with CaptureQueriesContext(connection) as queries:
        apply_grouping(cohort)
    inserts = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "COPY"))]
    if connection.vendor == "postgresql":  # the messages' ids taken in one query, then COPY (not captured)
        assert sum("nextval" in q["sql"] and "mailer_message" in q["sql"] for q in queries) == 2
        assert not [sql for sql in inserts if '"mailer_message"' in sql]
    else:
        assert sum('"mailer_message"' in sql for sql in inserts) == 2
    assert Message.objects.filter(tag="group-welcome").count() == 10 and Delivery.objects.count() == 40


def test_it_gives_every_member_of_every_group_working_links(cohort):
    fill(cohort, 12)
    apply_grouping(cohort)
    for delivery in Delivery.objects.select_related("message"):
        token = delivery.context["unsubscribe_url"].rstrip("/").rsplit("/", 1)[1]
        learner, scope = links.unsubscribe_target(token)
        assert (str(learner.public_id), learner.email, scope) == (delivery.ref, delivery.recipient, "group")
        page = delivery.context["learner.page_url"].rstrip("/").rsplit("/", 1)[1]
        assert links.learner_from_token(page, links.PAGE) == learner


def test_the_learners_are_grouped_with_cycle_collection_paused_and_it_resumes_after(cohort, monkeypatch):
    import gc

    from mmooc.groups import apply

    fill(cohort, 10)
    seen, real = [], apply.make_groups
    monkeypatch.setattr(apply, "make_groups", lambda *args, **kw: seen.append(gc.isenabled()) or real(*args, **kw))
    apply_grouping(cohort)
    assert seen == [False] and gc.isenabled()


def test_cycle_collection_resumes_when_the_grouping_fails(cohort, monkeypatch):
    import gc

    from mmooc.groups import apply

    fill(cohort, 10)
    monkeypatch.setattr(apply, "_create_memberships", lambda *args: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        apply_grouping(cohort)
    assert gc.isenabled() and not StudyGroup.objects.exists()
