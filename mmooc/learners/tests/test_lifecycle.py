"""learners.lifecycle: each change once, refusals that change nothing, and the history."""

from __future__ import annotations

import pytest
from django.utils import timezone

from mmooc import testing
from mmooc.learners import lifecycle, links
from mmooc.learners.models import Learner, LearnerEvent, Unsubscribe
from mmooc.learners.tests.helpers import path_of

pytestmark = pytest.mark.django_db


def kinds(learner):
    return [e.kind for e in lifecycle.history(learner)]


def snapshot(learner):
    learner.refresh_from_db()
    return (learner.state, learner.confirmed_at, learner.left_at, learner.unsubscribed_at, learner.wants_group,
            learner.group_confirmed, list(LearnerEvent.objects.filter(learner=learner).values_list("kind")))


def test_each_change_is_recorded_once_however_often_it_is_asked(learner):
    assert lifecycle.choose_group(learner, False) and not lifecycle.choose_group(learner, False)
    assert lifecycle.choose_group(learner, True) and not lifecycle.choose_group(learner, True)
    assert lifecycle.leave(learner) and not lifecycle.leave(learner)
    assert lifecycle.confirm(learner, rejoin=True) and not lifecycle.confirm(learner, rejoin=True)
    assert lifecycle.erase(learner) and not lifecycle.erase(learner)
    assert kinds(learner) == [LearnerEvent.SOLO, LearnerEvent.GROUP_WANTED, LearnerEvent.LEFT,
                              LearnerEvent.REJOINED, LearnerEvent.ERASED]


def test_a_pending_learner_is_confirmed_and_says_so(cohort):
    from mmooc.testing import make_learner

    pending = make_learner(cohort, "bo@example.org", state=Learner.PENDING)
    assert lifecycle.confirm(pending, via="link")
    assert pending.state == Learner.CONFIRMED
    event = LearnerEvent.objects.get(learner=pending)
    assert (event.kind, event.via) == (LearnerEvent.CONFIRMED, "link")


def test_confirming_someone_who_left_is_refused_with_a_reason_and_changes_nothing(learner):
    lifecycle.leave(learner, now=timezone.now().replace(year=2026, month=12, day=3))
    before = snapshot(learner)
    with pytest.raises(lifecycle.Refused, match="You left this cohort on 3 December 2026"):
        lifecycle.confirm(learner)
    assert snapshot(learner) == before


@pytest.mark.parametrize("rejoin", [False, True])
def test_an_erased_learner_is_never_confirmed_again_even_asking_to_rejoin(learner, rejoin):
    lifecycle.erase(learner)
    before = snapshot(learner)
    with pytest.raises(lifecycle.Refused, match="This learner's data was deleted"):
        lifecycle.confirm(learner, rejoin=rejoin)
    assert snapshot(learner) == before


def test_someone_who_left_on_an_unknown_day_is_told_so_without_a_date(learner):
    # A learner imported as left, or who left before the day was recorded.
    Learner.objects.filter(pk=learner.pk).update(state=Learner.LEFT, left_at=None)
    learner.refresh_from_db()
    before = snapshot(learner)
    with pytest.raises(lifecycle.Refused, match="^You left this cohort.$"):
        lifecycle.confirm(learner)
    assert snapshot(learner) == before


def test_confirming_someone_who_stopped_course_emails_is_refused_until_they_ask(learner):
    lifecycle.unsubscribe(learner, Unsubscribe.COHORT, Unsubscribe.PAGE)
    before = snapshot(learner)
    with pytest.raises(lifecycle.Refused, match="You stopped the course emails"):
        lifecycle.confirm(learner)
    assert snapshot(learner) == before
    assert lifecycle.confirm(learner, rejoin=True)
    assert snapshot(learner)[3] is None


def test_asking_for_a_group_after_leaving_the_cohort_is_refused_and_changes_nothing(learner):
    lifecycle.choose_group(learner, False)
    lifecycle.leave(learner)
    before = snapshot(learner)
    with pytest.raises(lifecycle.Refused, match="join it again first"):
        lifecycle.choose_group(learner, True)
    assert snapshot(learner) == before


def test_the_page_shows_the_refusal_and_saves_nothing_else(client, learner):
    lifecycle.choose_group(learner, False)
    lifecycle.leave(learner)
    page = path_of(links.learner_page_url(learner))
    response = client.post(page, {"name": "Someone Else", "timezone": "Asia/Tokyo", "language": "en",
                                  "group": "group"})
    assert response.status_code == 400
    assert "join it again first" in response.content.decode()
    learner.refresh_from_db()
    assert (learner.name, learner.timezone, learner.wants_group) == ("Ada Lovelace", "UTC", False)


def test_the_history_is_on_the_learners_page_and_the_staff_page(client, admin_client, learner):
    lifecycle.leave_group(learner, via="unsubscribe (one-click)")
    page = client.get(path_of(links.learner_page_url(learner))).content.decode()
    assert "My history" in page and "left the study group" in page
    staff = admin_client.get(f"/dashboard/cohorts/{learner.cohort.slug}/learners/{learner.public_id}")
    content = staff.content.decode()
    assert "Left the study group" in content and "unsubscribe (one-click)" in content


def test_a_complaint_flags_stops_and_records_once(learner):
    assert lifecycle.complain("ADA@example.org") == 1
    assert lifecycle.complain("ada@example.org") == 0
    learner.refresh_from_db()
    assert learner.complained_at is not None and learner.unsubscribed_at is not None
    assert kinds(learner) == [LearnerEvent.COMPLAINED]


def test_the_history_keeps_no_address_or_name_after_erasure(learner):
    lifecycle.unsubscribe(learner, Unsubscribe.GROUP, Unsubscribe.ONE_CLICK)
    lifecycle.leave(learner)
    lifecycle.erase(learner)
    rows = list(LearnerEvent.objects.filter(learner=learner).values_list("kind", "via", "note"))
    assert rows and all("ada" not in " ".join(row).lower() and "lovelace" not in " ".join(row).lower()
                        for row in rows)


def test_a_complaint_before_confirming_is_not_undone_by_the_link(cohort):
    from mmooc.testing import make_learner

    pending = make_learner(cohort, "bo@example.org", state=Learner.PENDING)
    lifecycle.complain("bo@example.org")
    before = snapshot(pending)
    with pytest.raises(lifecycle.Refused, match="marked as spam"):
        lifecycle.confirm(pending)
    assert snapshot(pending) == before
    assert lifecycle.confirm(pending, rejoin=True)  # pressing "Join again" is the newer choice
    pending.refresh_from_db()
    assert (pending.state, pending.unsubscribed_at, pending.complained_at) == (Learner.CONFIRMED, None, None)


def _heard(signal):
    heard = []

    def receiver(sender, learner, **kwargs):
        heard.append(learner.pk)

    signal.connect(receiver, weak=False)
    return heard, lambda: signal.disconnect(receiver)


def test_asking_for_a_group_tells_the_groups_once_committed_and_never_that_they_left(
        learner, django_capture_on_commit_callbacks):
    from mmooc.learners.signals import learner_left_group, learner_wants_group

    Learner.objects.filter(pk=learner.pk).update(wants_group=False)
    learner.refresh_from_db()
    wanted, stop_wanted = _heard(learner_wants_group)
    left, stop_left = _heard(learner_left_group)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            assert lifecycle.choose_group(learner, True)
        assert wanted == []  # not before the change is committed
        for callback in callbacks:
            callback()
        assert wanted == [learner.pk] and left == []
        assert not lifecycle.choose_group(learner, True, force=True)  # asked again: nothing to tell
        assert wanted == [learner.pk] and left == []
    finally:
        stop_wanted()
        stop_left()


def test_an_address_of_another_learners_alias_is_refused_and_a_free_one_is_not(cohort, learner):
    from mmooc.learners.models import LearnerAlias

    other = testing.make_learner(cohort, "bob@example.org", name="Bob")
    LearnerAlias.objects.create(learner=other, cohort_id=cohort.id, address="bob@work.example.org",
                                address_key="bob@work.example.org")
    assert lifecycle.alias_refusal(learner, "ada@work.example.org") == ""
    assert lifecycle.alias_refusal(learner, "Bob@Work.example.org") == (
        "This address belongs to another learner of this course.")
