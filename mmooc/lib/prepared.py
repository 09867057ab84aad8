"""Statements the busiest paths run again and again, parsed and planned once per connection.

    with prepared.cursor() as cursor:
        cursor.execute(SQL, params)     # PostgreSQL: a prepared statement of this connection
    prepared.insert(Message(...))       # obj.save() of a new object, prepared

Django's PostgreSQL cursors bind parameters on the client: every execution sends the whole
statement, values inlined, for the server to parse and plan again. For the statements the
relay and the engine run for every post and every batch, planning cost the server more than
running them (the claim: about 250 µs of the backend's CPU unprepared, 40 µs prepared). This
cursor binds on the server and prepares each statement text the first time a connection runs
it (psycopg keeps the last 100 per connection); other statements are left as they were.
Statements are told apart by their text and parameter types: build the text so that it does
not vary with the values (`= ANY(%s)` with a list, not `IN (%s, %s, …)`).

The cursor is Django's wrapper (query logging, execute wrappers, error translation), so tests
see these statements as any other. On SQLite it is the ordinary cursor: the sqlite3 module
keeps its own cache of compiled statements. A connection pooler in front of PostgreSQL must
keep a client's server connection for the session, or support prepared statements
(PgBouncer 1.21 and later, `max_prepared_statements`).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import connections
from django.db.backends.utils import CursorWrapper
from django.db.models import Model
from django.db.models.sql import InsertQuery

M = TypeVar("M", bound=Model)

# psycopg prepares on its own a statement run this many times; Django turns that off (None),
# which also refuses an explicit request. Here only the statements run through `cursor()` are.
_ONLY_WHEN_ASKED = 2**31 - 1

_classes: tuple[type, type] | None = None


def _preparing() -> tuple[type, type]:
    """A server-binding cursor that prepares every statement it runs, and a logging wrapper
    that records its statements with the values inlined, as Django's own cursors are logged
    (tests EXPLAIN them). Made once: only PostgreSQL imports its backend."""
    global _classes
    if _classes is None:
        from django.db.backends.postgresql.base import ServerBindingCursor
        from django.db.backends.utils import CursorDebugWrapper

        class Preparing(ServerBindingCursor):
            def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None,
                        binary: bool | None = None) -> Any:
                return super().execute(query, params, prepare=True, binary=binary)  # type: ignore[misc]

        class Logged(CursorDebugWrapper):
            def execute(self, sql: Any, params: Any = None) -> Any:
                with self.debug_sql(self.db.ops.compose_sql(sql, params) if params is not None else sql):
                    return CursorWrapper.execute(self, sql, params)

        _classes = Preparing, Logged
    return _classes


def cursor(using: str = "default") -> CursorWrapper:
    """A cursor whose statements are prepared (PostgreSQL), else the connection's own cursor."""
    conn = connections[using]
    if conn.vendor != "postgresql":
        return conn.cursor()
    conn.close_if_health_check_failed()
    conn.ensure_connection()
    raw = conn.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _ONLY_WHEN_ASKED
    preparing, logged = _preparing()
    conn.validate_thread_sharing()
    with conn.wrap_database_errors:
        raw_cursor = preparing(raw)
    return logged(raw_cursor, conn) if conn.queries_logged else CursorWrapper(raw_cursor, conn)


def insert(obj: M, using: str = "default") -> M:
    """`obj.save()` of a new object, as one prepared statement (PostgreSQL): for the inserts
    every post makes, whose stored message bytes cost more to send and parse as inlined text
    than the insert itself. Only for models whose save() adds nothing and with no save signal
    connected; elsewhere it is obj.save()."""
    conn = connections[using]
    if conn.vendor != "postgresql":
        obj.save(using=using)
        return obj
    meta = obj._meta
    fields = [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]
    query = InsertQuery(type(obj))
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(using=using)
    compiler.returning_fields = returning = meta.db_returning_fields
    [(sql, params)] = compiler.as_sql()
    with cursor(using) as c:
        c.execute(sql, params)
        row = c.fetchone()
    for value, field in zip(row, returning, strict=True):
        setattr(obj, field.attname, value)
    obj._state.adding, obj._state.db = False, using
    return obj
