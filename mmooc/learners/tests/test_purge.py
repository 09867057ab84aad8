"""purge_unconfirmed() and `mmooc learners purge`."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from mmooc.learners import links, registration
from mmooc.learners.models import Learner, WaitlistEntry
from mmooc.learners.registration import purge_unconfirmed
from mmooc.mailer.models import Delivery
from mmooc.testing import make_cohort, make_learner

pytestmark = pytest.mark.django_db


def test_it_removes_signups_unconfirmed_past_the_expiry():
    cohort = make_cohort()
    old = make_learner(cohort, state=Learner.PENDING, signed_up_at=timezone.now() - timedelta(days=8))
    fresh = make_learner(cohort, state=Learner.PENDING, signed_up_at=timezone.now() - timedelta(days=6))
    confirmed = make_learner(cohort, signed_up_at=timezone.now() - timedelta(days=30))
    assert purge_unconfirmed() == 1
    assert set(Learner.objects.values_list("pk", flat=True)) == {fresh.pk, confirmed.pk}
    assert not Learner.objects.filter(pk=old.pk).exists()


def test_it_removes_unconfirmed_waitlist_entries():
    cohort = make_cohort()
    WaitlistEntry.objects.create(course=cohort.course, email="a@example.org", email_key="a@example.org",
                                 created_at=timezone.now() - timedelta(days=9))
    kept = WaitlistEntry.objects.create(course=cohort.course, email="b@example.org", email_key="b@example.org",
                                        created_at=timezone.now() - timedelta(days=9),
                                        confirmed_at=timezone.now())
    assert purge_unconfirmed() == 1
    assert list(WaitlistEntry.objects.all()) == [kept]


def test_the_command_reports_what_it_removed(capsys):
    make_learner(make_cohort(), state=Learner.PENDING, signed_up_at=timezone.now() - timedelta(days=10))
    call_command("learners", "purge")
    assert "Removed 1 unconfirmed signup." in capsys.readouterr().out


def test_the_command_forgets_abandoned_uploads(settings, tmp_path, capsys):
    import os
    import time

    settings.DATA_DIR = tmp_path
    (tmp_path / "imports").mkdir()
    old, fresh = tmp_path / "imports" / ("a" * 32 + ".csv"), tmp_path / "imports" / ("b" * 32 + ".csv")
    old.write_text("email\n")
    fresh.write_text("email\n")
    os.utime(old, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    call_command("learners", "purge")
    assert not old.exists() and fresh.exists()
    assert "Removed 1 abandoned CSV upload." in capsys.readouterr().out


def test_it_is_registered_as_a_periodic_job():
    from mmooc.lib import periodic

    job = next(j for j in periodic.jobs() if j.name == "learners.purge")
    assert job.func is purge_unconfirmed and job.every == 3600


def test_a_pending_learner_who_signs_up_again_is_kept_while_the_fresh_link_works():
    cohort = make_cohort()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        learner = registration.register(cohort, registration.Signup(email="ada@example.org"))
    with time_machine.travel(start + timedelta(days=6), tick=False):
        registration.register(cohort, registration.Signup(email="Ada@example.org"))
    fresh = Delivery.objects.filter(ref=str(learner.public_id)).latest("id").context["confirm_url"]
    with time_machine.travel(start + timedelta(days=8), tick=False):
        assert purge_unconfirmed() == 0
        token = fresh.rstrip("/").rsplit("/", 1)[1]
        assert links.learner_from_token(token, links.CONFIRM).pk == learner.pk
    with time_machine.travel(start + timedelta(days=13, hours=1), tick=False):
        assert purge_unconfirmed() == 1
    assert not Learner.objects.exists()
