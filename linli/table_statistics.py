"""Planner statistics after bulk writes.

The admin shows the count of a big table as PostgreSQL's row estimate (`pg_class.reltuples`,
see `linli.admin_utils.EstimatedCountPaginator`), which ANALYZE keeps: autovacuum runs it only
after a share of the table changed and when it gets to it, so right after an import of 30,000
order lines the list still showed the count from before. The services that write in bulk (the
sales-history import, the nightly decision run) call `tables_analyze` when they are done.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model


def tables_analyze(models: Iterable[type[Model]], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """ANALYZE the tables of `models` on PostgreSQL (nothing on other databases). ANALYZE
    reads a sample of fixed size, so it takes well under a second a table at any size.

    Call it after the writes committed (`transaction.on_commit`): inside the writing
    transaction it would count rows that a rollback then removes, and the estimate it stores
    is not rolled back with them."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {quote(model._meta.db_table)}")
