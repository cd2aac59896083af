"""Turn a values_list queryset into a pandas DataFrame, fast.

On PostgreSQL the queryset's own SQL runs inside `COPY (…) TO STDOUT` and pandas parses the
stream (millions of rows in seconds); on SQLite the same SQL runs on the raw cursor (no ORM
value conversion); elsewhere the rows are streamed through the ORM.
"""

from __future__ import annotations

import io

import pandas as pd
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import QuerySet


def queryset_frame(queryset: QuerySet, columns: list[str]) -> pd.DataFrame:
    """The rows of a `values_list(...)` queryset as a DataFrame with the given column names.

    Column types differ by backend (on PostgreSQL dates arrive as ISO strings and NULLs as
    NaN; on SQLite dates and times arrive as ISO text, times in UTC, and amounts as numbers), so
    callers convert the columns they use with the helpers below.
    """
    connection = connections[queryset.db]
    if connection.vendor == "postgresql":
        try:
            sql, params = queryset.query.sql_with_params()
        except EmptyResultSet:  # e.g. `__in=[]`: Django knows there is no row
            return pd.DataFrame({name: pd.Series(dtype="object") for name in columns})
        buffer = io.BytesIO()
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor behind Django's wrapper
            with raw.copy(f"COPY ({sql}) TO STDOUT", params) as copy:  # noqa: S608
                for chunk in copy:
                    buffer.write(chunk)
        if buffer.tell() == 0:
            return pd.DataFrame({name: pd.Series(dtype="object") for name in columns})
        buffer.seek(0)
        return pd.read_csv(
            buffer,
            sep="\t",
            header=None,
            names=columns,
            na_values=["\\N"],
            keep_default_na=False,
        )
    if connection.vendor == "sqlite":
        # The same SQL on the raw cursor: the ORM's per-value converters (dates, datetimes,
        # decimals) cost more than the query on the million-row reads of the nightly run.
        # SQLite gives dates and times as ISO text (times in UTC) and amounts as numbers,
        # which the column helpers below convert, as on the COPY path.
        try:
            sql, params = queryset.query.sql_with_params()
        except EmptyResultSet:
            return pd.DataFrame({name: pd.Series(dtype="object") for name in columns})
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    else:
        rows = list(queryset.iterator(chunk_size=20_000))
    if not rows:
        return pd.DataFrame({name: pd.Series(dtype="object") for name in columns})
    return pd.DataFrame.from_records(rows, columns=columns)


def int_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """An integer column; missing values (e.g. no member) become -1."""
    return pd.to_numeric(frame[name], errors="coerce").fillna(-1).astype("int64")


def date_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A date column as numpy datetime64[D]-backed timestamps at midnight."""
    return pd.to_datetime(frame[name]).dt.normalize()


def datetime_column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A timestamp column as UTC timestamps. Read as ISO 8601 whatever each value's precision:
    pandas otherwise takes the format of the first value, and a column mixing whole seconds
    (imported history, `2026-11-08 02:00:00+00`) with microseconds (orders placed through the
    API, `2026-12-06 14:20:15.544165+00`) failed to parse, and with it the nightly run."""
    return pd.to_datetime(frame[name], utc=True, format="ISO8601")


def float_column(frame: pd.DataFrame, name: str) -> pd.Series:
    return pd.to_numeric(frame[name], errors="coerce").fillna(0.0).astype("float64")


def frame_insert(model: type, frame: pd.DataFrame, *, using: str = "default") -> int:
    """Insert the rows of `frame` (columns named like the model's attnames, e.g. `store_id`;
    the primary key left to the database) set-wise: COPY on PostgreSQL, bulk_create elsewhere.
    Call inside the caller's transaction; returns the rows written."""
    if frame.empty:
        return 0
    connection = connections[using]
    columns = list(frame.columns)
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(column) for column in columns)
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # noqa: S608
                for row in frame.itertuples(index=False, name=None):
                    copy.write_row(row)
        return len(frame)
    model.objects.using(using).bulk_create(
        [
            model(**dict(zip(columns, row, strict=True)))
            for row in frame.itertuples(index=False, name=None)
        ],
        batch_size=2000,
    )
    return len(frame)
