"""Reading a sales-history file: every line checked, lines grouped into orders as they come.

The fast path looks every cell up in dictionaries of values already seen valid (prices,
quantities, times and identities repeat a lot in a sales file); any miss sends the line through
the full check, which reports the errors and remembers the valid values. The checks that need
more than one line (a SKU twice in one order, lines of one order disagreeing on time or member,
an order total too large) run on the orders kept here, so they cost a dictionary lookup a line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from apps.catalog.models import Product
from apps.customers.services.imports import member_identity_parse
from apps.stores.models import IMPORTED_ORDER_KEY_PREFIX, Store
from linli.imports.contract import (
    UNKNOWN_SKU,
    UNKNOWN_STORE,
    CellError,
    Column,
    ErrorLog,
    UnreadableRow,
    has_line_break,
    line_break_reason,
    local_zone,
    moment_latest,
    parse_decimal,
    parse_int,
    parse_moment,
)

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
IDEMPOTENCY_PREFIX = IMPORTED_ORDER_KEY_PREFIX
ORDER_REF_MAX_LENGTH = 64 - len(IDEMPOTENCY_PREFIX)
MAX_QUANTITY = 2_147_483_647
MAX_LINE_TOTAL = Decimal("9999999999.99")
ZERO = Decimal("0.00")
ZERO_PAIR = (ZERO, "0.00")
# The identity of a line without one; a tuple, so that it is true in the cache lookups.
NO_MEMBER: tuple[str, str] | tuple[None, None] = (None, None)


class PendingOrder:
    """One order of the file, built up line by line.

    `products` maps each product id to the row of its line (the rows of the order);
    `sealed` is set once the order is handed to the writer (see `SalesFileReader.read_chunk`);
    `existing` is set when the order was imported before; `order_id` and `member_id` are
    filled in by the writer.
    """

    __slots__ = (
        "discount",
        "existing",
        "first_row",
        "identity",
        "member_id",
        "order_id",
        "products",
        "ref",
        "sealed",
        "sold_at",
        "store_id",
        "total",
    )

    def __init__(
        self, store_id: str, ref: str, identity: tuple, sold_at: str, first_row: int
    ) -> None:
        self.store_id = store_id
        self.ref = ref
        self.identity = identity
        self.sold_at = sold_at  # ISO 8601 in UTC: equal texts are equal instants
        self.first_row = first_row
        self.total = ZERO
        self.discount = ZERO
        self.products: dict[str, int] = {}
        self.sealed = False
        self.existing = False
        self.order_id: int | None = None
        self.member_id: int | None = None

    @property
    def idempotency_key(self) -> str:
        return IDEMPOTENCY_PREFIX + self.ref


# (order, product id, quantity, unit price, discount, line total) — ids and numbers as text.
Line = tuple[PendingOrder, str, str, str, str, str]


@dataclass
class ChunkRead:
    """What one chunk of the file added: orders seen for the first time, valid lines, and the
    orders sealed now with their totals at this point (order, total, discount as text)."""

    new_orders: list[PendingOrder]
    lines: list[Line]
    sealed: list[tuple[PendingOrder, str, str]]


class SalesFileReader:
    """Checks lines against stores and products loaded once and groups them into orders."""

    CACHE_LIMIT = 200_000

    def __init__(self, *, positions: dict[str, int], width: int, log: ErrorLog) -> None:
        self.log = log
        self.width = width
        self.position = {column.name: positions.get(column.name, -1) for column in SALES_COLUMNS}
        self.fast = all(position >= 0 for position in self.position.values())
        self.stores = {code: str(pk) for code, pk in Store.objects.values_list("code", "pk")}
        self.products = {sku: str(pk) for sku, pk in Product.objects.values_list("sku", "pk")}
        self.zone = local_zone()
        self.latest = moment_latest()
        self.orders: dict[tuple[str, str], PendingOrder] = {}
        # Orders first seen in the last chunk read; orders that got a line after being sealed.
        self.unsealed: list[PendingOrder] = []
        self.late: set[PendingOrder] = set()
        self.too_large: set[PendingOrder] = set()
        # Values seen valid, by raw cell text.
        self.quantities: dict[str, tuple[int, str]] = {}
        self.amounts: dict[str, tuple[Decimal, str]] = {}
        self.moments: dict[str, str] = {}
        self.identities: dict[str, tuple] = {"": NO_MEMBER}
        # The columns of the line being validated whose cell holds a line break.
        self.broken: set[str] = set()

    def read_chunk(self, chunk: list[tuple[int, list[str]]]) -> ChunkRead:
        for cache in (self.quantities, self.amounts, self.moments, self.identities):
            if len(cache) > self.CACHE_LIMIT:
                cache.clear()
        self.identities[""] = NO_MEMBER
        new_orders: list[PendingOrder] = []
        lines: list[Line] = []
        add_order, add_line, late_add = new_orders.append, lines.append, self.late.add
        too_large = self.too_large
        width, fast = self.width, self.fast
        stores, products, orders = self.stores, self.products, self.orders
        quantities, amounts = self.quantities, self.amounts
        moments, identities = self.moments, self.identities
        learn = self._learn
        position = self.position
        at_store, at_ref = position["store_code"], position["order_ref"]
        at_identity, at_sku = position["member_identity"], position["sku"]
        at_quantity, at_price = position["quantity"], position["unit_price"]
        at_discount, at_sold = position["discount"], position["sold_at"]
        for numbered in chunk:
            number, cells = numbered
            try:
                if not fast or len(cells) != width:
                    raise KeyError
                ref = cells[at_ref]
                if (
                    not ref
                    or len(ref) > ORDER_REF_MAX_LENGTH
                    or not ref.isprintable()
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
                line_total = price * quantity - discount
                if line_total < 0 or line_total > MAX_LINE_TOTAL:
                    raise KeyError
                cell = cells[at_identity]
                identity = identities.get(cell) or learn(self._identity_learn, cell)
                cell = cells[at_sold]
                sold_at = moments.get(cell) or learn(self._moment, cell)
                store_id = stores[cells[at_store]]
                product_id = products[cells[at_sku]]
            except KeyError:
                checked = self.validate(numbered)
                if checked is None:
                    continue
                (
                    store_id,
                    ref,
                    identity,
                    product_id,
                    quantity_text,
                    price_text,
                    discount,
                    discount_text,
                    line_total,
                    sold_at,
                ) = checked
            order = orders.get((store_id, ref))
            if order is None:
                order = orders[store_id, ref] = PendingOrder(
                    store_id, ref, identity, sold_at, number
                )
                add_order(order)
            else:
                if order.sold_at != sold_at or order.identity != identity:
                    self._disagreement(number, order, sold_at=sold_at, identity=identity)
                    continue
                if product_id in order.products:
                    self._duplicate(number, order, product_id)
                    continue
                if order.sealed:
                    late_add(order)
            order.products[product_id] = number
            order.total += line_total
            order.discount += discount
            if order.total > MAX_LINE_TOTAL and order not in too_large:
                # Now, not at the end: the order may be sent with the next chunk.
                self._too_large(order)
            add_line((order, product_id, quantity_text, price_text, discount_text, str(line_total)))
        # Orders first seen in the chunk before are taken as complete: a POS export lists an
        # order's lines together. A line that comes later still counts (`late`).
        sealed = [(order, str(order.total), str(order.discount)) for order in self.unsealed]
        for order in self.unsealed:
            order.sealed = True
        self.unsealed = new_orders
        return ChunkRead(new_orders=new_orders, lines=lines, sealed=sealed)

    # -- errors that need more than one line -------------------------------------------------

    def _disagreement(
        self, number: int, order: PendingOrder, *, sold_at: str, identity: tuple
    ) -> None:
        numbers = {"ref": order.ref, "row": order.first_row}
        if order.sold_at != sold_at:
            self.log.add(
                number,
                "sold_at",
                "order_mismatch",
                _("Lines of order %(ref)s must share one sale time (see row %(row)d).") % numbers,
            )
        if order.identity != identity:
            self.log.add(
                number,
                "member_identity",
                "order_mismatch",
                _("Lines of order %(ref)s must share one member (see row %(row)d).") % numbers,
            )

    def _too_large(self, order: PendingOrder) -> None:
        self.too_large.add(order)
        self.log.add(
            order.first_row,
            "order_ref",
            "too_large",
            _("The total of order %(ref)s is too large.") % {"ref": order.ref},
        )

    def _duplicate(self, number: int, order: PendingOrder, product_id: str) -> None:
        self.log.add(
            number,
            "sku",
            "duplicate",
            _("Order %(ref)s already has a line for this SKU on row %(row)d.")
            % {"ref": order.ref, "row": order.products[product_id]},
        )

    # -- one line ------------------------------------------------------------------------------

    @staticmethod
    def _learn(parser: Any, cell: str) -> Any:
        """Parse a cell not seen before (remembering it when valid); KeyError if invalid."""
        try:
            return parser(cell.strip(), cell)
        except CellError:
            raise KeyError(cell) from None

    def _identity_learn(self, raw: str, cell: str) -> tuple[str, str]:
        if has_line_break(raw):
            raise CellError("invalid_text", line_break_reason())  # `validate` reports it
        self.identities[cell] = member_identity_parse(raw)
        return self.identities[cell]

    def _cell(self, cells: Sequence[str], column: str) -> str:
        """The stripped cell; "" when absent or refused for a line break (reported then)."""
        position = self.position[column]
        if position < 0 or position >= len(cells) or column in self.broken:
            return ""
        return cells[position].strip()

    def validate(self, numbered: tuple[int, list[str]]) -> tuple | None:
        """The full check of one line: logs every error; returns (store id, order ref,
        identity, product id, quantity text, price text, discount, discount text, line total,
        sale time) or None."""
        number, cells = numbered
        add = self.log.add
        if isinstance(cells, UnreadableRow):
            add(number, "", "unreadable_row", cells.reason)
            return None
        errors_before = self.log.count
        if len(cells) > self.width and any(cell.strip() for cell in cells[self.width :]):
            add(
                number,
                "",
                "too_many_cells",
                _("The row has %(cells)d cells but the header has %(columns)d.")
                % {"cells": len(cells), "columns": self.width},
            )
        # Every column is single-line: a line break is an unclosed quote that swallowed rows.
        self.broken = set()
        for column, position in self.position.items():
            if 0 <= position < len(cells) and has_line_break(cells[position].strip()):
                self.broken.add(column)
                add(number, column, "invalid_text", line_break_reason())
        store_code = self._cell(cells, "store_code")
        store_id = self.stores.get(store_code)
        if store_id is None:
            self._missing_or_unknown(number, "store_code", store_code)
        order_ref = self._cell(cells, "order_ref")
        if not order_ref:
            self._missing_or_unknown(number, "order_ref", order_ref)
        elif len(order_ref) > ORDER_REF_MAX_LENGTH:
            add(
                number,
                "order_ref",
                "too_long",
                _("The text is longer than %(max)d characters.") % {"max": ORDER_REF_MAX_LENGTH},
            )
        elif not order_ref.isprintable():
            add(
                number,
                "order_ref",
                "invalid_text",
                _("The order reference contains control characters (tab, line break, …)."),
            )
        identity = self._identity(number, self._cell(cells, "member_identity"))
        sku = self._cell(cells, "sku")
        product_id = self.products.get(sku)
        if product_id is None:
            self._missing_or_unknown(number, "sku", sku)
        quantity = self._parse(number, cells, "quantity", self._quantity)
        unit_price = self._parse(number, cells, "unit_price", self._amount)
        discount = (
            self._parse(number, cells, "discount", self._amount)
            if self._cell(cells, "discount")
            else ZERO_PAIR
        )
        sold_at = self._parse(number, cells, "sold_at", self._moment)
        line_total = None
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
        if None in (store_id, product_id, line_total, sold_at) or not order_ref:
            return None  # a required column is missing from the header (reported there)
        return (
            store_id,
            order_ref,
            identity,
            product_id,
            quantity[1],
            unit_price[1],
            discount[0],
            discount[1],
            line_total,
            sold_at,
        )

    def _missing_or_unknown(self, number: int, column: str, value: str) -> None:
        if self.position[column] < 0 or column in self.broken:
            return  # reported once, at the header (or as the cell's line break)
        if not value:
            self.log.add(number, column, "required", _("A value is required."))
        elif column == "store_code":
            UNKNOWN_STORE.add(self.log, row=number, column=column, code=value)
        else:
            UNKNOWN_SKU.add(self.log, row=number, column=column, code=value)

    def _parse(self, number: int, cells: Sequence[str], column: str, parser: Any) -> Any:
        if column in self.broken:
            return None  # reported as the cell's line break
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
        self.moments[cell] = moment.astimezone(dt.UTC).isoformat()
        return self.moments[cell]

    def _identity(self, number: int, raw: str) -> tuple:
        if not raw:
            return NO_MEMBER
        try:
            return member_identity_parse(raw)
        except CellError as problem:
            self.log.add(number, "member_identity", problem.code, problem.reason)
            return NO_MEMBER
