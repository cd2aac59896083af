"""The monthly KPI computation: one month, every store, region and the network, set-wise.

`kpi_snapshots_compute(month=...)` reads each KPI's source with grouped SQL aggregates (a fixed
number of queries whatever the number of stores), turns them into per-store numerators and
denominators, pools them per region and for the network, ranks the stores and replaces the
month's rows in one transaction. Idempotent: a rerun rewrites the same figures.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    F,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from apps.campaigns.models import Broadcast, GroupBuyJoin, GroupBuyOffer
from apps.customers.models import CommunityMessage, NpsAnswer
from apps.procurement.selectors.aftersales import (
    refunds_by_store,
    refunds_latest_decided_by_month,
)
from apps.stores.kpis.analytics import (
    NETWORK_KEY,
    RepurchaseCounts,
    ScopeKey,
    peer_spread,
    percentile_ranks,
    repurchase_counts,
)
from apps.stores.kpis.definitions import KPIS, MEMBERS, SUM, KpiDefinition
from apps.stores.models import (
    Inspection,
    KpiSnapshot,
    Order,
    OrderLine,
    StockLevel,
    StockMovement,
    Store,
)
from apps.stores.selectors import member_store_order_counts, store_loss_values
from apps.stores.services.kpis import store_kpi_snapshots_backfill

VALUE_PLACES = Decimal("0.0001")
MONEY = DecimalField(max_digits=18, decimal_places=4)
PROMOTER_MIN = 9
DETRACTOR_MAX = 6

# store_id -> (numerator, denominator); denominator None for plain sums.
Parts = dict[int, tuple[Decimal, Decimal | None]]


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_add(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def _counted_lines(start: dt.datetime, end: dt.datetime) -> QuerySet[OrderLine]:
    return OrderLine.objects.filter(order__placed_at__gte=start, order__placed_at__lt=end).exclude(
        order__status__in=Order.VOID_STATUSES
    )


@dataclass
class _Sales:
    """One scan of the month's orders and one of their lines, shared by several KPIs."""

    gmv: Parts
    margin: Parts
    sold_at_price: dict[int, Decimal]


def _sales_parts(start: dt.datetime, end: dt.datetime) -> _Sales:
    """Per store: GMV, what was sold — the counted orders' totals less the refunds given on
    them (`refunds_by_store`: a box that came short and was refunded, a refunded complaint);
    gross margin parts over the lines whose product has a cost; the value sold at the
    product's shelf price (the loss rate's denominator, as `stores.selectors.loss_rates`
    values it)."""
    refunded = refunds_by_store(start=start, end=end)
    gmv: Parts = {
        store_id: ((total or Decimal(0)) - refunded.get(store_id, Decimal(0)), None)
        for store_id, total in Order.objects.filter(placed_at__gte=start, placed_at__lt=end)
        .exclude(status__in=Order.VOID_STATUSES)
        .order_by()
        .values("store_id")
        .annotate(gmv=Sum("total"))
        .values_list("store_id", "gmv")
    }
    with_cost = Q(product__cost__gt=0)
    lines = (
        _counted_lines(start, end)
        .order_by()
        .values("order__store_id")
        .annotate(
            sales=Sum("line_total", filter=with_cost),
            cogs=Sum(F("quantity") * F("product__cost"), output_field=MONEY),
            at_price=Sum(F("quantity") * F("product__price"), output_field=MONEY),
        )
    )
    sales = _Sales(gmv=gmv, margin={}, sold_at_price={})
    for row in lines:
        store_id = row["order__store_id"]
        sales.sold_at_price[store_id] = row["at_price"] or Decimal(0)
        if row["sales"]:
            sales.margin[store_id] = (row["sales"] - (row["cogs"] or Decimal(0)), row["sales"])
    return sales


def _turnover_parts(start: dt.datetime, end: dt.datetime) -> Parts:
    """Stock sold through the ledger in the month (SALE movements at cost) / the stock value at
    cost at the month's end, rebuilt as today's stock value minus the value of the ledger's
    movements since `end`. Both sides come from the ledger, so only a store whose sales take
    stock through it that month has a figure (imported histories and the demo's bulk history
    do not); a rebuilt stock that is not positive gives no figure either."""
    sold = dict(
        StockMovement.objects.filter(
            kind=StockMovement.Kind.SALE,
            created_at__gte=start,
            created_at__lt=end,
            product__cost__gt=0,
        )
        .order_by()
        .values("store_id")
        .annotate(value=Sum(-F("quantity") * F("product__cost"), output_field=MONEY))
        .values_list("store_id", "value")
    )
    if not sold:
        return {}
    current = dict(
        StockLevel.objects.filter(store_id__in=list(sold), product__cost__gt=0)
        .order_by()
        .values("store_id")
        .annotate(value=Sum(F("on_hand") * F("product__cost"), output_field=MONEY))
        .values_list("store_id", "value")
    )
    since_end = dict(
        StockMovement.objects.filter(
            store_id__in=list(sold), created_at__gte=end, product__cost__gt=0
        )
        .order_by()
        .values("store_id")
        .annotate(value=Sum(F("quantity") * F("product__cost"), output_field=MONEY))
        .values_list("store_id", "value")
    )
    parts: Parts = {}
    for store_id, sold_at_cost in sold.items():
        closing = (current.get(store_id) or Decimal(0)) - (since_end.get(store_id) or Decimal(0))
        if closing > 0:
            parts[store_id] = (sold_at_cost, closing)
    return parts


def _loss_parts(start: dt.datetime, end: dt.datetime, sold: dict[int, Decimal]) -> Parts:
    """Lost value / (sold + lost value), both at the product's price: the loss page's rate
    (`stores.selectors.loss_rates`, checked equal in the tests), with the sold side taken from
    the month's single scan of order lines."""
    lost = store_loss_values(start=start, end=end)
    if not lost:
        return {}  # no loss recorded anywhere: the source is absent, not a zero
    parts: Parts = {}
    for store_id in {*lost, *sold}:
        lost_value = lost.get(store_id, Decimal("0.00"))
        total = sold.get(store_id, Decimal(0)) + lost_value
        if total:
            parts[store_id] = (lost_value, total)
    return parts


def _group_buy_parts(start: dt.datetime, end: dt.datetime) -> Parts:
    settled = (
        GroupBuyOffer.objects.filter(
            deadline__gte=start,
            deadline__lt=end,
            status__in=[GroupBuyOffer.Status.FORMED, GroupBuyOffer.Status.FAILED],
        )
        .order_by()
        .values("broadcast__store_id")
        .annotate(
            formed=Count("id", filter=Q(status=GroupBuyOffer.Status.FORMED)), settled=Count("id")
        )
    )
    return {
        row["broadcast__store_id"]: (Decimal(row["formed"]), Decimal(row["settled"]))
        for row in settled
    }


def _nps_parts(start: dt.datetime, end: dt.datetime) -> Parts:
    answers = (
        NpsAnswer.objects.filter(answered_at__gte=start, answered_at__lt=end)
        .order_by()
        .values("store_id")
        .annotate(
            answers=Count("id"),
            promoters=Count("id", filter=Q(score__gte=PROMOTER_MIN)),
            detractors=Count("id", filter=Q(score__lte=DETRACTOR_MAX)),
        )
    )
    return {
        row["store_id"]: (Decimal(row["promoters"] - row["detractors"]), Decimal(row["answers"]))
        for row in answers
    }


def _live_parts(start: dt.datetime, end: dt.datetime) -> Parts:
    """Per store: the buyers of its broadcasts that started in the month and have ended, over
    the sum of those broadcasts' peak viewers. A broadcast's buyers are the distinct members
    with a join (not cancelled) of any of its offers, a 接龙 line without a member counted by
    its name, and never more than the broadcast's peak viewers (pasted 接龙 lines may come from
    people who did not watch), so the rate cannot exceed 100 %."""
    broadcasts = Broadcast.objects.filter(
        status=Broadcast.Status.ENDED, started_at__gte=start, started_at__lt=end
    )
    peaks = {
        broadcast_id: (store_id, peak)
        for broadcast_id, store_id, peak in broadcasts.order_by().values_list(
            "id", "store_id", "peak_viewers"
        )
    }
    buyer = Case(
        When(member__isnull=False, then=Concat(Value("m"), Cast("member_id", CharField()))),
        default=Concat(Value("n"), "display_name"),
        output_field=CharField(),
    )
    buyers = dict(
        GroupBuyJoin.objects.filter(offer__broadcast__in=broadcasts)
        .exclude(status=GroupBuyJoin.Status.CANCELLED)
        .order_by()
        .values("offer__broadcast_id")
        .annotate(buyers=Count(buyer, distinct=True))
        .values_list("offer__broadcast_id", "buyers")
    )
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for broadcast_id, (store_id, peak) in peaks.items():
        sums[store_id][0] += min(buyers.get(broadcast_id, 0), peak)
        sums[store_id][1] += peak
    return {
        store_id: (Decimal(watched), Decimal(peak))
        for store_id, (watched, peak) in sums.items()
        if peak
    }


def _community_parts(start: dt.datetime, end: dt.datetime, buyers: dict[int, int]) -> Parts:
    messages = dict(
        CommunityMessage.objects.filter(sent_at__gte=start, sent_at__lt=end)
        .order_by()
        .values("store_id")
        .annotate(messages=Count("id"))
        .values_list("store_id", "messages")
    )
    if not messages:
        return {}  # no chat group feeds the network yet
    return {
        store_id: (Decimal(messages.get(store_id, 0)), Decimal(count))
        for store_id, count in buyers.items()
        if count
    }


def _inspection_parts(start: dt.datetime, end: dt.datetime) -> Parts:
    scored = (
        Inspection.objects.filter(
            submitted_at__gte=start, submitted_at__lt=end, score__isnull=False
        )
        .exclude(status=Inspection.Status.DRAFT)
        .order_by()
        .values("store_id")
        .annotate(total=Sum("score"), count=Count("id"))
    )
    return {row["store_id"]: (row["total"], Decimal(row["count"])) for row in scored}


def _value(kpi: KpiDefinition, numerator: Decimal, denominator: Decimal | None) -> Decimal | None:
    if kpi.scale is None:
        return numerator.quantize(VALUE_PLACES)
    if not denominator:
        return None
    return (numerator / denominator * kpi.scale).quantize(VALUE_PLACES)


def _repurchase_parts(
    counts: dict[ScopeKey, RepurchaseCounts], code: str
) -> dict[ScopeKey, tuple[Decimal, Decimal]]:
    if code == "repurchase_rate":
        return {
            key: (Decimal(item.returned), Decimal(item.previous_members))
            for key, item in counts.items()
            if item.previous_members
        }
    return {
        key: (Decimal(item.repeat_buyers), Decimal(item.active_members))
        for key, item in counts.items()
        if item.active_members
    }


def kpi_snapshots_compute(*, month: dt.date, now: dt.datetime | None = None) -> int:
    """Compute every KPI of `month` (any day of it; local calendar month) for every store,
    region and the network, and replace that month's snapshot rows. A month still running is
    computed to date and marked incomplete. Returns the number of rows written.

    Idempotent: the month's rows are deleted and rewritten in one transaction, so a rerun, a
    second beat or a redelivered task leaves exactly one row per scope, month and KPI. Two
    runs of one month at the same moment cannot both write: the later insert fails on the
    partial unique constraints and its transaction changes nothing.
    """
    month = month_start(month)
    now = now or timezone.now()
    start, end = _midnight(month), _midnight(month_add(month, 1))
    store_region = dict(Store.objects.order_by().values_list("id", "region_id"))
    sales = _sales_parts(start, end)
    current = list(member_store_order_counts(start=start, end=end))
    buyers: dict[int, int] = defaultdict(int)
    for _member_id, store_id, _orders in current:
        buyers[store_id] += 1
    counts = repurchase_counts(
        previous=(
            (member_id, store_id)
            for member_id, store_id, _orders in member_store_order_counts(
                start=_midnight(month_add(month, -1)), end=start
            ).iterator()
        ),
        current=current,
        store_region=store_region,
    )
    store_parts: dict[str, Parts] = {
        "gmv": sales.gmv,
        "gross_margin": sales.margin,
        "inventory_turnover": _turnover_parts(start, end),
        "loss_rate": _loss_parts(start, end, sales.sold_at_price),
        "group_buy_success_rate": _group_buy_parts(start, end),
        "nps": _nps_parts(start, end),
        "live_conversion": _live_parts(start, end),
        "community_activity": _community_parts(start, end, buyers),
        "inspection_score": _inspection_parts(start, end),
    }
    is_complete = now >= end
    rows: list[KpiSnapshot] = []
    for kpi in KPIS:
        if kpi.aggregation == MEMBERS:
            by_scope = _repurchase_parts(counts, kpi.code)
        else:
            by_scope = _pooled(store_parts[kpi.code], store_region, kpi)
        rows.extend(_rows(kpi, by_scope, store_region, month, is_complete, now))
    with transaction.atomic():
        KpiSnapshot.objects.filter(period=month).delete()
        KpiSnapshot.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _pooled(
    parts: Parts, store_region: dict[int, int], kpi: KpiDefinition
) -> dict[ScopeKey, tuple[Decimal, Decimal | None]]:
    """Store parts, plus each region's and the network's sums of them."""
    by_scope: dict[ScopeKey, tuple[Decimal, Decimal | None]] = {}
    sums: dict[ScopeKey, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for store_id, (numerator, denominator) in parts.items():
        by_scope[("store", store_id)] = (numerator, denominator)
        for key in (("region", store_region[store_id]), NETWORK_KEY):
            sums[key][0] += numerator
            sums[key][1] += denominator or Decimal(0)
    for key, (numerator, denominator) in sums.items():
        by_scope[key] = (numerator, None if kpi.aggregation == SUM else denominator)
    return by_scope


def _rows(
    kpi: KpiDefinition,
    by_scope: dict[ScopeKey, tuple[Decimal, Decimal | None]],
    store_region: dict[int, int],
    month: dt.date,
    is_complete: bool,
    now: dt.datetime,
) -> list[KpiSnapshot]:
    values: dict[ScopeKey, Decimal | None] = {
        key: _value(kpi, numerator, denominator)
        for key, (numerator, denominator) in by_scope.items()
    }
    store_values = {
        key[1]: value for key, value in values.items() if key[0] == "store" and value is not None
    }
    ranks = percentile_ranks(store_values, higher_is_better=kpi.higher_is_better)
    peers: dict[ScopeKey, list[Decimal]] = defaultdict(list)
    for store_id, value in store_values.items():
        peers[("region", store_region[store_id])].append(value)
        peers[NETWORK_KEY].append(value)
    rows = []
    for key, (numerator, denominator) in sorted(by_scope.items()):
        scope, key_id = key
        spread = peer_spread(peers.get(key, []), higher_is_better=kpi.higher_is_better)
        rows.append(
            KpiSnapshot(
                scope=scope,
                store_id=key_id if scope == "store" else None,
                region_id=key_id if scope == "region" else None,
                period=month,
                code=kpi.code,
                value=values[key],
                numerator=numerator.quantize(VALUE_PLACES),
                denominator=None if denominator is None else denominator.quantize(VALUE_PLACES),
                percentile=ranks.get(key_id) if scope == "store" else None,
                peer_count=len(peers.get(key, [])),
                peer_p25=_places(spread[0]),
                peer_median=_places(spread[1]),
                peer_p75=_places(spread[2]),
                is_complete=is_complete,
                computed_at=now,
            )
        )
    return rows


def _places(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(VALUE_PLACES)


# A refund's decision is stamped before its transaction commits: one decided just before a
# month's figures were computed may not have been visible to them. Such a month is computed
# again the next night (once: its new figures are stamped after the margin).
REFUND_COMMIT_MARGIN = dt.timedelta(hours=1)


def kpi_months_refunded_since_computed() -> set[dt.date]:
    """The months with stored figures on whose orders a refund was decided after (or up to
    REFUND_COMMIT_MARGIN before) those figures were computed: their stored GMV does not take
    it off yet. Whenever the refund was decided, so a night the refresh did not run (beat
    down, the task killed) is caught up the next. A month with no stored rows is not
    listed (`kpi_snapshots_backfill` computes history). Two grouped queries."""
    latest_refund = refunds_latest_decided_by_month()
    if not latest_refund:
        return set()
    computed = (
        KpiSnapshot.objects.filter(period__in=list(latest_refund))
        .order_by()
        .values("period")
        .annotate(computed=Min("computed_at"))
        .values_list("period", "computed")
    )
    return {
        period
        for period, computed_at in computed
        if latest_refund[period] >= computed_at - REFUND_COMMIT_MARGIN
    }


def kpi_snapshots_refresh(*, now: dt.datetime | None = None) -> int:
    """The nightly job: the current month to date, the previous month (final figures now
    that it has ended, and its repurchase needs this month to have started), and every
    earlier month whose stored figures predate a refund decided on its orders (its GMV
    changed: December's refund of an October box; `kpi_months_refunded_since_computed`),
    as the hourly job recomputes those orders' days. Newest first, so a run cut short by its
    time limit has done the month readers look at; each month idempotent
    (`kpi_snapshots_compute`), and a month it did not reach is still due the next night."""
    now = now or timezone.now()
    current = month_start(timezone.localdate(now))
    months = {month_add(current, -1), current} | {
        month for month in kpi_months_refunded_since_computed() if month < current
    }
    return sum(
        kpi_snapshots_compute(month=month, now=now) for month in sorted(months, reverse=True)
    )


def kpi_snapshots_backfill(*, first: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """Every month from `first` (default: the month of the first counted order) to the current
    one, oldest first. Idempotent like `kpi_snapshots_compute`. Returns rows written."""
    now = now or timezone.now()
    if first is None:
        oldest = (
            Order.objects.exclude(status__in=Order.VOID_STATUSES)
            .order_by("placed_at")
            .values_list("placed_at", flat=True)
            .first()
        )
        if oldest is None:
            return 0
        first = timezone.localtime(oldest).date()
    month, last = month_start(first), month_start(timezone.localdate(now))
    written = 0
    while month <= last:
        written += kpi_snapshots_compute(month=month, now=now)
        month = month_add(month, 1)
    return written


def kpi_history_backfill(
    *,
    first_day: dt.date,
    last_day: dt.date,
    progress: Callable[[str], None] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, int]:
    """HQ's backfill of an imported history: the stores' daily KPI rows for each day
    first_day … last_day (`store_kpi_snapshots_backfill`: at most BACKFILL_MAX_DAYS, the last
    not in the future; ValueError otherwise, nothing written), then the KPI pack of every month
    the range touches. Idempotent: both upsert or replace by their natural keys, so a rerun
    leaves the same rows. Returns {"days", "daily_rows", "months", "monthly_rows"}."""
    now = now or timezone.now()
    daily = store_kpi_snapshots_backfill(
        first_day=first_day, last_day=last_day, refunds=refunds_by_store, progress=progress
    )
    month, last, months, monthly = month_start(first_day), month_start(last_day), 0, 0
    while month <= last:
        monthly += kpi_snapshots_compute(month=month, now=now)
        months += 1
        if progress is not None:
            progress(f"KPI pack: {month:%Y-%m} done")
        month = month_add(month, 1)
    return {
        "days": (last_day - first_day).days + 1,
        "daily_rows": daily,
        "months": months,
        "monthly_rows": monthly,
    }
