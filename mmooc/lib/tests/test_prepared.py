"""mmooc.lib.prepared: statements prepared once per connection, logged as any other."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mmooc.lib import prepared

pytestmark = pytest.mark.django_db


def test_a_statement_runs_and_is_logged_with_its_values():
    with CaptureQueriesContext(connection) as queries, prepared.cursor() as cursor:
        cursor.execute("SELECT %s + 1, %s", [41, "it's"])
        assert tuple(cursor.fetchone()) == (42, "it's")
    assert "41" in queries[-1]["sql"] and "it''s" in queries[-1]["sql"]


@pytest.mark.postgres
def test_on_postgresql_the_statement_is_prepared_once_and_others_are_not():
    sql = "SELECT count(*) FROM pg_class WHERE oid = ANY(%s::oid[])"
    for ids in ([1], [1, 2, 3]):
        with prepared.cursor() as cursor:
            cursor.execute(sql, [ids])
    with connection.cursor() as cursor:
        cursor.execute("SELECT 7 AS not_prepared")
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert len([s for s in statements if "pg_class" in s]) == 1
    assert not any("not_prepared" in s for s in statements)
