"""Set-wise inserts for the demo's big tables (orders, lines, members, ledger, chats).

`bulk_create` spends ~30 µs of Python per row building model instances and compiling each
value; for the 1.6 million history rows that alone would exceed the demo's time budget. These
helpers write plain tuples instead: `executemany` of one prepared INSERT on SQLite, `COPY` on
PostgreSQL. Values go through the backend's own adapters (datetime, date, decimal), and every
concrete column the caller does not give is filled with the field's default (auto_now and
auto_now_add fields with the current time), exactly as `bulk_create` would.

Nothing here validates: callers pass rows that satisfy the model's constraints (the database
still enforces them). For the history's millions of values, callers may adapt a column once
per distinct value (`values_adapter`) or vectorised (`timestamps_adapt`) and name it in
`ready`, so the per-row loop only builds tuples.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, models

CHUNK_ROWS = 20_000

# The order columns every demo writer fills (the order history, the live history's join orders).
ORDER_COLUMNS = (
    "id",
    "store_id",
    "member_id",
    "channel",
    "fulfilment",
    "status",
    "idempotency_key",
    "reference",
    "total",
    "discount_total",
    "placed_at",
)

Adapter = Callable[[object], object]


def _adapter(field: models.Field) -> Adapter | None:
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.DecimalField):
        return lambda value: ops.adapt_decimalfield_value(
            value, field.max_digits, field.decimal_places
        )
    return None


def _constants(
    model: type[models.Model], given: Sequence[str]
) -> tuple[list[models.Field], list[object]]:
    """The concrete fields not given by the caller (except an auto primary key) and their
    database-ready default values."""
    template = model()
    fields = []
    values = []
    for field in model._meta.concrete_fields:
        if field.attname in given:
            continue
        if field.primary_key and isinstance(field, models.AutoField):
            continue
        if field.db_default is not models.NOT_PROVIDED and not field.has_default():
            continue  # the database fills a db_default column itself
        value = field.pre_save(template, add=True)
        fields.append(field)
        values.append(field.get_db_prep_save(value, connection))
    return fields, values


def values_adapter(
    model: type[models.Model],
    column: str,
    *,
    convert: Callable[[Any], object] = lambda value: value,
) -> Callable[[Hashable], object]:
    """`convert`, the column's Django adapter, then (on SQLite) the driver's own adapter,
    memoised per distinct raw value: money in cents repeats a few thousand values over
    millions of rows, and sqlite3 would otherwise call `str()` on every Decimal inside
    `executemany` (a third of the line insert time). Results go in a `ready` column."""
    adapter = _adapter(model._meta.get_field(column)) or (lambda value: value)
    sqlite = connection.vendor == "sqlite"

    def driver(value: object) -> object:
        return sqlite3.adapt(value, sqlite3.PrepareProtocol, value) if sqlite else value

    memo: dict[Hashable, object] = {}

    def adapt(raw: Hashable) -> object:
        try:
            return memo[raw]
        except KeyError:
            value = convert(raw)
            result = memo[raw] = None if value is None else driver(adapter(value))
            return result

    return adapt


def timestamps_adapt(seconds: np.ndarray) -> list[object]:
    """Database-ready values of a DateTimeField for Unix timestamps (whole seconds): what the
    backend's adapter makes of the aware datetimes, vectorised where the backend stores text
    (SQLite: the UTC time as 'YYYY-MM-DD HH:MM:SS'). Goes in a `ready` column."""
    if not len(seconds):
        return []
    if connection.vendor == "sqlite" and settings.USE_TZ and connection.timezone_name == "UTC":
        text = np.datetime_as_string(np.asarray(seconds, dtype="datetime64[s]"), unit="s")
        return np.char.replace(text, "T", " ").tolist()
    adapt = connection.ops.adapt_datetimefield_value
    return [adapt(dt.datetime.fromtimestamp(value, tz=dt.UTC)) for value in seconds.tolist()]


def rows_insert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    ready: Collection[str] = (),
) -> int:
    """Insert `rows` (tuples in the order of `columns`, given by field attname) into `model`'s
    table. Columns named in `ready` already hold database-ready values (see `values_adapter`,
    `timestamps_adapt`); the others go through the backend's adapters here. Returns the number
    of rows written. Run inside the caller's transaction."""
    fields = [model._meta.get_field(name) for name in columns]
    extra_fields, extra_values = _constants(model, columns)
    all_fields = [*fields, *extra_fields]
    adapters = [None if field.attname in ready else _adapter(field) for field in fields]
    adapted = [(index, adapter) for index, adapter in enumerate(adapters) if adapter is not None]
    extra = tuple(extra_values)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column_sql = ", ".join(quote(field.column) for field in all_fields)

    def prepared(batch: list[Sequence[object]]) -> Sequence[Sequence[object]]:
        if not adapted:
            return [(*row, *extra) for row in batch] if extra else batch
        out = []
        for row in batch:
            values = list(row)
            for index, adapter in adapted:
                if values[index] is not None:
                    values[index] = adapter(values[index])
            out.append((*values, *extra))
        return out

    written = 0
    iterator = iter(rows)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({column_sql}) FROM STDIN") as copy:
                while batch := list(islice(iterator, CHUNK_ROWS)):
                    for row in prepared(batch):
                        copy.write_row(row)
                    written += len(batch)
        else:
            placeholders = ", ".join(["%s"] * len(all_fields))
            sql = f"INSERT INTO {table} ({column_sql}) VALUES ({placeholders})"  # noqa: S608
            while batch := list(islice(iterator, CHUNK_ROWS)):
                cursor.executemany(sql, prepared(batch))
                written += len(batch)
    return written


def statistics_refresh(models_: Iterable[type[models.Model]]) -> None:
    """ANALYZE the freshly loaded tables so the query planner sees their real size (without
    it, SQLite scans the whole order table for every per-day KPI query)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)}")


SQLITE_CACHE_KIB = 256 * 1024


@contextmanager
def loading_session() -> Iterator[None]:
    """On SQLite, give this connection a 256 MiB page cache while loading (the default 2 MiB
    makes every index insert of a large table a page read); restored afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {previous}")
