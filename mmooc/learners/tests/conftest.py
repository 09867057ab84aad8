from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate limits live in the cache: each test starts with none."""
    from mmooc.learners import views

    cache.clear()
    views._COHORT_CACHE.clear()
    yield
    cache.clear()
    views._COHORT_CACHE.clear()
