"""registration.register: one signup stored with its confirmation email, or an address updated."""

from __future__ import annotations

import os

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mmooc.learners import registration
from mmooc.learners.models import Learner
from mmooc.learners.registration import Signup
from mmooc.mailer import outbox
from mmooc.mailer.models import Delivery, Message
from mmooc.testing import make_cohort

pytestmark = pytest.mark.django_db


def sign_up(cohort, email="ada@example.org", **fields):
    fields = {"timezone": "Asia/Kolkata", **fields}
    return registration.register(cohort, Signup(email=email, **fields), Learner.SIGNUP_API)


def test_it_stores_what_was_given():
    cohort = make_cohort()
    learner = sign_up(cohort, name="Ada Lovelace", language="fr", wants_group=False, answers={"level": "new"})
    stored = Learner.objects.get()
    assert stored.pk == learner.pk and stored.public_id == learner.public_id
    assert (stored.email, stored.email_key, stored.name, stored.country, stored.language) == (
        "ada@example.org", "ada@example.org", "Ada Lovelace", "IN", "fr")
    assert (stored.wants_group, stored.answers, stored.state, stored.source) == (
        False, {"level": "new"}, Learner.PENDING, Learner.SIGNUP_API)
    assert stored.signed_up_at == learner.signed_up_at


def test_it_writes_a_new_signup_in_three_statements():
    # The learner, the signup counter of /metrics (one upsert on a shard row), the confirmation copy.
    # On PostgreSQL the copy's insert also wakes the engines of other processes when it commits
    # (the outbox table's trigger): no NOTIFY statement of its own.
    cohort = make_cohort()
    sign_up(cohort, email="first@example.org")  # finds or makes the cohort's shared confirmation
    with CaptureQueriesContext(connection) as queries:
        sign_up(cohort, email="second@example.org")
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert [s.split()[:3] for s in statements] == [["INSERT", "INTO", '"learners_learner"'],
                                                  ["INSERT", "INTO", '"operations_counter"'],
                                                  ["INSERT", "INTO", "mailer_delivery"]]


def test_it_puts_every_confirmation_on_one_shared_message():
    cohort = make_cohort()
    learners = [sign_up(cohort, email=f"l{n}@example.org", name=f"L{n} Smith") for n in range(3)]
    deliveries = list(Delivery.objects.filter(message__tag="confirmation").order_by("pk"))
    assert len({d.message_id for d in deliveries}) == 1
    assert [d.ref for d in deliveries] == [str(learner.public_id) for learner in learners]
    assert [d.context["greeting"] for d in deliveries] == [" L0", " L1", " L2"]
    assert all(d.status == Delivery.QUEUED and d.header_message_id().endswith("@course.example.org>")
               for d in deliveries)
    assert len({d.header_message_id() for d in deliveries}) == 3


def test_it_queues_on_another_message_once_the_shared_one_is_paused():
    cohort = make_cohort()
    sign_up(cohort, email="first@example.org")
    outbox.pause(Message.objects.get(tag="confirmation"))
    learner = sign_up(cohort, email="second@example.org")
    delivery = Delivery.objects.get(ref=str(learner.public_id))
    assert delivery.message.state == Message.ACTIVE


def test_it_updates_a_returning_address_and_mails_it_again():
    cohort = make_cohort()
    first = sign_up(cohort, name="Ada")
    again = sign_up(cohort, email="ADA@example.org", name="Ada L", answers={"level": "some"})
    assert again.pk == first.pk
    stored = Learner.objects.get()
    assert (stored.name, stored.answers) == ("Ada L", {"level": "some"})
    assert Delivery.objects.filter(ref=str(first.public_id), message__tag="confirmation").count() == 2


@pytest.mark.parametrize("state", [Learner.CONFIRMED, Learner.LEFT])
def test_a_signup_with_the_address_of_a_confirmed_or_left_learner_changes_none_of_their_choices(state):
    cohort = make_cohort()
    first = sign_up(cohort, name="Ada", timezone="Asia/Kolkata", wants_group=True, answers={"level": "some"})
    Learner.objects.filter(pk=first.pk).update(state=state)
    sign_up(cohort, email="ADA@example.org", name="Mallory", timezone="America/New_York", wants_group=False,
            answers={"level": "none"})
    stored = Learner.objects.get()
    assert (stored.name, stored.timezone, stored.wants_group, stored.answers, stored.state) == (
        "Ada", "Asia/Kolkata", True, {"level": "some"}, state)


def test_a_new_signup_is_counted_once_for_the_metrics():
    from mmooc.operations import counters

    cohort = make_cohort()
    sign_up(cohort)
    sign_up(cohort)  # the same address again: an update, not a signup
    assert counters.totals() == {("signups", Learner.SIGNUP_API): 1}


def test_signups_on_sqlite_share_one_lock_file_descriptor(settings, tmp_path, monkeypatch):
    monkeypatch.setattr(registration, "_lock_fd", None)
    settings.DATA_DIR = tmp_path
    first = registration._lock_file()
    try:
        assert registration._lock_file() == first
        assert (tmp_path / "signups.lock").exists()
    finally:
        os.close(first)
