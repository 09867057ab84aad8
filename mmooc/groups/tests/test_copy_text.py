"""lib.bulk.copy_text_into, as the grouping writes its memberships: COPY text written in pieces."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mmooc.groups.models import Membership
from mmooc.lib import bulk

pytestmark = pytest.mark.django_db


@pytest.mark.postgres
def test_copy_text_writes_rows_given_as_copy_text_in_pieces(monkeypatch):
    monkeypatch.setattr(bulk, "COPY_WRITE", 10)  # several writes
    columns = ("group_id", "learner_id", "joined_at", "left_at", "muted", "delivery")
    pieces = [f"7\t{n}\t2026-03-01T12:30:0{n}+00:00\t\\N\tf\tea\\\\c\\th\n" for n in range(1, 4)]
    bulk.copy_text_into(Membership._meta.db_table, columns, pieces)
    rows = list(Membership.objects.order_by("learner_id").values_list("group_id", "learner_id", "joined_at", "left_at",
                                                                       "muted", "delivery"))
    assert rows == [(7, n, datetime(2026, 3, 1, 12, 30, n, tzinfo=UTC), None, False, "ea\\c\th") for n in range(1, 4)]
