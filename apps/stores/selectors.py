"""Reads for stores. Other apps read orders and stock through these functions."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.db.models import (
    BooleanField,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, ExtractHour, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.catalog.models import Category, Product
from apps.customers.models import Member
from apps.stores.access import VIEW_STORE, stores_for
from apps.stores.models import (
    LossBatch,
    LossReason,
    Order,
    OrderLine,
    StockLevel,
    StockMovement,
    Store,
)
from linli.imports.contract import formula_escape


def stores_visible(*, user: object) -> QuerySet[Store]:
    return stores_for(user, VIEW_STORE).select_related("region").order_by("code")


def order_key_used(*, store: Store, idempotency_key: str) -> bool:
    """Whether this store already has an order under this idempotency key."""
    return Order.objects.filter(store=store, idempotency_key=idempotency_key).exists()


def store_knows_member(
    *, store: Store, member: Member, excluding_order_id: int | None = None
) -> bool:
    """Whether `member` is one of this store's members — its home store, or it bought here:
    the members the owner's portal shows (apps.customers.selectors.members).
    `excluding_order_id` leaves one order out (the one the asking request made), so an API
    answer reveals only what the store knew before the request."""
    if member.is_erased:
        return False
    if member.home_store_id == store.pk:
        return True
    orders = Order.objects.filter(store=store, member=member)
    if excluding_order_id is not None:
        orders = orders.exclude(pk=excluding_order_id)
    return orders.exists()


def order_member_no_for_terminal(order: Order) -> str | None:
    """The member number a terminal's answer about `order` may carry: the order's member's,
    when the store knew her before this order (`store_knows_member`, the order itself left
    out), else None — an answer reveals no member the store did not already know."""
    if order.member_id is None:
        return None
    if store_knows_member(store=order.store, member=order.member, excluding_order_id=order.pk):
        return order.member.member_no
    return None


def store_member_by_number(*, store: Store, member_no: str) -> Member | None:
    """The member with this number if it is one of this store's members (home store, or
    bought here), else None — the same None as for a number nobody has, so a terminal cannot
    learn that another store's member exists, nor act in their name."""
    return store_members_by_numbers(store=store, member_nos=[member_no]).first()


def store_members_by_numbers(*, store: Store, member_nos: Iterable[str]) -> QuerySet[Member]:
    """Those of this store's members (home store, or bought here; not erased) whose numbers
    are among `member_nos`, in one query: the rule `store_member_by_number` applies to one
    number, for a batch (the tracking events API). A number missing from the answer is of
    nobody or of another store's member — the caller treats both alike."""
    bought_here = Order.objects.filter(store=store, member__isnull=False).values("member_id")
    return Member.objects.filter(is_erased=False, member_no__in=list(member_nos)).filter(
        Q(home_store=store) | Q(pk__in=bought_here)
    )


@dataclass(frozen=True)
class DayFigures:
    """One local day's counted orders and their revenue at a store."""

    day: dt.date
    order_count: int
    revenue: Decimal


class RefundsByDay(Protocol):
    def __call__(
        self, *, store_id: int, start: dt.datetime, end: dt.datetime
    ) -> dict[dt.date, Decimal]: ...


def store_recent_days(
    *, store: Store, refunds: RefundsByDay, days: int = 7, today: dt.date | None = None
) -> list[DayFigures]:
    """The store's orders and revenue on each of the `days` local days up to and including
    `today` (so far), newest first, a day without orders as 0: the counted orders' totals
    (cancelled and refunded orders left out) less the refunds given on them, by the order's
    day, as GMV and the daily KPI rows count them. Live, so an order cancelled after its night
    (an undelivered pre-order) drops out at once. `refunds` reads the refunds (procurement's
    `refunds_by_day`, handed in by the caller: the sales ledger does not read procurement).
    Two queries: one grouped over the (store, placed_at) index's range of these days, and the
    refunds'."""
    today = today or timezone.localdate()
    zone = timezone.get_current_timezone()
    first_day = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first_day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    totals = {
        row["day"]: row
        for row in Order.objects.filter(store=store, placed_at__gte=start, placed_at__lt=end)
        .exclude(status__in=Order.VOID_STATUSES)
        .annotate(day=TruncDate("placed_at", tzinfo=zone))
        .values("day")
        .annotate(order_count=Count("id"), revenue=Sum("total"))
    }
    refunded = refunds(store_id=store.pk, start=start, end=end)
    figures = []
    for offset in range(days):
        day = today - dt.timedelta(days=offset)
        row = totals.get(day)
        revenue = (row["revenue"] or Decimal("0.00")) if row else Decimal("0.00")
        figures.append(
            DayFigures(
                day=day,
                order_count=row["order_count"] if row else 0,
                revenue=revenue - refunded.get(day, Decimal("0.00")),
            )
        )
    return figures


def store_recent_orders(*, store: Store, limit: int = 20, with_members: bool = True) -> list[Order]:
    """The store's latest orders; with their members only when the viewer may see member data
    (`order.member_id` still tells an order had a member)."""
    orders = Order.objects.filter(store=store).order_by("-placed_at")
    if with_members:
        orders = orders.select_related("member")
    return list(orders[:limit])


# A product is low on stock at a store when its stock level there is below this: the store
# page's "low stock" list and the stock page's flag and filter.
LOW_STOCK_BELOW = 5


def store_low_stock(
    *, store: Store, below: int = LOW_STOCK_BELOW, limit: int = 20
) -> list[StockLevel]:
    return list(
        StockLevel.objects.filter(store=store, on_hand__lt=below)
        .select_related("product")
        .order_by("on_hand", "product__sku")[:limit]
    )


def store_stock_products(
    *,
    store: Store,
    on_order_ids: Iterable[int],
    query: str = "",
    low_only: bool = False,
    on_order_only: bool = False,
) -> QuerySet[Product]:
    """The store's products for its stock page: every product with a stock level here, and
    every product on order for it (`on_order_ids`, from the caller) even before its first
    receipt. Annotated with `has_level`, `on_hand` (0 without a level), `is_low` (a stock level
    below LOW_STOCK_BELOW, the store page's rule) and the last ledger row here
    (`last_moved_at`, `last_kind`, `last_quantity`; None when there is none). `query` matches
    the name, SKU or barcode; `low_only` keeps the low ones, `on_order_only` those on order.
    Sorted by name then SKU. One query per page (and one to count), whatever the rows."""
    on_order_ids = list(on_order_ids)
    levels = StockLevel.objects.filter(store=store, product=OuterRef("pk"))
    movements = StockMovement.objects.filter(store=store, product=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    products = Product.objects.annotate(
        has_level=Exists(levels),
        on_hand=Coalesce(Subquery(levels.values("on_hand")[:1]), Value(0)),
    ).annotate(
        is_low=ExpressionWrapper(
            Q(has_level=True, on_hand__lt=LOW_STOCK_BELOW), output_field=BooleanField()
        )
    )
    if on_order_only:
        products = products.filter(pk__in=on_order_ids)
    else:
        products = products.filter(Q(has_level=True) | Q(pk__in=on_order_ids))
    if low_only:
        products = products.filter(is_low=True)
    if query := query.strip():
        products = products.filter(
            Q(name__icontains=query) | Q(sku__icontains=query) | Q(barcode=query)
        )
    return products.annotate(
        last_moved_at=Subquery(movements.values("created_at")[:1]),
        last_kind=Subquery(movements.values("kind")[:1]),
        last_quantity=Subquery(movements.values("quantity")[:1]),
    ).order_by("name", "sku")


def store_stock_product(*, store: Store, product_id: int) -> StockLevel | None:
    """The product's stock level here, unsaved with on_hand 0 when the product has none (yet);
    None for an unknown product. One query."""
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        return None
    level = StockLevel.objects.filter(store=store, product=product).first()
    return level or StockLevel(store=store, product=product, on_hand=0)


def store_stock_movements(*, store: Store, product_id: int) -> QuerySet[StockMovement]:
    """The stock ledger of one product at the store, newest first (ties by id: one receipt's
    rows share a time), with the order and the person who moved it."""
    return (
        StockMovement.objects.filter(store=store, product_id=product_id)
        .select_related("order", "created_by")
        .order_by("-created_at", "-id")
    )


def order_lines_between(
    *, start: dt.datetime, end: dt.datetime, store_ids: list[int] | None = None
) -> QuerySet[OrderLine]:
    """Order lines of counted orders placed in [start, end), for analytics in other apps."""
    lines = OrderLine.objects.filter(order__placed_at__gte=start, order__placed_at__lt=end).exclude(
        order__status__in=Order.VOID_STATUSES
    )
    if store_ids is not None:
        lines = lines.filter(order__store_id__in=store_ids)
    return lines


def member_order_line_facts_between(*, start: dt.datetime, end: dt.datetime) -> QuerySet:
    """Set-wise facts for member profiles: one tuple per line of a counted member order placed
    in [start, end): (member_id, order_id, placed_at, category_id, line_total, discount).

    A values_list queryset, so callers can stream it (`.iterator()`) or hand its SQL to COPY.
    """
    return (
        order_lines_between(start=start, end=end)
        .filter(order__member__isnull=False)
        .order_by()
        .values_list(
            "order__member_id",
            "order_id",
            "order__placed_at",
            "product__category_id",
            "line_total",
            "discount",
        )
    )


def member_store_order_counts(*, start: dt.datetime, end: dt.datetime) -> QuerySet:
    """(member_id, store_id, counted orders) per member and store with a counted member order
    placed in [start, end), counted in SQL: what the repurchase measures of the KPI pack
    (next-month return rate, repeat buyers in the month) are computed from."""
    return (
        Order.objects.filter(member__isnull=False, placed_at__gte=start, placed_at__lt=end)
        .exclude(status__in=Order.VOID_STATUSES)
        .order_by()
        .values("member_id", "store_id")
        .annotate(orders=Count("id"))
        .values_list("member_id", "store_id", "orders")
    )


def member_lifetime_order_facts(*, before: dt.datetime) -> QuerySet:
    """(member_id, first placed_at, last placed_at, counted orders, Σ line_total of their lines)
    over every counted order placed before `before`, one per member who ever bought; one
    aggregate in SQL (orders left-joined to their lines)."""
    return (
        Order.objects.filter(member__isnull=False, placed_at__lt=before)
        .exclude(status__in=Order.VOID_STATUSES)
        .order_by()
        .values("member_id")
        .annotate(
            first_order_at=Min("placed_at"),
            last_order_at=Max("placed_at"),
            orders=Count("pk", distinct=True),
            spend=Sum("lines__line_total"),
        )
        .values_list("member_id", "first_order_at", "last_order_at", "orders", "spend")
    )


# --- Reads for the decision engine (apps.catalog): set-wise values, never model instances. ---


def basket_lines_between(
    *, start: dt.datetime, end: dt.datetime, store_ids: list[int] | None = None
) -> QuerySet:
    """(order_id, store_id, member_id or None, product_id) per counted order line placed in
    [start, end): the baskets behind co-purchase rules. A values_list to stream."""
    return (
        order_lines_between(start=start, end=end, store_ids=store_ids)
        .order_by()
        .values_list("order_id", "order__store_id", "order__member_id", "product_id")
    )


def daily_product_sales(
    *, start: dt.datetime, end: dt.datetime, store_ids: list[int] | None = None
) -> QuerySet:
    """(store_id, product_id, local day, units) of counted orders placed in [start, end),
    summed in SQL; days with no sale have no row."""
    return (
        order_lines_between(start=start, end=end, store_ids=store_ids)
        .order_by()
        .annotate(day=TruncDate("order__placed_at"))
        .values("order__store_id", "product_id", "day")
        .annotate(units=Sum("quantity"))
        .values_list("order__store_id", "product_id", "day", "units")
    )


def store_order_hours(
    *, start: dt.datetime, end: dt.datetime, store_ids: list[int] | None = None
) -> QuerySet:
    """(store_id, local hour 0–23, counted orders) placed in [start, end)."""
    orders = Order.objects.filter(placed_at__gte=start, placed_at__lt=end).exclude(
        status__in=Order.VOID_STATUSES
    )
    if store_ids is not None:
        orders = orders.filter(store_id__in=store_ids)
    return (
        orders.order_by()
        .annotate(hour=ExtractHour("placed_at"))
        .values("store_id", "hour")
        .annotate(orders=Count("id"))
        .values_list("store_id", "hour", "orders")
    )


def stock_on_hand(*, store_ids: list[int] | None = None) -> QuerySet:
    """(store_id, product_id, on_hand) of the stores' stock levels."""
    levels = StockLevel.objects.order_by()
    if store_ids is not None:
        levels = levels.filter(store_id__in=store_ids)
    return levels.values_list("store_id", "product_id", "on_hand")


def product_first_sale_times(*, start: dt.datetime, end: dt.datetime) -> QuerySet:
    """(product_id, first counted sale in [start, end)) per product sold in the window,
    aggregated in SQL."""
    return (
        order_lines_between(start=start, end=end)
        .order_by()
        .values("product_id")
        .annotate(first_sold_at=Min("order__placed_at"))
        .values_list("product_id", "first_sold_at")
    )


def member_basket_lines_between(
    *, start: dt.datetime, end: dt.datetime, member_ids: list[int] | None = None
) -> QuerySet:
    """(order_id, placed_at, member_id, product_id) per counted order line of members' orders
    placed in [start, end): the purchase histories behind personal suggestions."""
    lines = order_lines_between(start=start, end=end).filter(order__member__isnull=False)
    if member_ids is not None:
        lines = lines.filter(order__member_id__in=member_ids)
    return lines.order_by().values_list(
        "order_id", "order__placed_at", "order__member_id", "product_id"
    )


# --- Loss (waste and expiry): what the loss page, the KPI snapshot and the KPI pack read. ---

# Lost and sold goods are both valued at the product's (current) shelf price, so a loss rate
# compares like with like: discounts and promotions change revenue, not what was lost.
VALUE_FIELD = DecimalField(max_digits=16, decimal_places=2)
RATE_PLACES = Decimal("0.0001")


def _local_window(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(since, dt.time.min, tzinfo=tz),
        dt.datetime.combine(until, dt.time.min, tzinfo=tz),
    )


def _losses_between(start: dt.datetime, end: dt.datetime) -> QuerySet[StockMovement]:
    return StockMovement.objects.filter(
        kind=StockMovement.Kind.LOSS, created_at__gte=start, created_at__lt=end
    ).order_by()


def store_loss_values(*, start: dt.datetime, end: dt.datetime) -> dict[int, Decimal]:
    """{store_id: value of the units lost in [start, end) at the product's price}, summed in
    SQL; stores without a loss are absent. What the KPI snapshot's `loss_value` holds."""
    rows = (
        _losses_between(start, end)
        .values("store_id")
        .annotate(value=Sum(-F("quantity") * F("product__price"), output_field=VALUE_FIELD))
        .values_list("store_id", "value")
    )
    return {store_id: value.quantize(Decimal("0.01")) for store_id, value in rows}


@dataclass(frozen=True)
class LossRate:
    """Loss of one store (and category, or all categories: category_id None) over a window.

    `rate` = lost value / (sold value + lost value): the share of the goods that left the
    shelf which left it as loss. None when nothing was sold or lost."""

    store_id: int
    category_id: int | None
    category_name: str
    is_fresh: bool
    lost_units: int
    lost_value: Decimal
    sold_units: int
    sold_value: Decimal
    # With `with_reasons=True`: (reason, lost units, lost value) per reason with a loss, in
    # `LossReason` order; they sum to `lost_units` and `lost_value`.
    lost_by_reason: tuple[tuple[str, int, Decimal], ...] = ()

    @property
    def rate(self) -> Decimal | None:
        total = self.sold_value + self.lost_value
        if not total:
            return None
        return (self.lost_value / total).quantize(RATE_PLACES)

    @property
    def rate_percent(self) -> Decimal | None:
        rate = self.rate
        return None if rate is None else (rate * 100).quantize(Decimal("0.01"))


def loss_rates(
    *,
    store_ids: Iterable[int],
    since: dt.date,
    until: dt.date,
    by_category: bool = True,
    with_reasons: bool = False,
) -> list[LossRate]:
    """Loss per store (and per product category, the product's own leaf category) over the
    local days since <= day < until.

    - lost: LOSS movements created in the window (units and value at the product's price);
    - sold: lines of counted orders (not cancelled or refunded) placed in the window, units
      times the product's price. Order lines, not SALE movements: group-buy and imported
      orders are sales that take no stock through the ledger.

    Two grouped SQL aggregates (one per side), whatever the number of rows; a row per store
    (and category) with a loss or a sale, ordered by store id, then fresh categories first
    and by name. `with_reasons`: the loss side is grouped by reason as well and each row
    carries `lost_by_reason` (its totals are the sums of those groups)."""
    store_ids = list(store_ids)
    start, end = _local_window(since, until)
    keys = ["store_id", "product__category_id"] if by_category else ["store_id"]
    lost = (
        _losses_between(start, end)
        .filter(store_id__in=store_ids)
        .values(*keys, *(["reason"] if with_reasons else []))
        .annotate(
            units=Sum("quantity"),
            value=Sum(F("quantity") * F("product__price"), output_field=VALUE_FIELD),
        )
    )
    sale_keys = ["order__store_id", "product__category_id"] if by_category else ["order__store_id"]
    sold = (
        order_lines_between(start=start, end=end, store_ids=store_ids)
        .order_by()
        .values(*sale_keys)
        .annotate(
            units=Sum("quantity"),
            value=Sum(F("quantity") * F("product__price"), output_field=VALUE_FIELD),
        )
    )
    zero = Decimal("0.00")
    figures: dict[tuple[int, int | None], list] = {}
    reasons: dict[tuple[int, int | None], dict[str, tuple[int, Decimal]]] = {}
    for row in lost:
        key = (row["store_id"], row.get("product__category_id"))
        entry = figures.setdefault(key, [0, zero, 0, zero])
        entry[0] -= row["units"]
        entry[1] -= row["value"]
        if with_reasons:
            reasons.setdefault(key, {})[row["reason"]] = (-row["units"], -row["value"])
    for row in sold:
        key = (row["order__store_id"], row.get("product__category_id"))
        entry = figures.setdefault(key, [0, zero, 0, zero])
        entry[2], entry[3] = row["units"], row["value"]
    categories = (
        {
            category.pk: category
            for category in Category.objects.filter(
                pk__in={category_id for _store, category_id in figures}
            ).only("name", "is_fresh")
        }
        if by_category
        else {}
    )
    rates = []
    for (store_id, category_id), (
        lost_units,
        lost_value,
        sold_units,
        sold_value,
    ) in figures.items():
        by_reason = reasons.get((store_id, category_id), {})
        category = categories.get(category_id)
        rates.append(
            LossRate(
                store_id=store_id,
                category_id=category_id,
                category_name=category.name if category else "",
                is_fresh=bool(category and category.is_fresh),
                lost_units=lost_units,
                lost_value=lost_value.quantize(Decimal("0.01")),
                sold_units=sold_units,
                sold_value=sold_value.quantize(Decimal("0.01")),
                lost_by_reason=tuple(
                    (reason, by_reason[reason][0], by_reason[reason][1].quantize(Decimal("0.01")))
                    for reason in LossReason.values
                    if reason in by_reason
                ),
            )
        )
    rates.sort(key=lambda rate: (rate.store_id, not rate.is_fresh, rate.category_name))
    return rates


def store_loss_candidates(*, store: Store, query: str, limit: int = 20) -> list[StockLevel]:
    """The store's stock levels with units on hand whose product matches `query`: part of the
    name, or the start of the barcode or SKU (a scanned barcode is a whole one). Empty for an
    empty query."""
    query = query.strip()
    if not query:
        return []
    return list(
        StockLevel.objects.filter(store=store, on_hand__gt=0)
        .filter(
            Q(product__name__icontains=query)
            | Q(product__barcode__startswith=query)
            | Q(product__sku__istartswith=query)
        )
        .select_related("product")
        .order_by("product__name", "product__sku")[:limit]
    )


def store_stocked_products(*, store: Store) -> QuerySet[Product]:
    """Products the store has units of: what a loss may name."""
    return Product.objects.filter(stock_levels__store=store, stock_levels__on_hand__gt=0)


def store_loss_stock(*, store: Store) -> list[StockLevel]:
    """Every stock level of the store with units on hand, with its product, by name: what the
    batch loss form offers (one query whatever the number of products)."""
    return list(
        StockLevel.objects.filter(store=store, on_hand__gt=0)
        .select_related("product")
        .order_by("product__name", "product__sku")
    )


def store_loss_batch(*, store: Store, key: object) -> LossBatch | None:
    """The loss list recorded at the store with this form key, if any."""
    return LossBatch.objects.filter(store=store, key=key).first()


def store_recent_losses(
    *, store: Store, since: dt.datetime, limit: int = 200
) -> list[StockMovement]:
    """The store's loss rows since `since`, newest first, with product and author."""
    return list(
        StockMovement.objects.filter(
            store=store, kind=StockMovement.Kind.LOSS, created_at__gte=since
        )
        .select_related("product", "created_by")
        .order_by("-created_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class CategoryLossRow:
    """One category's loss this month and last month (None: nothing sold or lost then)."""

    category_name: str
    is_fresh: bool
    current: LossRate | None
    previous: LossRate | None


@dataclass(frozen=True)
class MonthlyLossRates:
    """A store's loss per category for this month (to date) and the whole of last month,
    with the store's totals; only categories with a loss in either month have a row."""

    this_month: dt.date
    last_month: dt.date
    rows: list[CategoryLossRow]
    current_total: LossRate | None
    previous_total: LossRate | None


def store_loss_rates_by_month(*, store: Store, today: dt.date) -> MonthlyLossRates:
    """`loss_rates` of one store for `today`'s month and the month before, per category and
    in total (four grouped queries)."""
    this_month = today.replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    next_month = (this_month + dt.timedelta(days=32)).replace(day=1)
    windows = {"current": (this_month, next_month), "previous": (last_month, this_month)}
    by_category: dict[str, dict[int | None, LossRate]] = {}
    totals: dict[str, LossRate | None] = {}
    for key, (since, until) in windows.items():
        by_category[key] = {
            rate.category_id: rate
            for rate in loss_rates(store_ids=[store.pk], since=since, until=until)
        }
        overall = loss_rates(store_ids=[store.pk], since=since, until=until, by_category=False)
        totals[key] = overall[0] if overall else None
    rows = []
    for category_id in {*by_category["current"], *by_category["previous"]}:
        current = by_category["current"].get(category_id)
        previous = by_category["previous"].get(category_id)
        if not ((current and current.lost_units) or (previous and previous.lost_units)):
            continue
        named = current or previous
        rows.append(
            CategoryLossRow(
                category_name=named.category_name,
                is_fresh=named.is_fresh,
                current=current,
                previous=previous,
            )
        )
    rows.sort(key=lambda row: (not row.is_fresh, row.category_name))
    return MonthlyLossRates(
        this_month=this_month,
        last_month=last_month,
        rows=rows,
        current_total=totals["current"],
        previous_total=totals["previous"],
    )


# --- HQ's loss report: every store × category, worst first (the admin page and its CSV). ---

# The default window of the report: the last this many local days, today included.
LOSS_REPORT_DAYS = 30


@dataclass(frozen=True)
class LossReportRow:
    """One store × category of `loss_rates(by_category=True, with_reasons=True)`, with its
    store (and region) for display."""

    store: Store
    figures: LossRate


@dataclass(frozen=True)
class LossReportTotal:
    """The sums of a set of report rows (a region's, or the network's): `figures` is a
    LossRate of store_id 0 and no category, so its rate is computed exactly as a row's."""

    label: str
    figures: LossRate


@dataclass(frozen=True)
class LossReport:
    """HQ's loss rate by store and category for the local days since <= day < until."""

    since: dt.date
    until: dt.date
    rows: list[LossReportRow]
    regions: list[LossReportTotal]
    network: LossReportTotal
    # The reasons with a loss somewhere in the report, in `LossReason` order (the page's columns).
    reasons: list[str]
    # Rows without a loss (sales only, 0 %) in the window, and whether `rows` holds them: by
    # default it does not (the totals always count them).
    lossless_rows: int = 0
    with_lossless_rows: bool = False

    @property
    def hidden_rows(self) -> int:
        """How many store × category rows without a loss `rows` leaves out."""
        return 0 if self.with_lossless_rows else self.lossless_rows


def _worst_first(figures: LossRate) -> tuple:
    rate = figures.rate
    return (rate is None, -(rate or 0), -figures.lost_value)


def _loss_sum(rates: list[LossRate]) -> LossRate:
    zero = Decimal("0.00")
    by_reason: dict[str, list] = {}
    for rate in rates:
        for reason, units, value in rate.lost_by_reason:
            entry = by_reason.setdefault(reason, [0, zero])
            entry[0] += units
            entry[1] += value
    return LossRate(
        store_id=0,
        category_id=None,
        category_name="",
        is_fresh=False,
        lost_units=sum(rate.lost_units for rate in rates),
        lost_value=sum((rate.lost_value for rate in rates), zero),
        sold_units=sum(rate.sold_units for rate in rates),
        sold_value=sum((rate.sold_value for rate in rates), zero),
        lost_by_reason=tuple(
            (reason, *by_reason[reason]) for reason in LossReason.values if reason in by_reason
        ),
    )


def loss_report(
    *,
    since: dt.date,
    until: dt.date,
    region_id: int | None = None,
    store_id: int | None = None,
    with_lossless_rows: bool = False,
) -> LossReport:
    """`loss_rates(by_category=True, with_reasons=True)` of every store (or a region's, or
    one store) over since <= day < until: one row per store × category with a loss — and,
    with `with_lossless_rows`, also those with a sale only (0 %; otherwise only counted, in
    `lossless_rows`) — worst rate first (rows without a rate last, then by lost value, store
    code and category), with per-region and network totals summed from every row, shown or
    not. For HQ: no access scoping here, the caller checks the permission. Five queries
    whatever the number of rows."""
    stores = Store.objects.all()
    if region_id is not None:
        stores = stores.filter(region_id=region_id)
    if store_id is not None:
        stores = stores.filter(pk=store_id)
    rates = loss_rates(
        store_ids=stores.values_list("pk", flat=True),
        since=since,
        until=until,
        by_category=True,
        with_reasons=True,
    )
    by_id = Store.objects.select_related("region").in_bulk({rate.store_id for rate in rates})
    rows = [LossReportRow(store=by_id[rate.store_id], figures=rate) for rate in rates]
    rows.sort(
        key=lambda row: (
            *_worst_first(row.figures),
            row.store.code,
            not row.figures.is_fresh,
            row.figures.category_name,
        )
    )
    per_region: dict[int, list[LossReportRow]] = {}
    for row in rows:
        per_region.setdefault(row.store.region_id, []).append(row)
    regions = [
        LossReportTotal(
            label=region_rows[0].store.region.name,
            figures=_loss_sum([row.figures for row in region_rows]),
        )
        for region_rows in per_region.values()
    ]
    regions.sort(key=lambda total: (*_worst_first(total.figures), total.label))
    network = LossReportTotal(label="", figures=_loss_sum([row.figures for row in rows]))
    with_loss = [row for row in rows if row.figures.lost_units > 0]
    return LossReport(
        since=since,
        until=until,
        rows=rows if with_lossless_rows else with_loss,
        regions=regions,
        network=network,
        reasons=[reason for reason, _units, _value in network.figures.lost_by_reason],
        lossless_rows=len(rows) - len(with_loss),
        with_lossless_rows=with_lossless_rows,
    )


def loss_report_csv(*, report: LossReport) -> bytes:
    """The report's rows as CSV (UTF-8 with a BOM, for Excel), the page's rows (without the
    rows without a loss unless the report holds them) in the page's order: store,
    category, sold and lost units and value, lost units and value per reason (every
    `LossReason`, so the columns do not move between periods), the rate in %. Text cells are
    formula-escaped."""
    out = io.StringIO()
    writer = csv.writer(out)
    reason_headers = []
    for label in LossReason.labels:
        reason_headers += [
            _("%(reason)s: units") % {"reason": label},
            _("%(reason)s: value") % {"reason": label},
        ]
    writer.writerow(
        [
            _("Region"),
            _("Store code"),
            _("Store"),
            _("Category"),
            _("Units sold"),
            _("Value sold"),
            _("Units lost"),
            _("Value lost"),
            *reason_headers,
            _("Loss rate (%)"),
        ]
    )
    for row in report.rows:
        figures = row.figures
        lost = {reason: (units, value) for reason, units, value in figures.lost_by_reason}
        reason_cells = []
        for reason in LossReason.values:
            units, value = lost.get(reason, (0, Decimal("0.00")))
            reason_cells += [units, value]
        rate = figures.rate_percent
        writer.writerow(
            [
                formula_escape(row.store.region.name),
                formula_escape(row.store.code),
                formula_escape(row.store.name),
                formula_escape(figures.category_name),
                figures.sold_units,
                figures.sold_value,
                figures.lost_units,
                figures.lost_value,
                *reason_cells,
                "" if rate is None else rate,
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
