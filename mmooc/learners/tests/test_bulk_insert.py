"""`lib.bulk.insert`, written against Learner (the model with the widest range of field types): rows
of plain values land as the ORM would have written them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction

from mmooc.learners.models import Learner
from mmooc.lib import bulk
from mmooc.testing import make_cohort

pytestmark = pytest.mark.django_db

FIELDS = ("public_id", "cohort", "email", "email_key", "name", "timezone", "country", "language", "wants_group",
          "group_confirmed", "answers", "state", "source", "signed_up_at", "confirmed_at")


def row(cohort, n: int, **values) -> tuple:
    fields = {"public_id": uuid.uuid4(), "cohort": cohort.pk, "email": f"l{n}@example.org",
              "email_key": f"l{n}@example.org", "name": f"Léa {n}", "timezone": "Europe/Paris",
              "country": "FR", "language": "fr", "source": Learner.SIGNUP_FORM, "wants_group": n % 2 == 0,
              "group_confirmed": None, "answers": {"why": ["fun", "work"], "n": n}, "state": Learner.CONFIRMED,
              "signed_up_at": datetime(2026, 3, 1, 12, 30, n, tzinfo=UTC), "confirmed_at": None} | values
    return tuple(fields[name] for name in FIELDS)


def test_it_writes_uuids_json_datetimes_booleans_and_nulls():
    cohort = make_cohort()
    rows = [row(cohort, n) for n in range(3)]
    assert bulk.insert(Learner, FIELDS, rows) == 3
    learners = list(Learner.objects.order_by("email"))
    assert [learner.public_id for learner in learners] == [r[0] for r in rows]
    assert learners[1].answers == {"why": ["fun", "work"], "n": 1}
    assert learners[2].signed_up_at == datetime(2026, 3, 1, 12, 30, 2, tzinfo=UTC)
    assert [learner.wants_group for learner in learners] == [True, False, True]
    assert learners[0].confirmed_at is None and learners[0].group_confirmed is None
    assert learners[0].name == "Léa 0"
    assert Learner.objects.get(public_id=rows[1][0]).email == "l1@example.org"


def test_a_timestamp_shared_by_every_row_is_written_to_each():
    cohort = make_cohort()
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    bulk.insert(Learner, FIELDS, [row(cohort, n, confirmed_at=now) for n in range(3)] + [row(cohort, 3)])
    assert list(Learner.objects.order_by("email").values_list("confirmed_at", flat=True)) == [now, now, now, None]


def test_nothing_is_written_when_a_row_breaks_a_constraint():
    cohort = make_cohort()
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert(Learner, FIELDS, [row(cohort, 1), row(cohort, 2), row(cohort, 1)])
    assert not Learner.objects.exists()


def test_a_missing_required_value_is_refused_not_defaulted():
    cohort = make_cohort()
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert(Learner, FIELDS[:5], [row(cohort, 1)[:5]])
    assert not Learner.objects.exists()


def test_no_rows_write_nothing():
    assert bulk.insert(Learner, FIELDS, []) == 0


def test_a_row_with_too_few_or_too_many_values_is_refused_and_nothing_is_written():
    cohort = make_cohort()
    for wrong in (row(cohort, 2)[:-1], row(cohort, 2) + (None,)):
        with pytest.raises(ValueError, match=f"A row has {len(wrong)} values for {len(FIELDS)} fields"), \
                transaction.atomic():
            bulk.insert(Learner, FIELDS, [row(cohort, 1), wrong])
    assert not Learner.objects.exists()


def test_only_the_columns_that_need_it_are_converted():
    # Every value but the answers goes to COPY as it is; the answers are JSON text.
    cohort = make_cohort()
    rows = [row(cohort, n, answers={} if n == 1 else {"n": n}, confirmed_at=None) for n in range(3)]
    assert bulk.insert(Learner, FIELDS, rows) == 3
    assert list(Learner.objects.order_by("email").values_list("answers", "confirmed_at")) == [
        ({"n": 0}, None), ({}, None), ({"n": 2}, None)]
    assert rows[0][FIELDS.index("answers")] == {"n": 0}  # the caller's rows are left as they were


def test_rows_are_written_as_they_come_not_all_held_first(monkeypatch):
    """Each chunk is written before the next is read (SQLite; PostgreSQL streams one COPY):
    a million rows never sit in memory at once."""
    monkeypatch.setattr(bulk, "SQLITE_CHUNK", 3)
    cohort = make_cohort()
    written_before: list[int] = []

    def rows():
        for n in range(10):
            if n == 7 and connection.vendor == "sqlite":
                written_before.append(Learner.objects.count())
            yield row(cohort, n)

    assert bulk.insert(Learner, FIELDS, rows()) == 10
    assert Learner.objects.count() == 10
    assert written_before == ([6] if connection.vendor == "sqlite" else [])


@pytest.mark.django_db(transaction=True)
def test_a_call_in_chunks_writes_all_or_nothing(monkeypatch):
    """Outside a transaction, a duplicate in the last chunk leaves no row of the call (SQLite:
    the chunks are written in one transaction; PostgreSQL: one COPY); the rows written
    before the call stay."""
    monkeypatch.setattr(bulk, "SQLITE_CHUNK", 3)
    cohort = make_cohort()
    bulk.insert(Learner, FIELDS, [row(cohort, 50)])
    with pytest.raises(IntegrityError):
        bulk.insert(Learner, FIELDS, [row(cohort, n) for n in range(8)] + [row(cohort, 1)])
    assert list(Learner.objects.values_list("email", flat=True)) == ["l50@example.org"]
