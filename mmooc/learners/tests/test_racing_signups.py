"""Duplicate signups racing each other make one learner (PostgreSQL, real concurrency)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from mmooc.learners import registration
from mmooc.learners.models import Learner
from mmooc.learners.registration import Signup
from mmooc.testing import make_cohort

RACERS = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_makes_one_learner_from_racing_duplicates():
    cohort = make_cohort()
    barrier = threading.Barrier(RACERS)
    errors: list[BaseException] = []

    def sign_up(n: int) -> None:
        try:
            barrier.wait()
            registration.register(cohort, Signup(email="Ada@Example.org" if n % 2 else "ada@example.org",
                                                 timezone="UTC", answers={"n": n}))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Learner.objects.filter(cohort=cohort).count() == 1
