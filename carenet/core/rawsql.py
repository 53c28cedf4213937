"""Hand-written SQL for the few hot paths where building a query through the ORM costs more than running it.

On this project's 2-core machine one ORM query costs about 0.7 ms of Python to build and compile, the same
SELECT through a cursor 0.06 ms; a visit posted from a phone used to make a dozen. The helpers here keep
such SQL honest: column lists come from the models (`Columns`, `Layout`, the statement builders), values go
through each field's own conversion to and from the database (so SQLite and PostgreSQL store and read exactly
what the ORM would), and the SQL text is built once per process. Jurisdiction in hand-written SQL comes from
`jurisdiction.scope_sql`, never from a condition written at the call site.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from itertools import accumulate
from typing import Any, TypeVar

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

M = TypeVar("M", bound=models.Model)

Converter = Callable[[Any, Any, Any], Any]


def _db() -> BaseDatabaseWrapper:
    """This thread's connection itself. `django.db.connection` is a proxy that looks the connection up again
    on every attribute (an asyncio-aware thread-local: ~3 µs each); the field conversions of one visit touch it
    some fifty times."""
    return connections[DEFAULT_DB_ALIAS]


@contextmanager
def cursor() -> Iterator[Any]:
    """A cursor for hand-written SQL (placeholders `%s`). On PostgreSQL a psycopg RawCursor on Django's
    connection (same transaction): parameters travel apart from the text (server-side binding), the text is
    turned into `$1, $2 …` once per process instead of being parsed by psycopg on every call (which it
    does not cache for statements of more than 50 parameters, like a visit's), and each statement is
    prepared once per connection (settings.DB_PREPARED_STATEMENTS). Errors are Django's (IntegrityError
    and so on), and statements are logged where Django logs queries (tests count them)."""
    db = _db()
    if db.vendor != "postgresql":
        with db.cursor() as django_cursor:
            yield django_cursor
        return
    db.ensure_connection()
    db.validate_no_broken_transaction()
    with db.wrap_database_errors, psycopg.RawCursor(db.connection) as raw:
        yield _PgCursor(raw, db)


@lru_cache(maxsize=1024)
def _numbered(sql: str) -> str:
    """`%s` placeholders as PostgreSQL's `$1, $2 …` (hand-written SQL has no other `%`)."""
    pieces = sql.split("%s")
    return pieces[0] + "".join(f"${number}{piece}" for number, piece in enumerate(pieces[1:], 1))


class _PgCursor:
    def __init__(self, raw: Any, db: BaseDatabaseWrapper) -> None:
        self._raw = raw
        self._db = db

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        prepare = settings.DB_PREPARED_STATEMENTS or None
        if not self._db.queries_logged:
            return self._raw.execute(_numbered(sql), params, prepare=prepare)
        start = time.monotonic()
        try:
            return self._raw.execute(_numbered(sql), params, prepare=prepare)
        finally:
            self._db.queries_log.append({"sql": sql, "time": f"{time.monotonic() - start:.3f}"})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def quote(name: str) -> str:
    return _db().ops.quote_name(name)


class Columns:
    """Some fields of one model, as a SELECT list under an alias (in the order given) and back as values
    or (deferred) model instances."""

    def __init__(self, model: type[M], names: Sequence[str], alias: str) -> None:
        self.model = model
        self.fields = [model._meta.get_field(name) for name in names]  # the SELECT list, in this order
        position = {f.attname: i for i, f in enumerate(model._meta.concrete_fields)}
        # Model.from_db reads a partial row in the model's own field order.
        self._order = sorted(range(len(self.fields)), key=lambda i: position[self.fields[i].attname])  # type: ignore[union-attr]
        self._attnames = [self.fields[i].attname for i in self._order]  # type: ignore[union-attr]
        self.alias = alias

    @cached_property
    def sql(self) -> str:
        return ", ".join(f"{self.alias}.{quote(f.column)}" for f in self.fields)  # type: ignore[union-attr]

    def values(self, row: Sequence[Any]) -> list[Any]:
        """A row's values as the ORM would read them (dates, booleans and UUIDs from SQLite's text)."""
        out = list(row[: len(self.fields)])
        db = _db()
        for index, col, converters in _converters(self, db.vendor):
            value = out[index]
            for convert in converters:
                value = convert(value, col, db)
            out[index] = value
        return out

    def load(self, row: Sequence[Any]) -> Any:
        """A model instance from a row whose first columns are these (the other fields stay deferred)."""
        values = self.values(row)
        return self.model.from_db(DEFAULT_DB_ALIAS, self._attnames, [values[i] for i in self._order])


class Layout:
    """Several Columns side by side in one SELECT list: the list's text, and a row cut back into each one's
    part (and whatever the query selects after them), so callers never count offsets."""

    def __init__(self, *parts: Columns) -> None:
        self.sql = ", ".join(part.sql for part in parts)
        ends = list(accumulate(len(part.fields) for part in parts))
        self._bounds = list(zip([0, *ends[:-1]], ends, strict=True))
        self._end = ends[-1]

    def split(self, row: Sequence[Any]) -> list[Sequence[Any]]:
        """The row's slice for each part, in order, then the rest of the row."""
        return [row[start:end] for start, end in self._bounds] + [row[self._end :]]


@cache
def _converters(columns: Columns, vendor: str) -> list[tuple[int, Any, list[Converter]]]:
    out = []
    for index, field in enumerate(columns.fields):
        col = field.get_col(columns.alias)  # type: ignore[union-attr]
        db = _db()
        found = db.ops.get_db_converters(col) + field.get_db_converters(db)  # type: ignore[union-attr]
        if found:
            out.append((index, col, found))
    return out


@dataclass(frozen=True)
class Statement:
    sql: str
    params: list[Any]


NEW_ID = object()  # a parameter standing for the primary key of the row insert_with() creates


@cache
def _insert_sql(model: type[models.Model], names: tuple[str, ...], vendor: str) -> str:
    meta = model._meta
    columns = ", ".join(quote(meta.get_field(n).column) for n in names)  # type: ignore[union-attr]
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(names))})"


@cache
def _update_sql(model: type[models.Model], names: tuple[str, ...], vendor: str) -> str:
    meta = model._meta
    sets = ", ".join(f"{quote(meta.get_field(n).column)} = %s" for n in names)  # type: ignore[union-attr]
    return f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {quote(meta.pk.column)} = %s"


def _prepared(model: type[models.Model], values: dict[str, Any]) -> list[Any]:
    get_field, db = model._meta.get_field, _db()
    return [
        v if v is NEW_ID else get_field(n).get_db_prep_save(v, db)  # type: ignore[union-attr]
        for n, v in values.items()
    ]


def values_of(row: models.Model, *, add: bool = True) -> dict[str, Any]:
    """Every column of an instance but its primary key, defaults included: what save() would write for an
    INSERT (`add`) or an UPDATE, each field's pre_save applied (auto_now and auto_now_add set the time on the
    instance as well)."""
    return {f.name: f.pre_save(row, add) for f in row._meta.concrete_fields if not f.primary_key}


def insert_statement(model: type[models.Model], values: dict[str, Any]) -> Statement:
    """INSERT of one row (keys are field names), each value prepared by its field as the ORM would save it."""
    return Statement(_insert_sql(model, tuple(values), _db().vendor), _prepared(model, values))


def update_statement(model: type[models.Model], pk: Any, values: dict[str, Any]) -> Statement:
    """UPDATE of one row by primary key."""
    params, db = _prepared(model, values), _db()
    params.append(model._meta.pk.get_db_prep_value(pk, db))
    return Statement(_update_sql(model, tuple(values), db.vendor), params)


def delete_statement(model: type[models.Model], pk: Any) -> Statement:
    meta = model._meta
    return Statement(
        f"DELETE FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s",
        [meta.pk.get_db_prep_value(pk, _db())],
    )


def execute(statement: Statement) -> int:
    """Run one statement; the number of rows it changed."""
    with cursor() as cur:
        cur.execute(statement.sql, statement.params)
        return int(cur.rowcount)


def insert(model: type[models.Model], values: dict[str, Any]) -> int:
    """INSERT one row; its new primary key."""
    return insert_with(model, values, [])


def _bind_new(statement: Statement, expression: str | None, pk: int | None) -> Statement:
    """`statement` with each NEW_ID parameter replaced: by an SQL expression in the text, or by `pk`."""
    if not any(p is NEW_ID for p in statement.params):
        return statement
    if expression is None:
        return Statement(statement.sql, [pk if p is NEW_ID else p for p in statement.params])
    pieces = statement.sql.split("%s")
    assert len(pieces) == len(statement.params) + 1, "a literal %s in hand-written SQL"
    sql, params = pieces[0], []
    for value, piece in zip(statement.params, pieces[1:], strict=True):
        sql += (expression if value is NEW_ID else "%s") + piece
        if value is not NEW_ID:
            params.append(value)
    return Statement(sql, params)


def insert_instance(row: M, then: Sequence[Statement] = ()) -> M:
    """INSERT an unsaved instance as save() would (values_of), with `then` (insert_with), and mark it saved."""
    row.pk = insert_with(type(row), values_of(row), list(then))
    row._state.adding, row._state.db = False, DEFAULT_DB_ALIAS
    return row


def insert_with(model: type[models.Model], values: dict[str, Any], then: list[Statement]) -> int:
    """INSERT one row, then `then` (statements that may use NEW_ID, the new row's primary key), all or
    nothing; returns the new primary key.

    On PostgreSQL it is one statement of data-modifying CTEs: one round trip, atomic on its own (and part
    of the caller's transaction when there is one), instead of BEGIN, a statement each and COMMIT.
    Elsewhere the statements run one after another in a transaction."""
    first = insert_statement(model, values)
    pk_column = quote(model._meta.pk.column)
    if _db().vendor == "postgresql":
        parts, params = [f"new_row AS ({first.sql} RETURNING {pk_column})"], list(first.params)
        for number, statement in enumerate(then):
            bound = _bind_new(statement, f"(SELECT {pk_column} FROM new_row)", None)
            parts.append(f"then_{number} AS ({bound.sql})")
            params += bound.params
        with cursor() as cur:
            cur.execute(f"WITH {', '.join(parts)} SELECT {pk_column} FROM new_row", params)
            return int(cur.fetchone()[0])
    with transaction.atomic() if then else nullcontext():  # one statement is atomic by itself
        with cursor() as cur:
            cur.execute(f"{first.sql} RETURNING {pk_column}", first.params)
            pk = int(cur.fetchone()[0])
        for statement in then:
            execute(_bind_new(statement, None, pk))
    return pk


def param(model: type[models.Model], name: str, value: Any) -> Any:
    """A value for a WHERE clause, prepared by its field (a UUID for SQLite's text column, say)."""
    return model._meta.get_field(name).get_db_prep_value(value, _db())  # type: ignore[union-attr]
