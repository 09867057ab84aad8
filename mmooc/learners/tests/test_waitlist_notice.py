"""When a new cohort of a course opens for signup, the confirmed waitlist hears of it once."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from mmooc.courses.models import Cohort
from mmooc.learners.models import Unsubscribe, WaitlistEntry, WaitlistNotice
from mmooc.learners.registration import notify_waitlist
from mmooc.learners.tests.helpers import deliveries, path_of, received_text
from mmooc.lib import periodic
from mmooc.mailer.models import Suppression
from mmooc.testing import make_cohort, make_course

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("outbox_mode")]

TAG = "waitlist-open"


def waiting(course, address, confirmed=True):
    return WaitlistEntry.objects.create(course=course, email=address, email_key=address.lower(),
                                        confirmed_at=timezone.now() if confirmed else None)


@pytest.fixture
def course():
    course = make_course(slug="python", title="Python for Everyone")
    make_cohort(course, open_signup=False)  # the last run, closed
    return course


def test_each_confirmed_person_on_the_waitlist_gets_one_email_with_a_signup_link(client, course):
    waiting(course, "ada@example.org")
    waiting(course, "grace@example.org")
    cohort = make_cohort(course, slug="python-spring", title="Spring run")
    assert notify_waitlist() == 2
    text = received_text("ada@example.org", TAG)
    assert "Python for Everyone" in text and "Spring run" in text
    link = "/python/python-spring/"
    assert link in text
    assert client.get(path_of(link)).status_code == 200
    assert deliveries("grace@example.org", TAG).count() == 1
    assert set(WaitlistNotice.objects.values_list("cohort_id", flat=True)) == {cohort.pk}
    assert WaitlistEntry.objects.filter(notified_at__isnull=False).count() == 2


def test_a_second_run_sends_nothing_more(course):
    waiting(course, "ada@example.org")
    make_cohort(course)
    assert notify_waitlist() == 1
    assert notify_waitlist() == 0
    assert deliveries("ada@example.org", TAG).count() == 1


def test_nothing_is_sent_before_signup_opens(course):
    waiting(course, "ada@example.org")
    opens = timezone.now() + timedelta(days=3)
    make_cohort(course, signup_opens=opens, signup_closes=opens + timedelta(days=20))
    assert notify_waitlist() == 0
    assert not deliveries("ada@example.org", TAG).exists()
    with time_machine.travel(opens + timedelta(minutes=1)):
        assert notify_waitlist() == 1
    assert deliveries("ada@example.org", TAG).count() == 1


def test_a_draft_cohort_or_another_course_tells_no_one(course):
    waiting(course, "ada@example.org")
    make_cohort(course, state=Cohort.DRAFT)
    make_cohort(make_course())
    assert notify_waitlist() == 0


def test_a_later_cohort_is_announced_again(course):
    waiting(course, "ada@example.org")
    make_cohort(course)
    notify_waitlist()
    make_cohort(course)
    assert notify_waitlist() == 1
    assert deliveries("ada@example.org", TAG).count() == 2


def test_unconfirmed_suppressed_and_unsubscribed_addresses_are_left_out(course):
    waiting(course, "unsure@example.org", confirmed=False)
    waiting(course, "bounced@example.org")
    waiting(course, "done@example.org")
    waiting(course, "ada@example.org")
    Suppression.objects.create(address="bounced@example.org", reason=Suppression.HARD_BOUNCE)
    Unsubscribe.objects.create(email_key="done@example.org", scope=Unsubscribe.SITE, source=Unsubscribe.PAGE)
    make_cohort(course)
    assert notify_waitlist() == 1
    assert [d.recipient for d in deliveries("ada@example.org", TAG)] == ["ada@example.org"]
    for address in ["unsure@example.org", "bounced@example.org", "done@example.org"]:
        assert not deliveries(address, TAG).exists()


def test_someone_already_signed_up_for_the_new_cohort_is_not_told(course):
    from mmooc.testing import make_learner

    waiting(course, "ada@example.org")
    cohort = make_cohort(course)
    make_learner(cohort, "Ada@Example.org")
    assert notify_waitlist() == 0


def test_the_job_is_registered():
    assert "learners.waitlist" in {job.name for job in periodic.jobs()}


def test_an_address_kept_only_as_an_erased_learners_keyed_hash_is_not_told(course):
    from mmooc.mailer import suppression

    waiting(course, "ada@example.org")
    waiting(course, "grace@example.org")
    suppression.suppress("Ada@Example.org", Suppression.UNSUBSCRIBE, "stop all mail")
    suppression.forget(["ada@example.org"])
    make_cohort(course)
    assert notify_waitlist() == 1
    assert deliveries("ada@example.org", TAG).count() == 0
    assert deliveries("grace@example.org", TAG).count() == 1
