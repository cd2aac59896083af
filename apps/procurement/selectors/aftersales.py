"""Reads of after-sales (docs/after-sales.md): the compensation policy that applies to a case, a
store's cases, a case with its photos, the orders a case may be opened on, and the supplier
quality score HQ buyers see in the admin.

Every read that takes a `store` expects the caller to have checked access to that store
(`apps.stores.access.store_or_403(user, store_id, AFTER_SALES)`); these functions only keep
another store's rows out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, DateField, F, Max, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Least, TruncDate, TruncMonth
from django.utils import timezone

from apps.procurement.models import (
    AfterSalesCase,
    AfterSalesPhoto,
    CaseKind,
    ChargedTo,
    CompensationPolicy,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderSource,
    Remedy,
    SupplierProduct,
)
from apps.stores.models import Order, OrderLine, Store
from linli.params import is_ascii_number
from linli.phones import phone_normalise

CASE_LIST_LIMIT = 100
RECENT_ORDER_LIMIT = 10
# Orders a member can complain about: paid and beyond, not cancelled or refunded.
CASE_ORDER_STATUSES = (Order.Status.PAID, Order.Status.READY, Order.Status.COMPLETED)
# A case whose refund was given or decided: its amount goes back to the member, so it was not
# sold. The one definition: the KPI pack's GMV and the stores' daily revenue
# (`refunds_by_store`) and the campaign reviews' "sold after refunds" (`refunds_by_order`,
# handed to campaigns by apps.campaigns.sources) all read it.
REFUNDED_CASE_STATUSES = (AfterSalesCase.Status.APPROVED, AfterSalesCase.Status.RESOLVED)


def _refunds_given() -> QuerySet[AfterSalesCase]:
    """The refunds given: approved or resolved cases with a refund as remedy. Open, rejected,
    replacement and coupon cases are not refunds."""
    return AfterSalesCase.objects.filter(status__in=REFUNDED_CASE_STATUSES, remedy=Remedy.REFUND)


def _refunds_on_counted_orders(start: dt.datetime, end: dt.datetime) -> QuerySet[AfterSalesCase]:
    """The refunds given (`_refunds_given`) on counted orders (`Order.VOID_STATUSES` excluded)
    placed in [start, end), whatever day they were decided (a refund belongs to the sale it
    undoes): what GMV takes off."""
    return (
        _refunds_given()
        .filter(order__placed_at__gte=start, order__placed_at__lt=end)
        .exclude(order__status__in=Order.VOID_STATUSES)
        .order_by()
    )


def refunds_by_store(*, start: dt.datetime, end: dt.datetime) -> dict[int, Decimal]:
    """Per store: the refunds given on its counted orders placed in [start, end)
    (`_refunds_on_counted_orders`). One grouped query."""
    return dict(
        _refunds_on_counted_orders(start, end)
        .values("order__store_id")
        .annotate(refunded=Sum("amount"))
        .values_list("order__store_id", "refunded")
    )


def refunds_by_day(
    *, store_id: int, start: dt.datetime, end: dt.datetime
) -> dict[dt.date, Decimal]:
    """Per local day: the refunds given on the store's counted orders placed that day, in
    [start, end) (`_refunds_on_counted_orders`, the definition `refunds_by_store` gives GMV
    and the daily KPI rows), by the order's day. The store page's "last 7 days". One grouped
    query."""
    zone = timezone.get_current_timezone()
    return dict(
        _refunds_on_counted_orders(start, end)
        .filter(order__store_id=store_id)
        .annotate(day=TruncDate("order__placed_at", tzinfo=zone))
        .values("day")
        .annotate(refunded=Sum("amount"))
        .values_list("day", "refunded")
    )


def refunded_order_days(*, decided_since: dt.datetime) -> set[dt.date]:
    """The local days on which the counted orders were placed that got a refund decided at or
    after `decided_since`: the stores' daily revenue of those days changed (the hourly job
    recomputes them, so a short box refunded days after its order leaves that day's figure
    as the month's GMV counts it). One query."""
    zone = timezone.get_current_timezone()
    return set(
        _refunds_given()
        .filter(decided_at__gte=decided_since)
        .exclude(order__status__in=Order.VOID_STATUSES)
        .annotate(day=TruncDate("order__placed_at", tzinfo=zone))
        .order_by()
        .values_list("day", flat=True)
        .distinct()
    )


def refunds_latest_decided_by_month() -> dict[dt.date, dt.datetime]:
    """Per local month (its first day) of the counted orders that got a refund: when the
    latest refund given on that month's orders was decided. The KPI pack's nightly refresh
    compares it with when the month's figures were computed. One grouped query over the
    refunds given (few: a refund is a case HQ decided)."""
    zone = timezone.get_current_timezone()
    return dict(
        _refunds_given()
        .exclude(order__status__in=Order.VOID_STATUSES)
        .exclude(decided_at__isnull=True)
        .annotate(month=TruncMonth("order__placed_at", tzinfo=zone, output_field=DateField()))
        .order_by()
        .values("month")
        .annotate(latest=Max("decided_at"))
        .values_list("month", "latest")
    )


def refunds_by_order(*, order_ids: list[int]) -> dict[int, Decimal]:
    """Per order of `order_ids` with a refund: the refunds given on it (`_refunds_given`),
    whatever day they were decided. The caller picks the orders (the campaign review's are
    counted ones). One grouped query."""
    return dict(
        _refunds_given()
        .filter(order_id__in=order_ids)
        .order_by()
        .values("order_id")
        .annotate(refunded=Sum("amount"))
        .values_list("order_id", "refunded")
    )


# --- the compensation policy -------------------------------------------------------------------


def order_line_units_amount(*, line: OrderLine, units: int) -> Decimal:
    """What `units` of the line cost the member: their share of the line's total (discounts
    spread evenly), to the cent, half up. 1 of a 3-unit line of ¥30.00 is ¥10.00."""
    if line.quantity <= 0:
        return Decimal("0.00")
    return (line.line_total * units / line.quantity).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def compensation_policy_for(*, kind: str, amount: Decimal) -> CompensationPolicy | None:
    """The active policy row of `kind` that covers `amount`: the one with the smallest
    `max_amount` ≥ amount (a case of exactly `max_amount` is covered), else the kind's
    open-ended row (no `max_amount`), else None. One query (`compensation_policies_for`)."""
    return compensation_policies_for(kind=kind, amounts=[amount])[amount]


def compensation_policies_for(
    *, kind: str, amounts: Iterable[Decimal]
) -> dict[Decimal, CompensationPolicy | None]:
    """{amount: the policy row of `kind` that covers it} for many amounts, in one query (the
    kind's active rows are few): the smallest `max_amount` ≥ the amount, else the open-ended
    row, else None. The one rule (`compensation_policy_for` asks it for one amount)."""
    rows = list(CompensationPolicy.objects.filter(kind=kind, is_active=True))
    bounded = sorted(
        (row for row in rows if row.max_amount is not None), key=lambda row: row.max_amount
    )
    open_ended = next((row for row in rows if row.max_amount is None), None)
    return {
        amount: next((row for row in bounded if row.max_amount >= amount), open_ended)
        for amount in amounts
    }


# --- a store's cases ---------------------------------------------------------------------------


def store_case_by_form_key(*, store: Store, key: object) -> AfterSalesCase | None:
    """The case the store's portal form with this key opened, if any (the double-tap check)."""
    return AfterSalesCase.objects.filter(store=store, form_key=key).first()


def store_cases(*, store: Store, status: str = "") -> list[AfterSalesCase]:
    """The store's cases, newest first, at most CASE_LIST_LIMIT, optionally of one status;
    each with its order, member and supplier and `photo_count`. One query."""
    cases = AfterSalesCase.objects.filter(store=store)
    if status:
        cases = cases.filter(status=status)
    return list(
        cases.select_related("order", "member", "supplier")
        .annotate(photo_count=Count("photos"))
        .order_by("-opened_at", "-pk")[:CASE_LIST_LIMIT]
    )


def store_case_counts(*, store: Store) -> dict[str, int]:
    """{status: number of the store's cases}, every status present (0 when none). One query."""
    counts = dict.fromkeys(AfterSalesCase.Status.values, 0)
    rows = (
        AfterSalesCase.objects.filter(store=store)
        .order_by()
        .values_list("status")
        .annotate(count=Count("pk"))
    )
    counts.update(dict(rows))
    return counts


def store_case(*, store: Store, case_id: int) -> AfterSalesCase | None:
    """The case if it belongs to `store` (None otherwise, also for unknown ids), with its
    order, line and product, member, supplier, policy, the users who opened and decided it, and
    its photos. Two queries."""
    return (
        AfterSalesCase.objects.filter(store=store, pk=case_id)
        .select_related(
            "order",
            "order_line__product",
            "member",
            "supplier",
            "policy",
            "opened_by",
            "decided_by",
        )
        .prefetch_related(
            Prefetch("photos", queryset=AfterSalesPhoto.objects.order_by("uploaded_at", "id"))
        )
        .first()
    )


def store_case_photo(*, store: Store, case_id: int, photo_id: int) -> AfterSalesPhoto | None:
    """The photo if it belongs to this case of this store; None otherwise. One query."""
    return (
        AfterSalesPhoto.objects.filter(pk=photo_id, case_id=case_id, case__store=store)
        .select_related("case")
        .first()
    )


# --- orders a case may be opened on ------------------------------------------------------------


def _case_orders(store: Store) -> QuerySet[Order]:
    return Order.objects.filter(store=store, status__in=CASE_ORDER_STATUSES)


def store_case_order(*, store: Store, order_id: int) -> Order | None:
    """The store's order with this id that a case may be opened on (paid, ready or completed),
    with its lines and their products; None otherwise (another store's order too). Two
    queries."""
    return (
        _case_orders(store)
        .filter(pk=order_id)
        .select_related("member")
        .prefetch_related("lines__product")
        .first()
    )


def store_case_order_candidates(*, store: Store, text: str, by_member: bool = False) -> list[Order]:
    """The store's orders a case may be opened on that match `text`: an order id, an order
    reference, or, with `by_member` (the caller may see member data), a member (member number
    or phone) whose most recent orders here are listed (at most RECENT_ORDER_LIMIT), newest
    first. Only this store's orders are ever returned. At most two queries."""
    text = text.strip()
    if not text:
        return []
    match = Q(reference=text)
    if is_ascii_number(text) and len(text) <= 12:
        match |= Q(pk=int(text))
    member_match = Q(member__member_no=text)
    try:
        member_match |= Q(member__phone=phone_normalise(text))
    except ValidationError:
        pass
    exact = list(
        _case_orders(store).filter(match).select_related("member").order_by("-placed_at")[:5]
    )
    if exact or not by_member:
        return exact
    return list(
        _case_orders(store)
        .filter(member_match, member__isnull=False)
        .select_related("member")
        .order_by("-placed_at", "-pk")[:RECENT_ORDER_LIMIT]
    )


def store_recent_orders(*, store: Store) -> list[Order]:
    """The store's most recent orders with a member that a case may be opened on (at most
    RECENT_ORDER_LIMIT), newest first. One query."""
    return list(
        _case_orders(store)
        .filter(member__isnull=False)
        .select_related("member")
        .order_by("-placed_at", "-pk")[:RECENT_ORDER_LIMIT]
    )


# --- the supplier quality score ----------------------------------------------------------------

# Weights of the score (docs/after-sales.md): 100 − SHORT_WEIGHT × short rate − CASE_WEIGHT ×
# case rate, floored at 0. A supplier that ships everything it is asked for and causes no case
# scores 100; each 1 % of units short costs 0.6 points; each case per 100 purchase-order lines
# costs 0.4 points (at most 40 points: the case rate is capped at 1).
SHORT_WEIGHT = Decimal("60")
CASE_WEIGHT = Decimal("40")
SCORE_STEP = Decimal("0.1")
CENT = Decimal("0.01")
# Purchase orders whose lines count: the supplier accepted them (a shortage is reported while
# sent or confirmed; cancelled and draft orders were never the supplier's to deliver).
SCORED_PURCHASE_ORDER_STATUSES = (PurchaseOrder.Status.CONFIRMED, PurchaseOrder.Status.SHIPPED)
# Cases that count against a supplier: every case attributed to it except those HQ rejected
# (the score also leaves out those opened at receiving: see `supplier_quality_scores`).
COUNTED_CASE_STATUSES = (
    AfterSalesCase.Status.OPEN,
    AfterSalesCase.Status.APPROVED,
    AfterSalesCase.Status.RESOLVED,
)


# A case charged to its supplier: approved (or approved and since resolved) with the supplier as
# cost bearer. The one rule, for the score's "charged" figures and the supplier's
# reconciliation (`purchase_order_supplier_charges`).
CHARGED_STATUSES = (AfterSalesCase.Status.APPROVED, AfterSalesCase.Status.RESOLVED)
CHARGED_TO_SUPPLIER = Q(charged_to=ChargedTo.SUPPLIER, status__in=CHARGED_STATUSES)


@dataclass
class SupplierQuality:
    """One supplier's after-sales and delivery record over a period, and its score (None when
    there is nothing to score: no purchase-order line and no case)."""

    supplier_id: int
    cases_by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CaseKind.values, 0))
    case_count: int = 0
    charged_case_count: int = 0
    charged_amount: Decimal = Decimal("0.00")
    line_count: int = 0
    units_ordered: int = 0
    units_short: int = 0  # not delivered: reported short, or found short at receiving
    units_damaged: int = 0  # delivered damaged, found at receiving
    score: Decimal | None = None

    @property
    def units_shipped(self) -> int:
        """What came, damaged units included (they were shipped)."""
        return self.units_ordered - self.units_short


def quality_score(
    *, units_ordered: int, units_short: int, cases: int, lines: int, units_damaged: int = 0
) -> Decimal | None:
    """The 0–100 score (one decimal) from the counts; None when there is neither a line nor
    a case. short rate = (units short + units damaged) ÷ units ordered (0 without units:
    each unit that did not come usable counts once, under its kind); case rate = cases ÷
    lines, at most 1 (1 when there are cases but no line)."""
    if not lines and not cases:
        return None
    bad_units = Decimal(units_short + units_damaged)
    short_rate = bad_units / Decimal(units_ordered) if units_ordered else Decimal(0)
    case_rate = min(Decimal(1), Decimal(cases) / Decimal(lines)) if lines else Decimal(1)
    raw = Decimal(100) - SHORT_WEIGHT * short_rate - CASE_WEIGHT * case_rate
    return max(Decimal(0), raw).quantize(SCORE_STEP, rounding=ROUND_HALF_UP)


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def supplier_quality_scores(
    *, since: dt.date, until: dt.date, supplier_ids: Iterable[int] | None = None
) -> dict[int, SupplierQuality]:
    """Per supplier, over local days `since` (included) to `until` (excluded): after-sales cases
    opened (by kind, rejected ones left out, and those opened by the system at receiving left
    out: their units are counted as units short or damaged of the purchase-order line), cases
    charged to
    the supplier (approved or resolved, those opened at receiving included) and their amount,
    and the lines of its confirmed or shipped purchase orders with a delivery date (or an
    earlier ship date) in the
    period (units ordered; units short: the supplier's report plus what receiving found
    missing beyond it; units damaged: what receiving found damaged), and `quality_score` of
    those.

    `supplier_ids` limits the answer to those suppliers, each present (zeros and score None
    without data); without it, every supplier with a case or a line in the period. Two
    aggregate queries, whatever the number of suppliers."""
    ids = None if supplier_ids is None else list(supplier_ids)
    cases = AfterSalesCase.objects.filter(
        supplier__isnull=False,
        opened_at__gte=_day_start(since),
        opened_at__lt=_day_start(until),
        status__in=COUNTED_CASE_STATUSES,
    )
    # A line counts on its purchase order's delivery date, or on its ship date when the
    # supplier shipped early: a delivery received before its date (and the cases it caused,
    # counted the day they are opened) is scored the same day, not on its planned date.
    lines = PurchaseOrderLine.objects.alias(
        scored_on=Least("purchase_order__ship_date", "purchase_order__delivery_date")
    ).filter(
        purchase_order__status__in=SCORED_PURCHASE_ORDER_STATUSES,
        scored_on__gte=since,
        scored_on__lt=until,
    )
    if ids is not None:
        cases = cases.filter(supplier_id__in=ids)
        lines = lines.filter(purchase_order__supplier_id__in=ids)

    charged = CHARGED_TO_SUPPLIER
    # A case opened at receiving is the member's side of a shortage the purchase-order line
    # already counts (units short or damaged): scored once, there. What it charges the supplier is
    # still the supplier's.
    scored = ~Q(origin=AfterSalesCase.Origin.RECEIVING)
    case_rows = (
        cases.order_by()
        .values("supplier_id")
        .annotate(
            case_count=Count("pk", filter=scored),
            charged_case_count=Count("pk", filter=charged),
            charged_amount=Sum("amount", filter=charged),
            **{
                f"kind_{kind}": Count("pk", filter=scored & Q(kind=kind))
                for kind in CaseKind.values
            },
        )
    )
    line_rows = (
        lines.order_by()
        .values("purchase_order__supplier_id")
        .annotate(
            line_count=Count("pk"),
            units_ordered=Sum("ordered_quantity"),
            units_short=Sum("shortage_quantity"),
            units_damaged=Sum("damaged_quantity"),
        )
    )

    result: dict[int, SupplierQuality] = {
        supplier_id: SupplierQuality(supplier_id=supplier_id) for supplier_id in ids or []
    }
    for row in case_rows:
        quality = result.setdefault(row["supplier_id"], SupplierQuality(row["supplier_id"]))
        quality.case_count = row["case_count"]
        quality.charged_case_count = row["charged_case_count"]
        quality.charged_amount = (row["charged_amount"] or Decimal(0)).quantize(CENT)
        quality.cases_by_kind = {kind: row[f"kind_{kind}"] for kind in CaseKind.values}
    for row in line_rows:
        supplier_id = row["purchase_order__supplier_id"]
        quality = result.setdefault(supplier_id, SupplierQuality(supplier_id))
        quality.line_count = row["line_count"]
        quality.units_ordered = row["units_ordered"] or 0
        quality.units_short = row["units_short"] or 0
        quality.units_damaged = row["units_damaged"] or 0
    for quality in result.values():
        quality.score = quality_score(
            units_ordered=quality.units_ordered,
            units_short=quality.units_short,
            units_damaged=quality.units_damaged,
            cases=quality.case_count,
            lines=quality.line_count,
        )
    return result


def supplier_quality_90_days(*, supplier_ids: Iterable[int]) -> dict[int, SupplierQuality]:
    """`supplier_quality_scores` over the last 90 local days, today included (the admin's
    column and the supplier page)."""
    today = timezone.localdate()
    return supplier_quality_scores(
        since=today - dt.timedelta(days=89),
        until=today + dt.timedelta(days=1),
        supplier_ids=supplier_ids,
    )


def case_supplier_id(*, order: Order, order_line: OrderLine | None) -> int | None:
    """The supplier a case on this order (line) is attributed to: the supplier of the purchase
    order that supplied the line (its `PurchaseOrderSource` link), else the product's preferred
    offer from an active supplier (the cheapest, then the lowest supplier id: consolidation's
    choice), else None. A case on a whole order is attributed only when the order has exactly
    one line. At most three queries."""
    if order_line is None:
        lines = list(OrderLine.objects.filter(order=order).order_by("pk")[:2])
        if len(lines) != 1:
            return None
        order_line = lines[0]
    supplied_by = (
        PurchaseOrderSource.objects.filter(order_line=order_line)
        .values_list("line__purchase_order__supplier_id", flat=True)
        .first()
    )
    if supplied_by is not None:
        return supplied_by
    return (
        SupplierProduct.objects.filter(
            product_id=order_line.product_id, is_preferred=True, supplier__is_active=True
        )
        .order_by("cost", "supplier_id")
        .values_list("supplier_id", flat=True)
        .first()
    )


def order_lines_short(*, order: Order) -> dict[int, int]:
    """{order line id: units not delivered and not yet covered by a case} for the order's
    lines that did not arrive in full (the shortage recorded at store receiving on their
    purchase-order source links, less the units that arrived damaged: those are no missing
    item, and receiving opened a "damaged" case for them), less the units of the line's
    "missing" cases not rejected (the one the system opened at receiving, or one the store
    opened): what the owner's form may still propose as missing. Lines left with nothing are
    absent. Two queries."""
    short = dict(
        PurchaseOrderSource.objects.filter(
            order_line__order=order, short_quantity__gt=F("damaged_quantity")
        )
        .values("order_line_id")
        .annotate(units=Sum(F("short_quantity") - F("damaged_quantity")))
        .values_list("order_line_id", "units")
    )
    if not short:
        return {}
    covered = order_lines_missing_covered(order_line_ids=list(short))
    left = {line_id: units - covered.get(line_id, 0) for line_id, units in short.items()}
    return {line_id: units for line_id, units in left.items() if units > 0}


def order_lines_missing_covered(*, order_line_ids: Iterable[int]) -> dict[int, int]:
    """{order line id: units} of the lines' "missing" cases that are not rejected (open,
    approved or resolved, opened by the store or at receiving). One query."""
    return dict(
        AfterSalesCase.objects.filter(
            order_line_id__in=list(order_line_ids),
            kind=CaseKind.MISSING,
            status__in=COUNTED_CASE_STATUSES,
        )
        .order_by()
        .values("order_line_id")
        .annotate(units=Sum("quantity"))
        .values_list("order_line_id", "units")
    )


def order_lines_units_accounted(*, order_line_ids: Iterable[int]) -> dict[int, int]:
    """{order line id: units} already accounted for by cases not rejected: those of the
    lines' "missing" cases (opened by the store or at receiving) and of the "damaged" cases
    receiving opened (units that came damaged did come: they are no missing item). What a
    new missing case on the line may not claim again. One query."""
    return dict(
        AfterSalesCase.objects.filter(
            Q(kind=CaseKind.MISSING)
            | Q(kind=CaseKind.DAMAGED, origin=AfterSalesCase.Origin.RECEIVING),
            order_line_id__in=list(order_line_ids),
            status__in=COUNTED_CASE_STATUSES,
        )
        .order_by()
        .values("order_line_id")
        .annotate(units=Sum("quantity"))
        .values_list("order_line_id", "units")
    )


def purchase_order_supplier_charges(*, purchase_order: PurchaseOrder) -> list[AfterSalesCase]:
    """The after-sales cases charged to the purchase order's supplier (`CHARGED_TO_SUPPLIER`)
    on goods of this purchase order: those receiving opened on its receipts, and those a
    store opened on a member order line this purchase order supplied (its
    `PurchaseOrderSource`). A case on a whole order (no line) names no purchase order and is
    left out. By store code, then case number; each with `store` and `order_line__product`
    (never the member: the supplier may not see member data). One query."""
    return list(
        AfterSalesCase.objects.filter(CHARGED_TO_SUPPLIER, supplier_id=purchase_order.supplier_id)
        .filter(
            Q(receipt__purchase_order=purchase_order)
            | Q(order_line__purchase_source__line__purchase_order=purchase_order)
        )
        .select_related("store", "order_line__product")
        .order_by("store__code", "number")
    )
