"""Generated demo learners: every chunk written, the same learners for the same seed."""

from __future__ import annotations

import pytest

from mmooc.learners.models import Learner
from mmooc.site.demo_data import generate_learners

pytestmark = pytest.mark.django_db


def _rows(cohort):
    return list(cohort.learners.order_by("email").values_list("email", "name", "timezone", "language", "answers"))


def test_every_chunk_is_written_and_progress_counts_them(cohort):
    seen = []
    assert generate_learners(cohort, 20, chunk=7, progress=seen.append) == 20
    assert cohort.learners.count() == 20
    assert seen == [7, 14, 20]
    assert len({learner.email for learner in Learner.objects.all()}) == 20


def test_a_seed_gives_the_same_learners_whatever_the_chunk(cohort):
    # Chunks are drawn in a helper thread while the one before is written: one after another.
    generate_learners(cohort, 25, chunk=4, seed=7)
    first = _rows(cohort)
    cohort.learners.all().delete()
    generate_learners(cohort, 25, chunk=10, seed=7)
    assert _rows(cohort) == first


def test_no_learners_still_reports_progress(cohort):
    seen = []
    assert generate_learners(cohort, 0, progress=seen.append) == 0
    assert seen == [0]
