"""Writing millions of generated rows quickly: COPY on PostgreSQL, executemany elsewhere.

Rows are plain tuples (building a model instance per row costs more than generating the data).
Columns the generator does not supply are filled from the model's own defaults, so a field added
later with a default needs no change here, and a new NOT NULL field without one fails loudly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models
from django.db.models import Max
from django.utils import timezone


class TableLoader:
    """Buffers rows for one table and writes them in batches within the caller's transaction."""

    def __init__(
        self, model: type[models.Model], columns: Sequence[str], *, batch_size: int = 20_000
    ) -> None:
        meta = model._meta
        supplied = [meta.get_field(name) for name in columns]
        names = {f.attname for f in supplied}
        now = timezone.now()
        rest = [f for f in meta.concrete_fields if f.attname not in names and not f.primary_key]
        self.table = meta.db_table
        self.fields = supplied + rest
        # The same value for every row (created_at/updated_at = now), prepared once as Django would.
        self._tail = tuple(
            f.get_db_prep_save(
                now
                if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
                else f.get_default(),
                connection,
            )
            for f in rest
        )
        self._batch_size = batch_size
        self._rows: list[tuple[Any, ...]] = []
        self.written = 0
        self._postgres = connection.vendor == "postgresql"
        self._adapters = self._date_adapters(supplied) if not self._postgres else []

    @staticmethod
    def _date_adapters(fields: list[models.Field]) -> list[tuple[int, Callable[[Any], Any]]]:
        """Backends other than PostgreSQL COPY get dates as the strings their adapters would produce."""
        out: list[tuple[int, Callable[[Any], Any]]] = []
        for i, f in enumerate(fields):
            if isinstance(f, models.DateTimeField):
                out.append((i, connection.ops.adapt_datetimefield_value))
            elif isinstance(f, models.DateField):
                # A few hundred distinct days among millions of rows (months paid, visit days): adapt each once.
                out.append((i, functools.lru_cache(maxsize=65_536)(connection.ops.adapt_datefield_value)))
        return out

    def extend(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows.extend(rows)
        if len(self._rows) >= self._batch_size:
            self.flush()

    def flush(self) -> None:
        if not self._rows:
            return
        rows = [row + self._tail for row in self._rows]
        self._rows = []
        columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        table = connection.ops.quote_name(self.table)
        if self._postgres:
            self._copy(table, columns, rows)
        else:
            self._insert(table, columns, rows)
        self.written += len(rows)

    @staticmethod
    def _copy(table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def _insert(self, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
        if self._adapters:
            rows = [self._adapt(row) for row in rows]
        marks = ", ".join(["%s"] * len(self.fields))
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)

    def _adapt(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        values = list(row)
        for i, adapt in self._adapters:
            if values[i] is not None:
                values[i] = adapt(values[i])
        return tuple(values)


def next_pk(model: type[models.Model]) -> int:
    """First free primary key: the loader numbers households and children itself to link them."""
    return (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1


def reset_sequences(*models_: type[models.Model]) -> None:
    """After rows were written with explicit ids, move PostgreSQL's id sequences past them
    (SQLite's AUTOINCREMENT follows the largest rowid by itself; the call is then a no-op)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(models_))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


# -- PostgreSQL: load first, index after --------------------------------------------------------------
#
# Maintaining a dozen indexes row by row and queueing a deferred foreign-key check per row (Django's
# FKs are DEFERRABLE INITIALLY DEFERRED, so ~10 million checks run one by one at COMMIT) cost far more
# than generating the data. PostgreSQL's own advice for bulk loads ("Populating a Database") is to
# build indexes and foreign keys after the data. Within the load's transaction we set the secondary
# indexes, unique constraints and foreign keys of the (empty) tables aside and re-create each from the
# catalog's own definition afterwards: the unique constraints are checked again as they are rebuilt
# and every foreign key is validated with one join. The schema is compared before and after, and if
# anything fails the whole transaction, data included, rolls back. Primary keys and CHECK constraints
# stay in place throughout. The tables are locked until COMMIT: this is for loading an idle database.

_SCHEMA_SQL = """
    SELECT 'index', c.relname, i.relname, pg_get_indexdef(i.oid)
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
     WHERE c.relname = ANY(%s) AND pg_table_is_visible(c.oid) AND NOT x.indisprimary
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.contype IN ('p', 'u', 'x'))
    UNION ALL
    SELECT CASE k.contype WHEN 'u' THEN 'unique' ELSE 'foreign' END, c.relname, k.conname, pg_get_constraintdef(k.oid)
      FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
     WHERE c.relname = ANY(%s) AND pg_table_is_visible(c.oid) AND k.contype IN ('u', 'f')
     ORDER BY 1, 2, 3
"""


def _schema(tables: list[str]) -> list[tuple[str, str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(_SCHEMA_SQL, [tables, tables])
        return [tuple(row) for row in cursor.fetchall()]


@contextmanager
def indexes_after_load(*models_: type[models.Model]) -> Iterator[None]:
    """On PostgreSQL with all `models_` empty, build their secondary indexes and foreign keys after the
    load instead of row by row; elsewhere (or with rows present) a plain pass-through."""
    tables = [m._meta.db_table for m in models_]
    if connection.vendor != "postgresql" or any(m.objects.exists() for m in models_):
        yield
        return
    before = _schema(tables)
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        # ALTER TABLE is refused while rows written earlier in this transaction (the accounts) still have
        # deferred foreign-key checks queued: run those checks now instead of at COMMIT.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # Transaction-local: more memory for the index sorts of this load only.
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for kind, table, name, _definition in before:
            if kind == "index":
                cursor.execute(f"DROP INDEX {qn(name)}")
            else:
                cursor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
    yield
    # Unique constraints first: the foreign keys that point at them need them back.
    order = {"unique": 0, "index": 1, "foreign": 2}
    with connection.cursor() as cursor:
        for kind, table, name, definition in sorted(before, key=lambda row: order[row[0]]):
            if kind == "index":
                cursor.execute(definition)
            else:
                cursor.execute(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")
        cursor.execute(
            "SET CONSTRAINTS ALL DEFERRED"
        )  # back to Django's default for the rest of the transaction
    after = _schema(tables)
    if after != before:
        raise RuntimeError(f"the schema differs after the bulk load: {sorted(set(before) ^ set(after))}")
