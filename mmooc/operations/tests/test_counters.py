from __future__ import annotations

import pytest
from django.db import transaction

from mmooc.operations import counters
from mmooc.operations.models import Counter

pytestmark = pytest.mark.django_db


def test_additions_add_up_across_shards():
    for _ in range(40):
        counters.add("signups", label="form")
    counters.add_many({("signups", "api"): 3, ("confirmations", ""): 2})
    assert counters.totals() == {("signups", "form"): 40, ("signups", "api"): 3, ("confirmations", ""): 2}
    assert Counter.objects.filter(name="signups", label="form").count() <= counters.SHARDS


def test_an_addition_rolled_back_with_its_event_is_not_counted():
    counters.add("posts", label="relayed")
    with pytest.raises(RuntimeError), transaction.atomic():
        counters.add("posts", label="relayed")
        raise RuntimeError("the post was not stored")
    assert counters.totals() == {("posts", "relayed"): 1}


def test_adding_nothing_writes_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        counters.add_many({("deliveries", "sent"): 0})
    assert not Counter.objects.exists()
