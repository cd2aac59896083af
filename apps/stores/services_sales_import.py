"""POS sales-history import: one CSV row per order line, a million lines in one set-wise pass.

The file is streamed (never held in memory) and validated in chunks against lookups loaded
once (stores by code, products by SKU). Valid lines go straight into a temporary staging table
— with PostgreSQL's COPY, or large `executemany` batches on SQLite — and the checks that need
the whole file (a SKU twice in one order, lines of one order disagreeing on time or member)
run as SQL over the staging table. Only when no row has any error are the orders and lines
written, with two INSERT … SELECT statements, in the same transaction; otherwise (and in a dry
run) the transaction is rolled back and nothing remains, not even the staging table.

Orders are grouped by (store, order_ref) and keyed by the idempotency key `import:<order_ref>`:
an order already in the database is skipped whole (ON CONFLICT DO NOTHING on the
(store, idempotency_key) constraint), so importing the same file twice adds nothing.
Members are found by joining the lines' identities to `MemberIdentity`; an identity that is not
known leaves the order anonymous (counted in the report): history is not a reason to invent
members — import members first. Historic sales do not move stock: they are history, and
stock is set by the stock-level import.
"""

# SQL here is built from module constants and model table names only; every value is a bound
# parameter, so string-built statements carry no outside input:
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import gc
import itertools
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.catalog.models import Product
from apps.customers.models import Member, MemberIdentity
from apps.customers.services.imports import member_identity_parse
from apps.stores.models import Order, OrderLine, Store
from linli.imports import (
    CellError,
    Column,
    ErrorLog,
    ImportReport,
    Table,
    header_check,
    local_zone,
    parse_decimal,
    parse_int,
    parse_moment,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

SALES_COLUMNS = (
    Column("store_code", required=True),
    Column("order_ref", required=True),
    Column("member_identity"),
    Column("sku", required=True),
    Column("quantity", required=True),
    Column("unit_price", required=True),
    Column("discount"),
    Column("sold_at", required=True),
)
IDEMPOTENCY_PREFIX = "import:"
ORDER_REF_MAX_LENGTH = 64 - len(IDEMPOTENCY_PREFIX)
MAX_QUANTITY = 2_147_483_647
MAX_LINE_TOTAL = Decimal("9999999999.99")
DEFAULT_BATCH_SIZE = 50_000
DEFAULT_KEPT_ERRORS = 1000
ZERO_PAIR = (Decimal("0.00"), "0.00")

STAGING = "linli_sales_import_lines"
ORDERS = "linli_sales_import_orders"
NEW_ORDERS = "linli_sales_import_new_orders"
STAGING_COLUMNS = (
    "row_no",
    "store_id",
    "order_ref",
    "member_kind",
    "member_value",
    "product_id",
    "quantity",
    "unit_price",
    "discount",
    "sold_at",
)


@dataclass
class SalesImportReport(ImportReport):
    """`created` / `unchanged` count orders (new / already imported); `rows` counts lines."""

    orders_in_file: int = 0
    lines_created: int = 0
    orders_without_member: int = 0
    # Seconds per phase: "stage" (read, validate, load), "check", "write", "commit" (the
    # commit runs the deferred foreign-key checks; 0 when an outer transaction commits later).
    timings: dict[str, float] = field(default_factory=dict)


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
    keep all). One transaction holds the staging, the checks and the writes. `batch_size` is
    the number of lines validated and loaded at a time. `with_row_actions` also marks which
    rows belong to orders that are already imported (for the admin preview).
    """
    report = SalesImportReport(kind="sales_history", dry_run=dry_run)
    log = ErrorLog(keep=keep_errors)
    positions = header_check(table.header, SALES_COLUMNS, log)
    header_complete = all(c.name in positions for c in SALES_COLUMNS if c.required)
    clock = _Clock(report.timings)
    with transaction.atomic():
        stage = _Staging.for_connection()
        stage.create()
        validator = _LineValidator(
            positions=positions, width=len(table.header), log=log, stage=stage
        )
        with clock.phase("stage"), _cycle_collection_paused(), stage.loader() as load:
            for chunk in _chunked(table.rows, batch_size):
                report.rows += len(chunk)
                staged = validator.validate_chunk(chunk)
                if header_complete:
                    # Valid lines are staged even after an error, so that the whole-file
                    # checks report their rows too.
                    load(staged)
        if header_complete and report.rows:
            with clock.phase("check"):
                stage.check(log)
            if not log:
                with clock.phase("write"):
                    stage.members_resolve()
                    if dry_run or with_row_actions:
                        stage.plan(report, with_row_actions=with_row_actions)
                    if not dry_run:
                        stage.write(report)
        stage.drop()
        if log or dry_run:
            transaction.set_rollback(True)
        body_done = time.perf_counter()
    report.timings["commit"] = round(time.perf_counter() - body_done, 3)
    report.errors_take(log)
    if not report.is_valid:
        report.created = report.unchanged = report.lines_created = 0
        report.orders_in_file = report.orders_without_member = 0
        report.row_actions = {}
    if report.orders_without_member:
        report.notes.append(
            _(
                "%(count)d order(s) name a member identity that is not known; they are "
                "imported without a member."
            )
            % {"count": report.orders_without_member}
        )
    return report


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
    short-lived lists (freed by reference counting anyway) and the collector would keep
    re-scanning the large caches alive meanwhile — about a sixth of a million-line import."""
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


def _copy_escape(text: str) -> str:
    """Text as a field of PostgreSQL's COPY text format."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class _LineValidator:
    """Parses and checks lines against stores and products loaded once.

    Lines become tuples of staging values in the loader's text form. The fast path looks every
    cell up in dictionaries of values already seen valid (prices, quantities, times and
    identities repeat a lot in a sales file); any miss sends the line through the full check,
    which reports the errors and remembers the valid values.
    """

    CACHE_LIMIT = 200_000

    def __init__(
        self, *, positions: dict[str, int], width: int, log: ErrorLog, stage: _Staging
    ) -> None:
        self.log = log
        self.width = width
        self.position = {column.name: positions.get(column.name, -1) for column in SALES_COLUMNS}
        self.fast = all(position >= 0 for position in self.position.values())
        self.null = stage.null
        self.escape = stage.escape
        self.moment_value = stage.moment_value
        self.stores = {code: str(pk) for code, pk in Store.objects.values_list("code", "pk")}
        self.products = {sku: str(pk) for sku, pk in Product.objects.values_list("sku", "pk")}
        self.zone = local_zone()
        self.latest = timezone.now()
        # Values seen valid, by raw cell text.
        self.quantities: dict[str, tuple[int, str]] = {}
        self.amounts: dict[str, tuple[Decimal, str]] = {}
        self.moments: dict[str, str] = {}
        self.identities: dict[str, tuple[Any, Any]] = {"": (self.null, self.null)}

    def validate_chunk(self, chunk: list[tuple[int, list[str]]]) -> list[tuple]:
        for cache in (self.quantities, self.amounts, self.moments, self.identities):
            if len(cache) > self.CACHE_LIMIT:
                cache.clear()
        self.identities[""] = (self.null, self.null)
        if not self.fast:
            return [line for line in map(self.validate, chunk) if line is not None]
        staged: list[tuple] = []
        append = staged.append
        width = self.width
        stores, products = self.stores, self.products
        quantities, amounts = self.quantities, self.amounts
        moments, identities = self.moments, self.identities
        position = self.position
        learn = self._learn
        at_store, at_ref = position["store_code"], position["order_ref"]
        at_identity, at_sku = position["member_identity"], position["sku"]
        at_quantity, at_price = position["quantity"], position["unit_price"]
        at_discount, at_sold = position["discount"], position["sold_at"]
        for numbered in chunk:
            number, cells = numbered
            try:
                if len(cells) != width:
                    raise KeyError
                ref = cells[at_ref]
                if (
                    not ref
                    or len(ref) > ORDER_REF_MAX_LENGTH
                    or not ref.isprintable()
                    or "\\" in ref
                    or ref != ref.strip()
                ):
                    raise KeyError
                cell = cells[at_quantity]
                quantity, quantity_text = quantities.get(cell) or learn(self._quantity, cell)
                cell = cells[at_price]
                price, price_text = amounts.get(cell) or learn(self._amount, cell)
                cell = cells[at_discount]
                discount, discount_text = (
                    (amounts.get(cell) or learn(self._amount, cell)) if cell else ZERO_PAIR
                )
                amount = price * quantity
                if discount > amount or amount - discount > MAX_LINE_TOTAL:
                    raise KeyError
                cell = cells[at_identity]
                kind, value = identities.get(cell) or learn(self._identity_learn, cell)
                cell = cells[at_sold]
                sold_at = moments.get(cell) or learn(self._moment, cell)
                append(
                    (
                        str(number),
                        stores[cells[at_store]],
                        ref,
                        kind,
                        value,
                        products[cells[at_sku]],
                        quantity_text,
                        price_text,
                        discount_text,
                        sold_at,
                    )
                )
            except KeyError:
                line = self.validate(numbered)
                if line is not None:
                    append(line)
        return staged

    @staticmethod
    def _learn(parser: Any, cell: str) -> Any:
        """Parse a cell not seen before (remembering it when valid); KeyError if invalid."""
        try:
            return parser(cell.strip(), cell)
        except CellError:
            raise KeyError(cell) from None

    def _identity_learn(self, raw: str, cell: str) -> tuple[str, str]:
        kind, value = member_identity_parse(raw)
        self.identities[cell] = (kind, self.escape(value))
        return self.identities[cell]

    def _cell(self, cells: Sequence[str], column: str) -> str:
        position = self.position[column]
        if position < 0 or position >= len(cells):
            return ""
        return cells[position].strip()

    def validate(self, numbered: tuple[int, list[str]]) -> tuple | None:
        """The full check of one line: logs every error, returns the staging tuple or None."""
        number, cells = numbered
        add = self.log.add
        errors_before = self.log.count
        if len(cells) > self.width and any(cell.strip() for cell in cells[self.width :]):
            add(
                number,
                "",
                "too_many_cells",
                _("The row has %(cells)d cells but the header has %(columns)d.")
                % {"cells": len(cells), "columns": self.width},
            )
        store_code = self._cell(cells, "store_code")
        store_id = self.stores.get(store_code)
        if store_id is None:
            self._missing_or_unknown(number, "store_code", store_code, "unknown_store")
        order_ref = self._cell(cells, "order_ref")
        if not order_ref:
            self._missing_or_unknown(number, "order_ref", order_ref, "")
        elif len(order_ref) > ORDER_REF_MAX_LENGTH:
            add(
                number,
                "order_ref",
                "too_long",
                _("The text is longer than %(max)d characters.") % {"max": ORDER_REF_MAX_LENGTH},
            )
        identity = self._identity(number, self._cell(cells, "member_identity"))
        sku = self._cell(cells, "sku")
        product_id = self.products.get(sku)
        if product_id is None:
            self._missing_or_unknown(number, "sku", sku, "unknown_sku")
        quantity = self._parse(number, cells, "quantity", self._quantity)
        unit_price = self._parse(number, cells, "unit_price", self._amount)
        discount = (
            self._parse(number, cells, "discount", self._amount)
            if self._cell(cells, "discount")
            else ZERO_PAIR
        )
        sold_at = self._parse(number, cells, "sold_at", self._moment)
        if quantity is not None and unit_price is not None and discount is not None:
            line_total = unit_price[0] * quantity[0] - discount[0]
            if line_total < 0:
                add(
                    number,
                    "discount",
                    "discount_too_large",
                    _("The discount is larger than quantity × unit price."),
                )
            elif line_total > MAX_LINE_TOTAL:
                add(number, "quantity", "too_large", _("The line total is too large."))
        if self.log.count != errors_before:
            return None
        if None in (store_id, product_id, quantity, unit_price, discount, sold_at) or not order_ref:
            return None  # a required column is missing from the header (reported there)
        kind, value = identity
        return (
            str(number),
            store_id,
            self.escape(order_ref),
            kind,
            value,
            product_id,
            quantity[1],
            unit_price[1],
            discount[1],
            sold_at,
        )

    def _missing_or_unknown(self, number: int, column: str, value: str, code: str) -> None:
        if self.position[column] < 0:
            return  # reported once, at the header
        if not value:
            self.log.add(number, column, "required", _("A value is required."))
        elif column == "store_code":
            self.log.add(
                number, column, code, _("Unknown store code “%(code)s”.") % {"code": value}
            )
        else:
            self.log.add(number, column, code, _("Unknown SKU “%(sku)s”.") % {"sku": value})

    def _parse(self, number: int, cells: Sequence[str], column: str, parser: Any) -> Any:
        raw = self._cell(cells, column)
        if not raw:
            if self.position[column] >= 0:
                self.log.add(number, column, "required", _("A value is required."))
            return None
        try:
            return parser(raw, cells[self.position[column]])
        except CellError as problem:
            self.log.add(number, column, problem.code, problem.reason)
            return None

    def _quantity(self, raw: str, cell: str) -> tuple[int, str]:
        quantity = parse_int(raw, minimum=1, maximum=MAX_QUANTITY)
        self.quantities[cell] = (quantity, str(quantity))
        return self.quantities[cell]

    def _amount(self, raw: str, cell: str) -> tuple[Decimal, str]:
        amount = parse_decimal(raw, max_digits=10)
        self.amounts[cell] = (amount, str(amount))
        return self.amounts[cell]

    def _moment(self, raw: str, cell: str) -> str:
        moment = parse_moment(raw, zone=self.zone, latest=self.latest)
        self.moments[cell] = self.moment_value(moment)
        return self.moments[cell]

    def _identity(self, number: int, raw: str) -> tuple[Any, Any]:
        if not raw:
            return (self.null, self.null)
        try:
            kind, value = member_identity_parse(raw)
        except CellError as problem:
            self.log.add(number, "member_identity", problem.code, problem.reason)
            return (self.null, self.null)
        return (kind, self.escape(value))


class _Staging(ABC):
    """The temporary tables of one import and the SQL that checks and writes them.

    Portable SQL (PostgreSQL and SQLite ≥ 3.35) except where noted; PostgreSQL loads with COPY
    and inserts orders with ON CONFLICT … RETURNING.
    """

    column_types: dict[str, str]
    # How the loader spells NULL, and escapes text, in the staged tuples.
    null: Any = None

    def escape(self, text: str) -> str:
        return text

    @staticmethod
    def for_connection() -> _Staging:
        if connection.vendor == "postgresql":
            return _PostgresStaging()
        return _SqliteStaging()

    def __init__(self) -> None:
        quote = connection.ops.quote_name
        self.order_table = quote(Order._meta.db_table)
        self.line_table = quote(OrderLine._meta.db_table)
        self.identity_table = quote(MemberIdentity._meta.db_table)

    # -- tables ----------------------------------------------------------------------------

    def create(self) -> None:
        types = self.column_types
        columns = ", ".join(f"{name} {types[name]}" for name in STAGING_COLUMNS)
        with connection.cursor() as cursor:
            self._drop(cursor)
            cursor.execute(f"CREATE TEMPORARY TABLE {STAGING} ({columns})")

    def drop(self) -> None:
        with connection.cursor() as cursor:
            self._drop(cursor)

    def _drop(self, cursor: Any) -> None:
        for table in (STAGING, ORDERS, NEW_ORDERS):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")

    def moment_value(self, moment: dt.datetime) -> Any:
        return moment

    @abstractmethod
    def loader(self) -> AbstractContextManager[Callable[[list[tuple]], None]]:
        """A function that stages lines; the database connection is busy loading until the
        block ends (no other query on it meanwhile)."""

    # -- whole-file checks -------------------------------------------------------------------

    def check(self, log: ErrorLog) -> None:
        """Duplicate SKUs within an order; lines of one order with different times or members;
        order totals too large for the database."""
        with connection.cursor() as cursor:
            self.analyze(cursor, STAGING)
            cursor.execute(
                f"""
                SELECT s.row_no, s.order_ref, d.first_row
                FROM {STAGING} s
                JOIN (
                    SELECT store_id, order_ref, product_id, MIN(row_no) AS first_row
                    FROM {STAGING}
                    GROUP BY store_id, order_ref, product_id
                    HAVING COUNT(*) > 1
                ) d ON d.store_id = s.store_id AND d.order_ref = s.order_ref
                    AND d.product_id = s.product_id
                WHERE s.row_no <> d.first_row
                """
            )
            for row_no, order_ref, first_row in cursor.fetchall():
                log.add(
                    row_no,
                    "sku",
                    "duplicate",
                    _("Order %(ref)s already has a line for this SKU on row %(row)d.")
                    % {"ref": order_ref, "row": first_row},
                )
            cursor.execute(
                f"""
                CREATE TEMPORARY TABLE {ORDERS} AS
                SELECT store_id, order_ref, MIN(row_no) AS first_row, COUNT(*) AS line_count,
                       MIN(sold_at) AS sold_at, MAX(sold_at) AS last_sold_at,
                       MIN(member_kind) AS member_kind, MAX(member_kind) AS last_member_kind,
                       MIN(member_value) AS member_value, MAX(member_value) AS last_member_value,
                       COUNT(member_value) AS member_lines,
                       SUM(ROUND(quantity * unit_price - discount, 2)) AS total,
                       SUM(discount) AS discount_total,
                       CAST(NULL AS BIGINT) AS member_id
                FROM {STAGING}
                GROUP BY store_id, order_ref
                """
            )
            self.analyze(cursor, ORDERS)
            disagreeing = """
                o.sold_at <> o.last_sold_at OR o.member_kind <> o.last_member_kind
                OR o.member_value <> o.last_member_value
                OR (o.member_lines <> 0 AND o.member_lines <> o.line_count)
            """
            cursor.execute(
                f"""
                SELECT s.row_no, s.order_ref, o.first_row,
                       CASE WHEN s.sold_at <> f.sold_at THEN 1 ELSE 0 END,
                       CASE WHEN COALESCE(s.member_kind, '') <> COALESCE(f.member_kind, '')
                              OR COALESCE(s.member_value, '') <> COALESCE(f.member_value, '')
                            THEN 1 ELSE 0 END
                FROM (SELECT * FROM {ORDERS} o WHERE {disagreeing}) o
                JOIN {STAGING} f ON f.row_no = o.first_row
                JOIN {STAGING} s ON s.store_id = o.store_id AND s.order_ref = o.order_ref
                WHERE s.row_no <> o.first_row
                """
            )
            for row_no, order_ref, first_row, time_differs, member_differs in cursor.fetchall():
                numbers = {"ref": order_ref, "row": first_row}
                if time_differs:
                    log.add(
                        row_no,
                        "sold_at",
                        "order_mismatch",
                        _("Lines of order %(ref)s must share one sale time (see row %(row)d).")
                        % numbers,
                    )
                if member_differs:
                    log.add(
                        row_no,
                        "member_identity",
                        "order_mismatch",
                        _("Lines of order %(ref)s must share one member (see row %(row)d).")
                        % numbers,
                    )
            cursor.execute(
                f"SELECT first_row, order_ref FROM {ORDERS} WHERE total > %s",
                [MAX_LINE_TOTAL],
            )
            for first_row, order_ref in cursor.fetchall():
                log.add(
                    first_row,
                    "order_ref",
                    "too_large",
                    _("The total of order %(ref)s is too large.") % {"ref": order_ref},
                )

    def analyze(self, cursor: Any, table: str) -> None:  # noqa: B027 (a default, not abstract)
        """Temporary tables get no statistics by themselves; the planner needs them. SQLite
        plans without them: nothing to do by default."""

    # -- what would be written ---------------------------------------------------------------

    def members_resolve(self) -> None:
        """Set each staged order's member by joining its identity to MemberIdentity."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                UPDATE {ORDERS} SET member_id = i.member_id
                FROM {self.identity_table} i
                WHERE i.kind = {ORDERS}.member_kind AND i.value = {ORDERS}.member_value
                """
            )

    def plan(self, report: SalesImportReport, *, with_row_actions: bool) -> None:
        """Count what a write would do (new / already imported / anonymous orders, lines)."""
        exists = f"""
            EXISTS (SELECT 1 FROM {self.order_table} x
                    WHERE x.store_id = o.store_id
                      AND x.idempotency_key = %s || o.order_ref)
        """
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT COUNT(*),
                       SUM(CASE WHEN {exists} THEN 0 ELSE 1 END),
                       SUM(CASE WHEN {exists} THEN 0 ELSE o.line_count END),
                       SUM(CASE WHEN NOT {exists} AND o.member_value IS NOT NULL
                                     AND o.member_id IS NULL THEN 1 ELSE 0 END)
                FROM {ORDERS} o
                """,
                [IDEMPOTENCY_PREFIX] * 3,
            )
            orders, created, lines, anonymous = cursor.fetchone()
            report.orders_in_file = orders
            report.created = created or 0
            report.unchanged = orders - report.created
            report.lines_created = lines or 0
            report.orders_without_member = anonymous or 0
            if with_row_actions:
                cursor.execute(
                    f"""
                    SELECT s.row_no, CASE WHEN {exists} THEN 'skip' ELSE 'new' END
                    FROM {STAGING} s JOIN {ORDERS} o
                      ON o.store_id = s.store_id AND o.order_ref = s.order_ref
                    """,
                    [IDEMPOTENCY_PREFIX],
                )
                report.row_actions = dict(cursor.fetchall())

    # -- writing ------------------------------------------------------------------------------

    def write(self, report: SalesImportReport) -> None:
        """Insert the new orders (file order), then their lines, and count what was done.

        Orders already in the database — imported before, or by a concurrent import of the
        same file that committed first — are skipped whole.
        """
        self.orders_insert(timezone.now())
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {self.line_table}
                    (order_id, product_id, quantity, unit_price, discount, line_total)
                SELECT n.order_id, s.product_id, s.quantity, s.unit_price, s.discount,
                       ROUND(s.quantity * s.unit_price - s.discount, 2)
                FROM {STAGING} s
                JOIN {NEW_ORDERS} n ON n.store_id = s.store_id AND n.order_ref = s.order_ref
                """
            )
            report.lines_created = cursor.rowcount
            cursor.execute(
                f"""
                SELECT (SELECT COUNT(*) FROM {ORDERS}), COUNT(*),
                       SUM(CASE WHEN o.member_value IS NOT NULL AND o.member_id IS NULL
                                THEN 1 ELSE 0 END)
                FROM {NEW_ORDERS} n
                JOIN {ORDERS} o ON o.store_id = n.store_id AND o.order_ref = n.order_ref
                """
            )
            orders, created, anonymous = cursor.fetchone()
        report.orders_in_file = orders
        report.created = created
        report.unchanged = orders - created
        report.orders_without_member = anonymous or 0

    def order_values_sql(self) -> str:
        return f"""
            SELECT o.store_id, o.member_id, %s, %s, %s, %s || o.order_ref, o.order_ref,
                   o.total, o.discount_total, o.sold_at, %s
            FROM {ORDERS} o
        """

    def order_params(self, now: Any) -> list[Any]:
        return [
            Order.Channel.POS,
            Order.Fulfilment.IN_STORE,
            Order.Status.COMPLETED,
            IDEMPOTENCY_PREFIX,
            now,
        ]

    def order_columns(self) -> str:
        return (
            "store_id, member_id, channel, fulfilment, status, idempotency_key, reference, "
            "total, discount_total, placed_at, created_at"
        )

    @abstractmethod
    def orders_insert(self, now: dt.datetime) -> None:
        """Insert the staged orders not yet in the database; fill NEW_ORDERS with their ids."""


class _PostgresStaging(_Staging):
    column_types = {
        "row_no": "integer NOT NULL",
        "store_id": "bigint NOT NULL",
        "order_ref": "varchar(64) NOT NULL",
        "member_kind": "varchar(16)",
        "member_value": "varchar(128)",
        "product_id": "bigint NOT NULL",
        "quantity": "integer NOT NULL",
        "unit_price": "numeric(10, 2) NOT NULL",
        "discount": "numeric(10, 2) NOT NULL",
        "sold_at": "timestamptz NOT NULL",
    }

    null = "\\N"

    def escape(self, text: str) -> str:
        return _copy_escape(text)

    def moment_value(self, moment: dt.datetime) -> str:
        return moment.isoformat()

    @contextmanager
    def loader(self) -> Iterator[Callable[[list[tuple]], None]]:
        """One COPY (text format) for the whole file. A writer thread sends each chunk while
        the next one is parsed; the validator has escaped the text fields already."""
        statement = f"COPY {STAGING} ({', '.join(STAGING_COLUMNS)}) FROM STDIN"
        with connection.cursor() as cursor:
            with cursor.copy(statement) as copy:

                def load(lines: list[tuple]) -> None:
                    if lines:
                        copy.write("\n".join(map("\t".join, lines)) + "\n")

                yield load

    # Hash aggregates over a million staged lines spill to disk with the default 4 MB.
    WORK_MEM = "128MB"

    def create(self) -> None:
        super().create()
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [self.WORK_MEM])

    def drop(self) -> None:
        super().drop()
        with connection.cursor() as cursor:
            cursor.execute("RESET work_mem")

    def analyze(self, cursor: Any, table: str) -> None:
        cursor.execute(f"ANALYZE {table}")

    def write(self, report: SalesImportReport) -> None:
        with self.references_checked_setwise():
            super().write(report)

    @contextmanager
    def references_checked_setwise(self) -> Iterator[None]:
        """Check the new rows' foreign keys once for the whole file instead of row by row.

        PostgreSQL checks a foreign key with one trigger call per inserted row (at commit, as
        Django declares them deferred): for a million lines that is a third of the import.
        When the database role may set `session_replication_role` (a superuser, or
        `GRANT SET ON PARAMETER session_replication_role` on PostgreSQL 15+), the import
        instead takes the lock those triggers would take — FOR KEY SHARE on every referenced
        store, product and member, so a concurrent delete waits for the import or makes it
        fail — checks that every one exists, and inserts with triggers off for this
        transaction only (the order ids referenced by the lines are the orders it inserts).
        Without that right the triggers run as usual.
        """
        with connection.cursor() as cursor:
            try:
                with transaction.atomic():
                    cursor.execute("SET LOCAL session_replication_role = replica")
            except DatabaseError:
                yield
                return
            self.references_lock(cursor)
            try:
                yield
            finally:
                cursor.execute("SET LOCAL session_replication_role = origin")

    def references_lock(self, cursor: Any) -> None:
        """FOR KEY SHARE on every store, product and member the staged orders refer to;
        IntegrityError if one of them no longer exists."""
        quote = connection.ops.quote_name
        references = (
            (Store._meta.db_table, ORDERS, "store_id"),
            (Product._meta.db_table, STAGING, "product_id"),
            (Member._meta.db_table, ORDERS, "member_id"),
        )
        for target, source, column in references:
            cursor.execute(
                f"""
                SELECT (SELECT COUNT(*) FROM (
                            SELECT 1 FROM {quote(target)}
                            WHERE id IN (SELECT {column} FROM {source})
                            FOR KEY SHARE) locked),
                       (SELECT COUNT(DISTINCT {column}) FROM {source})
                """
            )
            locked, wanted = cursor.fetchone()
            if locked != wanted:
                raise IntegrityError(
                    f"{wanted - locked} {column} value(s) of the import refer to rows of "
                    f"{target} that no longer exist."
                )

    def orders_insert(self, now: dt.datetime) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                CREATE TEMPORARY TABLE {NEW_ORDERS}
                    (order_id bigint NOT NULL, store_id bigint NOT NULL, order_ref text NOT NULL)
                """
            )
            cursor.execute(
                f"""
                WITH inserted AS (
                    INSERT INTO {self.order_table} ({self.order_columns()})
                    {self.order_values_sql()}
                    ORDER BY o.first_row
                    ON CONFLICT (store_id, idempotency_key) DO NOTHING
                    RETURNING id, store_id, reference
                )
                INSERT INTO {NEW_ORDERS} (order_id, store_id, order_ref)
                SELECT id, store_id, reference FROM inserted
                """,
                self.order_params(now),
            )
            self.analyze(cursor, NEW_ORDERS)


class _SqliteStaging(_Staging):
    column_types = {
        "row_no": "integer NOT NULL",
        "store_id": "integer NOT NULL",
        "order_ref": "text NOT NULL",
        "member_kind": "text",
        "member_value": "text",
        "product_id": "integer NOT NULL",
        "quantity": "integer NOT NULL",
        "unit_price": "decimal NOT NULL",
        "discount": "decimal NOT NULL",
        "sold_at": "text NOT NULL",
    }

    def moment_value(self, moment: dt.datetime) -> Any:
        return connection.ops.adapt_datetimefield_value(moment)

    @contextmanager
    def loader(self) -> Iterator[Callable[[list[tuple]], None]]:
        placeholders = ", ".join(["%s"] * len(STAGING_COLUMNS))
        statement = f"INSERT INTO {STAGING} ({', '.join(STAGING_COLUMNS)}) VALUES ({placeholders})"
        with connection.cursor() as cursor:

            def load(lines: list[tuple]) -> None:
                if lines:
                    cursor.executemany(statement, lines)

            yield load

    def create(self) -> None:
        super().create()
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX {STAGING}_order ON {STAGING} (store_id, order_ref)")
            cursor.execute(f"CREATE INDEX {STAGING}_row ON {STAGING} (row_no)")

    def orders_insert(self, now: dt.datetime) -> None:
        """SQLite writers are serialised, so "not there yet" cannot change under us."""
        stamp = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                CREATE TEMPORARY TABLE {NEW_ORDERS} AS
                SELECT CAST(NULL AS BIGINT) AS order_id, o.store_id, o.order_ref, o.first_row
                FROM {ORDERS} o
                WHERE NOT EXISTS (SELECT 1 FROM {self.order_table} x
                                  WHERE x.store_id = o.store_id
                                    AND x.idempotency_key = %s || o.order_ref)
                """,
                [IDEMPOTENCY_PREFIX],
            )
            cursor.execute(
                f"CREATE UNIQUE INDEX {NEW_ORDERS}_key ON {NEW_ORDERS} (store_id, order_ref)"
            )
            cursor.execute(
                f"""
                INSERT INTO {self.order_table} ({self.order_columns()})
                {self.order_values_sql()}
                JOIN {NEW_ORDERS} n ON n.store_id = o.store_id AND n.order_ref = o.order_ref
                ORDER BY o.first_row
                """,
                self.order_params(stamp),
            )
            cursor.execute(
                f"""
                UPDATE {NEW_ORDERS} SET order_id = (
                    SELECT x.id FROM {self.order_table} x
                    WHERE x.store_id = {NEW_ORDERS}.store_id
                      AND x.idempotency_key = %s || {NEW_ORDERS}.order_ref
                )
                """,
                [IDEMPOTENCY_PREFIX],
            )
