"""POS sales-history import: one CSV row per order line, a million lines in one set-wise pass.

The file is streamed and checked in chunks against lookups loaded once (stores by code,
products by SKU); lines are grouped into orders as they come, which is also where the checks
that need the whole file run (a SKU twice in one order, lines of one order disagreeing on time
or member, an order total too large). On PostgreSQL each chunk's lines go with COPY straight
into the order-line table while the next chunk is read, and the orders follow with one COPY
at the end (`writing.py`). Everything happens in one transaction: a file with any bad row, a
dry run or an error while writing leaves nothing behind.

Orders are keyed by (store, `import:<order_ref>`), the order's idempotency key: an order
already in the database is skipped whole, so importing the same file twice adds nothing. The
`import:` prefix is reserved for this import (the POS API refuses it), and imports that write
take a transaction-level advisory lock, so two imports of overlapping files cannot both add
the same order. Members are found by their identities; an identity that is not known leaves
the order anonymous (counted in the report): history is not a reason to invent members —
import members first. Historic sales do not move stock: they are history, and stock is set by
the stock-level import.

Memory: the orders of the file stay in memory while it is read (about 1 KB an order with the
row numbers of its lines); the lines do not, on PostgreSQL.
"""

from __future__ import annotations

import gc
import itertools
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.stores.models import Order, OrderLine
from apps.stores.services.sales_import.reading import (
    IDEMPOTENCY_PREFIX,
    NO_MEMBER,
    SALES_COLUMNS,
    SalesFileReader,
)
from apps.stores.services.sales_import.writing import OrderWriter
from linli.imports.contract import (
    ACTION_NEW,
    ACTION_SKIP,
    ErrorLog,
    ImportReport,
    Table,
    header_check,
    import_transaction,
)
from linli.table_statistics import tables_analyze

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "IDEMPOTENCY_PREFIX",
    "SALES_COLUMNS",
    "SalesImportReport",
    "sales_history_import",
]

DEFAULT_BATCH_SIZE = 50_000
DEFAULT_KEPT_ERRORS = 1000


@dataclass
class SalesImportReport(ImportReport):
    """`created` / `unchanged` count orders (new / already imported); `rows` counts lines."""

    orders_in_file: int = 0
    lines_created: int = 0
    orders_without_member: int = 0
    # Seconds per phase: "read" (read, check and — on PostgreSQL — store the lines), "orders"
    # (members, the orders, the key locks), "commit" (0 when an outer transaction commits
    # later; the deferred foreign-key checks when the triggers were on).
    timings: dict[str, float] = field(default_factory=dict)

    def done_message(self) -> str:
        """Counts orders and their lines: the preview lists the file's lines (31,236), so
        "2,564 new" alone read as if lines were lost."""
        return _("Import finished: %(orders)s (%(lines)s) added, %(skipped)s already there.") % {
            "orders": ngettext("%(count)s order", "%(count)s orders", self.created)
            % {"count": f"{self.created:,}"},
            "lines": ngettext("%(count)s line", "%(count)s lines", self.lines_created)
            % {"count": f"{self.lines_created:,}"},
            "skipped": ngettext("%(count)s order", "%(count)s orders", self.unchanged)
            % {"count": f"{self.unchanged:,}"},
        }


def sales_history_import(
    *,
    table: Table,
    dry_run: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    keep_errors: int | None = DEFAULT_KEPT_ERRORS,
    with_row_actions: bool = False,
    by: AbstractBaseUser | None = None,
) -> SalesImportReport:
    """Import a sales-history file; all of it or nothing.

    Every error is counted, at most `keep_errors` are kept with row, column and reason (None:
    keep all). `batch_size` is the number of lines read and sent at a time.
    `with_row_actions` also marks which rows belong to orders that are already imported (for
    the admin preview). Takes the import lock (see the module) unless `dry_run`.
    """
    report = SalesImportReport(kind="sales_history", dry_run=dry_run)
    log = ErrorLog(keep=keep_errors)
    positions = header_check(table.header, SALES_COLUMNS, log)
    header_complete = all(c.name in positions for c in SALES_COLUMNS if c.required)
    clock = _Clock(report.timings)
    reader = SalesFileReader(positions=positions, width=len(table.header), log=log)
    owns_transaction = not transaction.get_connection().in_atomic_block
    body_done = None
    # A unique or foreign-key violation (a writer that ignored the import lock, or a store,
    # product or member deleted meanwhile) rolls everything back into a whole-file error.
    with import_transaction(log):
        with OrderWriter.for_connection(
            dry_run=dry_run, owns_transaction=owns_transaction
        ) as writer:
            with clock.phase("read"), _cycle_collection_paused():
                for chunk in _chunked(table.rows, batch_size):
                    report.rows += len(chunk)
                    read = reader.read_chunk(chunk)
                    if header_complete and not log:
                        writer.chunk_write(read)
            if header_complete and not log:
                with clock.phase("orders"):
                    writer.orders_write(reader)
        if log or dry_run:
            transaction.set_rollback(True)
        body_done = time.perf_counter()
    if body_done is not None:
        report.timings["commit"] = round(time.perf_counter() - body_done, 3)
    report.errors_take(log)
    if report.is_valid:
        _counts_fill(report, reader, with_row_actions=with_row_actions)
    if report.applied and report.lines_created:
        # The admin counts orders and lines by PostgreSQL's estimate: bring it up to date now,
        # not when autovacuum gets to it. After the commit (a caller may hold a transaction).
        transaction.on_commit(partial(tables_analyze, (Order, OrderLine)))
    return report


def _counts_fill(
    report: SalesImportReport, reader: SalesFileReader, *, with_row_actions: bool
) -> None:
    orders = reader.orders.values()
    report.orders_in_file = len(orders)
    for order in orders:
        if order.existing:
            report.unchanged += 1
            continue
        report.created += 1
        report.lines_created += len(order.products)
        if order.identity is not NO_MEMBER and order.member_id is None:
            report.orders_without_member += 1
    if with_row_actions:
        report.row_actions = {
            row: ACTION_SKIP if order.existing else ACTION_NEW
            for order in orders
            for row in order.products.values()
        }
    if report.orders_without_member:
        report.notes.append(
            ngettext(
                "%(count)d order names a member identity that is not known; it is "
                "imported without a member.",
                "%(count)d orders name a member identity that is not known; they are "
                "imported without a member.",
                report.orders_without_member,
            )
            % {"count": report.orders_without_member}
        )


class _Clock:
    """Adds the duration of named phases to a dict (seconds)."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - began, 3)


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a file is streamed: parsing creates millions of
    short-lived objects (freed by reference counting anyway) and the collector would keep
    re-scanning the orders kept meanwhile — about a sixth of a million-line import."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _chunked(
    rows: Iterable[tuple[int, list[str]]], size: int
) -> Iterator[list[tuple[int, list[str]]]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
