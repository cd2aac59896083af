"""URL converters shared by every route (registered when this module is first imported).

`<id:name>` is a database id: digits whose value fits the database's integer column (a
`BigAutoField`, signed 64 bits, on PostgreSQL and SQLite alike). A larger number matches no
route, so `/portal/stores/99999999999999999999/` is a plain 404 instead of reaching a query
the database cannot run (an HTTP 500).
"""

from __future__ import annotations

from django.urls import register_converter

# The largest value of a signed 64-bit integer (PostgreSQL `bigint`, SQLite INTEGER): every
# primary key and foreign key column (DEFAULT_AUTO_FIELD is BigAutoField).
DATABASE_ID_MAX = 2**63 - 1


class DatabaseIdConverter:
    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > DATABASE_ID_MAX:
            raise ValueError(value)  # no match: the resolver tries the next route, then 404s
        return number

    def to_url(self, value: int | str) -> str:
        return str(int(value))


# Registered on import; every module that writes `<id:...>` imports this one first.
register_converter(DatabaseIdConverter, "id")
