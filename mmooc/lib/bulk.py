"""Writing many rows built in plain Python: COPY on PostgreSQL, executemany on SQLite; and
reading most of a table through a cursor planned for all its rows (`read_whole`).

    written = bulk.insert(Learner, ["cohort", "email", "public_id", "answers", ...], rows)

At 100,000 rows, model instances and bulk_create cost several times the insert itself;
this skips both. Each row is a tuple of plain values in the order of `fields`: str, int,
bool, None, aware datetimes, UUIDs, and dicts or lists for JSON fields. Defaults, signals
and validation are the caller's job; database constraints still hold (a duplicate raises
IntegrityError and nothing of the call is written).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from django.db import connection, models, transaction

Convert = Callable[[Any], Any] | None

SQLITE_CHUNK = 10_000  # rows per executemany on SQLite


def insert(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert `rows` (one value per field, in order) into the model's table; returns the count."""
    columns = [_field(model, name) for name in fields]
    converters = [_converter(field) for field in columns]
    names = ", ".join(connection.ops.quote_name(str(field.column)) for field in columns)
    table = connection.ops.quote_name(model._meta.db_table)
    converted = _converted(rows, converters)
    count = 0
    if connection.vendor == "postgresql":
        # One COPY: all or nothing by itself. The driver's own cursor: its errors are turned
        # into Django's (IntegrityError…) here.
        with connection.cursor() as cursor, connection.wrap_database_errors, \
                cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in converted:
                copy.write_row(row)
                count += 1
        return count
    # SQLite: an executemany per SQLITE_CHUNK rows, so that a million learners are not held in
    # memory at once, all in one transaction (a savepoint inside the caller's): all or nothing.
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
    rows_left = iter(converted)
    with transaction.atomic(), connection.cursor() as cursor:
        while values := list(islice(rows_left, SQLITE_CHUNK)):
            cursor.executemany(sql, values)
            count += len(values)
    return count


# COPY text handed to the server per write: large enough that writes cost little, small enough
# that the text built for them stays a few megabytes.
COPY_WRITE = 1 << 20


def copy_text_into(table: str, columns: Sequence[str], pieces: Iterable[str]) -> None:
    """PostgreSQL: COPY rows the caller wrote in COPY's text format (tab between columns, a
    newline after each row, `\\N` for NULL, values escaped) into `table`'s `columns`, in
    `pieces` of whole rows. For rows so alike that building their text in one join costs far
    less than writing each row."""
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    with connection.cursor() as cursor, connection.wrap_database_errors, \
            cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({names}) FROM STDIN") as copy:
        buffered: list[str] = []
        size = 0
        for piece in pieces:
            buffered.append(piece)
            size += len(piece)
            if size >= COPY_WRITE:
                copy.write("".join(buffered))
                buffered, size = [], 0
        if buffered:
            copy.write("".join(buffered))


def read_whole(rows: Iterable[Any]) -> Iterator[Any]:
    """The rows of a query that reads most of its table, e.g. `qs.iterator(chunk_size=…)`,
    planned for reading them all.

    PostgreSQL plans a server-side cursor for its first rows (`cursor_tuple_fraction`). Once
    the table has statistics, a million learners asked for in the order of their public ids
    are then read through that index: each row from a random place of the table, 3.5–3.9 s
    through the cursor against 1.75 s to read the table in its order and sort the rows
    (bench/README.md). Here index scans are off while the cursor is planned (its first rows
    read) and as they were after; a selective filter is still served by an index through a
    bitmap scan."""
    if connection.vendor != "postgresql":
        yield from rows
        return
    local = connection.in_atomic_block  # outside a transaction the setting is the session's until put back
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_indexscan'), set_config('enable_indexscan', 'off', %s)",
                       [local])
        was = cursor.fetchone()[0]
    found = iter(rows)
    try:
        first = next(found, _END)  # the query is planned and its cursor opened
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('enable_indexscan', %s, %s)", [was, local])
    if first is _END:
        return
    yield first
    yield from found


_END = object()


def _converted(rows: Iterable[Sequence[Any]], converters: list[Convert]) -> Iterable[Sequence[Any]]:
    """The rows with the values of the columns that need it converted (None stays None).

    Only those columns are visited: on PostgreSQL a learner's row has one (its answers, as
    JSON) of eighteen, and a pass over every value cost as much as COPY's own formatting."""
    todo = [(i, convert) for i, convert in enumerate(converters) if convert is not None]
    if not todo:
        return rows
    width = len(converters)

    def converted(row: Sequence[Any]) -> Sequence[Any]:
        if len(row) != width:
            raise ValueError(f"A row has {len(row)} values for {width} fields")
        values = list(row)
        for i, convert in todo:
            if values[i] is not None:
                values[i] = convert(values[i])
        return values

    return map(converted, rows)


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field), f"{name} is a relation's other side, not a column"
    return field


def _converter(field: models.Field[Any, Any]) -> Convert:
    if isinstance(field, models.JSONField):
        return json.dumps
    if isinstance(field, models.ForeignKey):
        return None
    if connection.vendor == "postgresql":
        return None  # COPY takes UUIDs, datetimes and booleans as they are
    if isinstance(field, models.UUIDField):
        return lambda value: value.hex
    if isinstance(field, models.DateTimeField):
        return _repeating(connection.ops.adapt_datetimefield_value)
    return None


def _repeating(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`convert`, done once for a value repeated row after row (a batch's one timestamp)."""
    last: list[Any] = [object(), None]

    def converted(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, convert(value)
        return last[1]

    return converted
