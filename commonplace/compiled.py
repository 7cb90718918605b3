"""Querysets compiled to SQL once per process, then run with each request's values.

Django compiles a queryset to SQL every time it is evaluated. For the lookups every request
makes first (its session, its user, its API token, the group reading with the person's
membership) that costs several times what the database takes to answer: the access check's
four-table join spent 2–3 ms in the ORM for 0.3 ms in PostgreSQL (bench/README.md, "API near
the floor"). A `CompiledQuery` builds its queryset once, with stand-in values, keeps the SQL
and Django's compiler for it, and each call runs that SQL with the call's own values; the rows
come back through the compiler's converters, as a `values_list()` query's would.

What it accepts is deliberately narrow, and checked when the SQL is first made: each named
value must be an exact-match parameter (int, str or datetime) that appears exactly once among
the compiled parameters, so a value can never be folded into the SQL text or transformed on the
way. Anything else raises ImproperlyConfigured at the first call (and so in the tests).
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet


def _int_marker(n: int) -> int:
    return -(7_346_000_000_000_000 + n)


def _str_marker(n: int) -> str:
    return f"\ue000compiled-parameter-{n}\ue000"


def _datetime_marker(n: int) -> datetime:
    return datetime(1903, 2, 3, 4, 5, 6, tzinfo=UTC) + timedelta(microseconds=n + 1)


# kind -> (the stand-in for the n-th value, the value as the database driver is given it)
KINDS: dict[type, tuple[Callable[[int], object], Callable[[object, object], object]]] = {
    int: (_int_marker, lambda value, connection: int(value)),
    str: (_str_marker, lambda value, connection: str(value)),
    datetime: (
        _datetime_marker,
        lambda value, connection: connection.ops.adapt_datetimefield_value(value),
    ),
}


class CompiledQuery:
    """`CompiledQuery(build, user_id=int, slug=str)`: `build(user_id=..., slug=...)` returns a
    `values_list()` queryset; `.rows(user_id=3, slug="x")` runs its SQL with those values."""

    def __init__(self, build: Callable[..., QuerySet], **kinds: type):
        unknown = [name for name, kind in kinds.items() if kind not in KINDS]
        if unknown:
            raise ImproperlyConfigured(
                f"CompiledQuery values must be int, str or datetime: {unknown}"
            )
        self.build = build
        self.kinds = kinds
        self._compiled: dict[str, tuple] = {}

    def _compile(self, using: str) -> tuple:
        connection = connections[using]
        markers = {name: KINDS[kind][0](n) for n, (name, kind) in enumerate(self.kinds.items())}
        queryset = self.build(**markers)
        compiler = queryset.query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        params = list(params)
        slots = []
        for name, marker in markers.items():
            given = KINDS[self.kinds[name]][1](marker, connection)
            found = [i for i, p in enumerate(params) if type(p) is type(given) and p == given]
            if len(found) != 1:
                raise ImproperlyConfigured(
                    f"CompiledQuery: {name!r} must appear once as a parameter of {self.build!r}, "
                    f"found {len(found)} times"
                )
            slots.append((found[0], name))
        compiled = (sql, params, slots, compiler)
        self._compiled[using] = compiled
        return compiled

    def rows(self, using: str = DEFAULT_DB_ALIAS, **values) -> list[tuple]:
        if values.keys() != self.kinds.keys():
            raise TypeError(f"CompiledQuery takes {sorted(self.kinds)}, given {sorted(values)}")
        sql, params, slots, compiler = self._compiled.get(using) or self._compile(using)
        connection = connections[using]
        params = list(params)
        for index, name in slots:
            params[index] = KINDS[self.kinds[name]][1](values[name], connection)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
        return list(compiler.results_iter([fetched], tuple_expected=True))

    def first(self, using: str = DEFAULT_DB_ALIAS, **values) -> tuple | None:
        found = self.rows(using, **values)
        return found[0] if found else None


def columns(model: type[Model], path: str = "") -> list[str]:
    """The lookups of every column of `model`, reached through `path` ("group__"), in the order
    `instance()` reads them back."""
    return [path + field.attname for field in model._meta.concrete_fields]


def instance(model: type[Model], row: tuple, start: int = 0, using: str = DEFAULT_DB_ALIAS):
    """(the model instance made from row[start:], the index after its columns), as Django would
    have made it from a full SELECT of its table."""
    names = [field.attname for field in model._meta.concrete_fields]
    end = start + len(names)
    return model.from_db(using, names, row[start:end]), end
