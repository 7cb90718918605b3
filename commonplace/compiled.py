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

import hashlib
import re
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import UpdateQuery


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


# On PostgreSQL each compiled statement is also PREPAREd, once per database session, so the
# server plans it once too: the access check's plan cost 0.3 ms of its 0.7 (bench/README.md).
# The PREPARE goes straight to the driver, outside Django's query log and counts: it happens
# once per connection, whichever request comes first, and would make pinned counts depend on
# the order tests run in. Behind a pooler that shares server sessions between transactions
# (PgBouncer's transaction mode), set DATABASE_PREPARED_STATEMENTS=false.
_PREPARED: "weakref.WeakKeyDictionary[object, set[str]]" = weakref.WeakKeyDictionary()
_PLACEHOLDER = re.compile(r"%([s%])")


def _prepared_form(
    sql: str, params: list, variable: list[int], table: str, literal: Callable[[object], str]
) -> tuple[str, str, str]:
    """(the statement's name, its PREPARE, its EXECUTE with a %s for each value given per call).
    Only the values given per call (at positions `variable` of `params`) become parameters; the
    queryset's own constants are written into the statement as the driver quotes them, so the
    planner still sees them (a partial index on `visibility = 'private'` is only used when the
    plan knows that value). The name starts with the table the statement reads, so a query log
    still says what it touched."""
    pieces = _PLACEHOLDER.split(sql)  # text, "s" or "%", text, ...
    body, position, number = [pieces[0]], 0, 0
    for kind, text in zip(pieces[1::2], pieces[2::2], strict=True):
        if kind == "%":
            body.append("%")
        else:
            if position >= len(params):
                raise ImproperlyConfigured("Compiled SQL: more placeholders than parameters")
            if position in variable:
                number += 1
                body.append(f"${number}")
            else:
                body.append(literal(params[position]))
            position += 1
        body.append(text)
    if position != len(params):
        raise ImproperlyConfigured(
            f"Compiled SQL: {len(params)} parameters, {position} placeholders"
        )
    body = "".join(body)
    label = re.sub(r"[^a-z0-9_]", "", table.lower())[:40]  # a name is at most 63 bytes
    name = f"cp_{label}_{hashlib.sha256(body.encode()).hexdigest()[:16]}"
    _TEXT_OF[name] = body
    arguments = f"({', '.join(['%s'] * number)})" if number else ""
    return name, f"PREPARE {name} AS {body}", f"EXECUTE {name}{arguments}"


_TEXT_OF: dict[str, str] = {}  # statement name -> its SQL, for query logs


def readable(sql: str) -> str:
    """A logged `EXECUTE cp_...(...)` as the statement it runs ($1, $2... for the values given
    per call); any other SQL as it is."""
    match = re.match(r"EXECUTE (cp_\w+)", sql)
    return _TEXT_OF.get(match.group(1), sql) if match else sql


def _prepare(connection, name: str, prepare: str) -> None:
    raw = connection.connection  # Django's cursor() has connected it
    done = _PREPARED.setdefault(raw, set())
    if name in done:
        return
    with connection.wrap_database_errors, raw.cursor() as cursor:
        cursor.execute(prepare)
    done.add(name)


class _Compiled:
    """What both kinds share: the stand-ins, the SQL made once per database, the call."""

    def __init__(self, build: Callable, **kinds: type):
        unknown = [name for name, kind in kinds.items() if kind not in KINDS]
        if unknown:
            raise ImproperlyConfigured(f"Compiled SQL takes int, str or datetime values: {unknown}")
        self.build = build
        self.kinds = kinds
        self._compiled: dict[str, tuple] = {}

    def _sql(self, markers: dict, using: str) -> tuple[str, list, object]:
        raise NotImplementedError

    def _compile(self, using: str) -> tuple:
        connection = connections[using]
        markers = {name: KINDS[kind][0](n) for n, (name, kind) in enumerate(self.kinds.items())}
        sql, params, extra = self._sql(markers, using)
        params = list(params)
        slots = []
        for name, marker in markers.items():
            given = KINDS[self.kinds[name]][1](marker, connection)
            found = [i for i, p in enumerate(params) if type(p) is type(given) and p == given]
            if len(found) != 1:
                raise ImproperlyConfigured(
                    f"Compiled SQL: {name!r} must appear once as a parameter of {self.build!r}, "
                    f"found {len(found)} times"
                )
            slots.append((found[0], name))
        prepared = None
        if connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS:
            connection.ensure_connection()
            raw = connection.connection

            def literal(value) -> str:
                with connection.wrap_database_errors, raw.cursor() as cursor:
                    return cursor.mogrify("%s", [value]).decode()

            variable = sorted(index for index, _ in slots)
            prepared = (*_prepared_form(sql, params, variable, extra[-1], literal), variable)
        compiled = (sql, params, slots, extra, prepared)
        self._compiled[using] = compiled
        return compiled

    def _execute(self, cursor, using: str, values: dict):
        if values.keys() != self.kinds.keys():
            raise TypeError(f"{self.build!r} takes {sorted(self.kinds)}, given {sorted(values)}")
        sql, params, slots, extra, prepared = self._compiled.get(using) or self._compile(using)
        connection = connections[using]
        params = list(params)
        for index, name in slots:
            params[index] = KINDS[self.kinds[name]][1](values[name], connection)
        if prepared is None:
            cursor.execute(sql, params)
        else:
            name, prepare, execute, variable = prepared
            _prepare(connection, name, prepare)
            cursor.execute(execute, [params[index] for index in variable])
        return extra


class CompiledQuery(_Compiled):
    """`CompiledQuery(build, user_id=int, slug=str)`: `build(user_id=..., slug=...)` returns a
    `values_list()` queryset; `.rows(user_id=3, slug="x")` runs its SQL with those values and
    returns its rows as that queryset would have."""

    def _sql(self, markers, using):
        compiler = self.build(**markers).query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        fields = [column[0] for column in compiler.select[: compiler.col_count]]
        return (
            sql,
            params,
            (compiler, compiler.get_converters(fields), compiler.query.model._meta.db_table),
        )

    def rows(self, using: str = DEFAULT_DB_ALIAS, **values) -> list[tuple]:
        with connections[using].cursor() as cursor:
            compiler, converters, _ = self._execute(cursor, using, values)
            fetched = cursor.fetchall()
        if not converters:
            return fetched
        return [tuple(row) for row in compiler.apply_converters(fetched, converters)]

    def first(self, using: str = DEFAULT_DB_ALIAS, **values) -> tuple | None:
        found = self.rows(using, **values)
        return found[0] if found else None


class CompiledUpdate(_Compiled):
    """`CompiledUpdate(build, group_id=int)`: `build(group_id=...)` returns (a queryset, the
    values to set, as for `update()`); `.run(group_id=3)` updates and returns the row count."""

    def _sql(self, markers, using):
        queryset, changes = self.build(**markers)
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(changes)
        query.clear_select_clause()
        sql, params = query.get_compiler(using=using).as_sql()
        return sql, params, (query.model._meta.db_table,)

    def run(self, using: str = DEFAULT_DB_ALIAS, **values) -> int:
        with (
            transaction.mark_for_rollback_on_error(using=using),
            connections[using].cursor() as cursor,
        ):
            self._execute(cursor, using, values)
            return cursor.rowcount


class CompiledInsert:
    """`CompiledInsert(Model)`: `.run(obj)` inserts the new instance `obj` as `obj.save()` would
    (each field's pre_save, so auto_now stamps, and its database form; the primary key read
    back with RETURNING; `obj._state` as after a save), with the INSERT written once per
    database and, on PostgreSQL, PREPAREd once per session. Django's save() spent more time
    building its INSERT than PostgreSQL took to run it (bench/README.md, "API create").

    A model with pre_save or post_save receivers is saved by save() instead, so nothing that
    listens is passed by; so is an instance whose primary key is already set, and any on a
    database that cannot return it from the INSERT."""

    def __init__(self, model: type[Model]):
        self.model = model
        self._compiled: dict[str, tuple] = {}

    def _compile(self, using: str) -> tuple:
        connection = connections[using]
        meta = self.model._meta
        fields = [field for field in meta.local_concrete_fields if field is not meta.pk]
        if meta.parents or any(field.generated or field.db_returning for field in fields):
            raise ImproperlyConfigured(f"{self!r}: an inherited model, or columns made in SQL")
        quote = connection.ops.quote_name
        returning, _ = connection.ops.return_insert_columns([meta.pk])
        names = ", ".join(quote(field.column) for field in fields)
        values = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES ({values}) {returning}"
        prepared = None
        if connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS:
            every = range(len(fields))  # every value is given per call: no constants to write in
            prepared = _prepared_form(sql, list(every), every, meta.db_table, literal=repr)
        compiled = (fields, sql, prepared)
        self._compiled[using] = compiled
        return compiled

    def run(self, obj: Model, using: str = DEFAULT_DB_ALIAS) -> Model:
        if not isinstance(obj, self.model):
            raise TypeError(f"{self!r} inserts {self.model.__name__}, given {type(obj).__name__}")
        if (
            obj.pk is not None
            or not connections[using].features.can_return_columns_from_insert
            or pre_save.has_listeners(self.model)
            or post_save.has_listeners(self.model)
        ):
            obj.save(using=using)
            return obj
        obj._prepare_related_fields_for_save(operation_name="save")
        connection = connections[using]
        fields, sql, prepared = self._compiled.get(using) or self._compile(using)
        params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]
        with (
            transaction.mark_for_rollback_on_error(using=using),
            connection.cursor() as cursor,
        ):
            if prepared is None:
                cursor.execute(sql, params)
            else:
                name, prepare, execute = prepared
                _prepare(connection, name, prepare)
                cursor.execute(execute, params)
            (pk,) = cursor.fetchone()
        obj.pk = self.model._meta.pk.to_python(pk)
        obj._state.adding = False
        obj._state.db = using
        return obj

    def __repr__(self) -> str:
        return f"CompiledInsert({self.model.__name__})"


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
