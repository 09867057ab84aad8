"""A course email reads its audience as a whole (`lib.bulk.read_whole`): on a database with
statistics, PostgreSQL would plan the cursor for its first rows and walk the index of public
ids, reading each learner from a random place of the table."""

from __future__ import annotations

import uuid
from datetime import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from mmooc.emails import scheduling
from mmooc.emails.models import CourseEmail
from mmooc.learners.models import Learner
from mmooc.lib import bulk
from mmooc.mailer.models import Delivery

pytestmark = pytest.mark.django_db
FIELDS = ("cohort", "email", "email_key", "name", "timezone", "country", "language", "wants_group", "state", "source",
          "signed_up_at", "confirmed_at", "public_id", "answers")
PUBLIC_IDS = "learners_learner_public_id_key"


def _learners(cohort, n: int) -> None:
    now = timezone.now()
    bulk.insert(Learner, FIELDS, ((cohort.pk, f"l{i}@example.org", f"l{i}@example.org", f"L {i}", "Europe/Paris", "",
                                   "en", True, Learner.CONFIRMED, Learner.SIGNUP_FORM, now, now, uuid.uuid4(), {})
                                  for i in range(n)))


def _index_scans(index: str) -> int:
    """Scans of `index` in this transaction so far (the test's own)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_get_xact_numscans(%s::regclass)", [index])
        return int(cursor.fetchone()[0])


def _setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_indexscan')")
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_a_course_email_reads_an_analyzed_cohort_in_table_order_not_through_the_public_ids(cohort, organizer):
    _learners(cohort, 20_000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE learners_learner")
    email = CourseEmail.objects.create(cohort=cohort, subject="Week 1", body="Hi {{ learner.first_name }}",
                                       schedule=CourseEmail.LOCAL, day_offset=0, local_time=time(9))
    # What a cursor of the same query is planned to do without read_whole: the index, for its first rows.
    qs = cohort.learners.order_by("public_id").values_list("pk", "public_id")
    with transaction.atomic():
        before = _index_scans(PUBLIC_IDS)
        assert len(list(qs.iterator(chunk_size=2000))) == 20_000
        assert _index_scans(PUBLIC_IDS) > before
    before = _index_scans(PUBLIC_IDS)
    assert scheduling.schedule(email, organizer) == 20_000
    assert _index_scans(PUBLIC_IDS) == before
    # In the order of the learners' public ids, as the outbox's index of refs wants them.
    refs = list(Delivery.objects.order_by("pk").values_list("ref", flat=True))
    assert refs == sorted(refs) and len(set(refs)) == 20_000
    assert _setting() == "on"


@pytest.mark.parametrize("atomic", [True, pytest.param(False, marks=pytest.mark.django_db(transaction=True))])
def test_every_row_is_read_and_the_setting_is_as_it_was_after(cohort, atomic):
    _learners(cohort, 7)
    seen: list[str] = []

    def rows():  # the setting while the query is planned
        seen.append(_setting() if connection.vendor == "postgresql" else "-")
        yield from Learner.objects.order_by("public_id").values_list("email", flat=True).iterator(chunk_size=3)

    if atomic:
        with transaction.atomic():
            read = list(bulk.read_whole(rows()))
    else:
        read = list(bulk.read_whole(rows()))
    assert sorted(read) == sorted(f"l{i}@example.org" for i in range(7))
    assert connection.in_atomic_block is False or atomic  # outside a transaction: the session's setting
    if connection.vendor == "postgresql":
        assert seen == ["off"]
        assert _setting() == "on"


def test_an_empty_read_and_a_failing_one_put_the_setting_back(cohort):
    assert list(bulk.read_whole(Learner.objects.none().iterator())) == []

    def failing():
        raise ValueError("the query failed")
        yield

    with pytest.raises(ValueError, match="the query failed"):
        list(bulk.read_whole(failing()))
    if connection.vendor == "postgresql":
        assert _setting() == "on"


@pytest.mark.postgres
def test_a_setting_the_caller_chose_is_kept(cohort):
    _learners(cohort, 3)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_indexscan = off")
        assert len(list(bulk.read_whole(Learner.objects.values_list("pk").iterator()))) == 3
        assert _setting() == "off"
