"""Hot-path lookups whose SQL is compiled once per process instead of at every request.

Django compiles a queryset to SQL each time it is evaluated. For the token lookups of userinfo,
introspection and refresh (one indexed row plus its application, user, profile, subject and
username override, via ``select_related``) compiling costs about 1.2 ms of CPU, several times what
PostgreSQL needs to answer (measured: docs/performance.md). A ``PreparedQuery`` asks Django to
compile its queryset once per database alias, with sentinel values where the parameters go, and
then only binds the parameters, runs the SQL and builds the model instances the way Django's own
``ModelIterable`` does (``Model.from_db``, the ``select_related`` populators and the field
converters), so the objects it returns are the ones the ORM would have returned.

The SQL text comes from Django's compiler, never from a string written here: a schema change or a
new database backend changes it the same way it changes the ORM's. ``tests/oidc/test_prepared.py``
holds every prepared query to the plain queryset's answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[int, ...]  # where each argument goes in params
    model: type[Model]
    init_list: list[str]
    model_slice: slice
    populators: list[Any]
    converters: list[tuple[int, tuple[list[Callable[..., Any]], Any]]]


def _related_populators(queryset: QuerySet[Any], klass_info: Any, select: Any, alias: str) -> list[Any]:
    # Django 6 adds the queryset's fetch mode as a fourth argument.
    fetch_mode = getattr(queryset, "_fetch_mode", None)
    extra = () if fetch_mode is None else (fetch_mode,)
    return get_related_populators(klass_info, select, alias, *extra)  # type: ignore[call-arg,no-any-return]


class PreparedQuery(Generic[M]):
    """``build(*values)`` returns the queryset; ``samples`` are sentinel values, one per argument,
    distinct from each other and from any other parameter of the query."""

    def __init__(self, build: Callable[..., QuerySet[M]], samples: Sequence[object]) -> None:
        self._build = build
        self._samples = tuple(samples)
        self._compiled: dict[str, _Compiled] = {}
        self._model: type[M] | None = None
        self._lock = threading.Lock()

    def queryset(self, *values: object) -> QuerySet[M]:
        """The plain queryset (what ``first`` answers, evaluated by the ORM)."""
        return self._build(*values)

    def first(self, *values: object) -> M | None:
        """The first row as a model instance (with its ``select_related`` objects), or None."""
        rows = self._run(values, many=False)
        return rows[0] if rows else None

    def all(self, *values: object) -> list[M]:
        """Every row, as model instances."""
        return self._run(values, many=True)

    def _run(self, values: tuple[object, ...], *, many: bool) -> list[M]:
        if self._model is None:
            self._model = self._build(*self._samples).model
        alias = router.db_for_read(self._model)
        compiled = self._compiled.get(alias) or self._compile(alias)
        params = list(compiled.params)
        for slot, value in zip(compiled.slots, values, strict=True):
            params[slot] = value
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            if many:
                fetched = cursor.fetchall()
            else:
                one = cursor.fetchone()
                fetched = [one] if one is not None else []
        instances = []
        for fetched_row in fetched:
            row = list(fetched_row)
            for position, (functions, expression) in compiled.converters:
                value = row[position]
                for convert in functions:
                    value = convert(value, expression, connection)
                row[position] = value
            instance = compiled.model.from_db(alias, compiled.init_list, row[compiled.model_slice])
            for populator in compiled.populators:
                populator.populate(row, instance)
            instances.append(instance)
        return instances  # type: ignore[return-value]

    def _compile(self, alias: str) -> _Compiled:
        with self._lock:
            if alias in self._compiled:
                return self._compiled[alias]
            queryset = self._build(*self._samples)
            compiler = queryset.query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            params = tuple(params)
            slots = []
            for sample in self._samples:
                found = [i for i, p in enumerate(params) if p == sample]
                if len(found) != 1:
                    raise ValueError(
                        f"sentinel {sample!r} must appear exactly once in the query's parameters"
                    )
                slots.append(found[0])
            klass_info = compiler.klass_info
            assert klass_info is not None
            select = compiler.select
            fields = klass_info["select_fields"]
            model_slice = slice(fields[0], fields[-1] + 1)
            converters = compiler.get_converters([s[0] for s in select[: compiler.col_count]])
            compiled = _Compiled(
                sql=sql,
                params=params,
                slots=tuple(slots),
                model=klass_info["model"],
                init_list=[f[0].target.attname for f in select[model_slice]],
                model_slice=model_slice,
                populators=_related_populators(queryset, klass_info, select, alias),
                converters=list(converters.items()),
            )
            self._compiled[alias] = compiled
            return compiled
