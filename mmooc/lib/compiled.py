"""A queryset's SQL compiled once, then run again with other values: for the busiest paths.

    GROUP = CompiledQuery(lambda address: StudyGroup.objects.filter(address=address)[:1], "\\0address")
    group = next(iter(GROUP.objects("py-3-group-12@…")), None)       # model instances
    rows = MEMBERS.rows(group.pk)                                      # values_list() tuples

Building and compiling a queryset costs more Python than the database takes to answer it:
the relay made five such queries for every post. Here the queryset is built once per thread
with placeholder values, compiled to SQL, and later calls only swap the parameters. The rows
go through the same converters, and instances through the same population
(select_related and annotations included) as the queryset's own iteration would.

A placeholder must reach the SQL parameters unchanged (a string or an integer no real value
takes); the first compilation checks it. One compilation per thread: a compiler belongs to
its thread's database connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

M = TypeVar("M", bound=Model)


class _Compiled:
    def __init__(self, queryset: QuerySet[Any, Any], placeholders: tuple[Any, ...]) -> None:
        self.db = queryset.db
        self.model = queryset.model
        self.compiler = queryset.query.get_compiler(using=self.db)
        self.sql, params = self.compiler.as_sql()
        self.params = list(params)
        self.slots: list[list[int]] = []
        for placeholder in placeholders:
            slots = [i for i, p in enumerate(self.params) if type(p) is type(placeholder) and p == placeholder]
            if not slots:
                raise ValueError(f"the placeholder {placeholder!r} is not among the query's parameters")
            self.slots.append(slots)

    def execute(self, values: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        params = list(self.params)
        for slots, value in zip(self.slots, values, strict=True):
            for i in slots:
                params[i] = value
        with connections[self.db].cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        return list(self.compiler.results_iter([rows], tuple_expected=True))


class CompiledQuery(Generic[M]):
    """`build(*placeholders)` compiled once per thread; `rows(*values)` or `objects(*values)` run it."""

    def __init__(self, build: Callable[..., QuerySet[M, Any]], *placeholders: Any) -> None:
        self.build = build
        self.placeholders = placeholders
        self._local = threading.local()

    def _compiled(self) -> _Compiled:
        compiled = getattr(self._local, "compiled", None)
        if compiled is None or connections[compiled.db] is not compiled.compiler.connection:
            compiled = self._local.compiled = _Compiled(self.build(*self.placeholders), self.placeholders)
        return compiled

    def rows(self, *values: Any) -> list[tuple[Any, ...]]:
        """The rows, as values_list() would give them (the queryset must be a values_list())."""
        return self._compiled().execute(values)

    def objects(self, *values: Any) -> list[M]:
        """Model instances, select_related() ones attached, as iterating the queryset would give them."""
        compiled = self._compiled()
        rows = compiled.execute(values)
        compiler = compiled.compiler
        select, klass_info = compiler.select, compiler.klass_info
        assert klass_info is not None, "objects() needs a queryset of model instances"
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        init_list = [f[0].target.attname for f in select[start:end]]
        populators = get_related_populators(klass_info, select, compiled.db)  # type: ignore[call-arg]  # Django 6's stubs
        annotations = compiler.annotation_col_map or {}
        found: list[M] = []
        for row in rows:
            obj = compiled.model.from_db(compiled.db, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for name, column in annotations.items():
                setattr(obj, name, row[column])
            found.append(obj)
        return found
