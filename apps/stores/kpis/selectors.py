"""Reads of the KPI snapshots: one store's figures among its peers (what the owner dashboard
and the training recommendations use), the network's trends and the store rankings of the HQ
dashboard. Snapshots only: no read here touches orders, so the pages stay fast.

The contract other apps rely on (docs/kpis.md):

    from apps.stores.kpis.selectors import store_kpis
    figures = store_kpis(store, period=None)  # dict[str, KpiFigure], one per KPI code
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q
from django.utils import timezone

from apps.devices.models import DeviceAlert
from apps.stores.kpis.definitions import KPI_BY_CODE, KPIS, KpiDefinition
from apps.stores.models import KpiSnapshot, RectificationItem, Store

Scope = KpiSnapshot.Scope


@dataclass(frozen=True)
class KpiFigure:
    """One KPI of one store for one month, with where it stands among the network's stores.

    `value` None: no source data for the store that month. `percentile` 0–100 among the
    stores with a value (higher is better for every KPI), None without peers. `peer_p25`,
    `peer_median`, `peer_p75`: the network's stores' spread, direction-aware (a store below
    `peer_p25` in performance has `percentile` < 25 give or take ties)."""

    code: str
    definition: KpiDefinition
    period: dt.date
    is_complete: bool
    value: Decimal | None
    percentile: Decimal | None
    peer_p25: Decimal | None
    peer_median: Decimal | None
    peer_p75: Decimal | None
    peer_count: int
    region_value: Decimal | None
    network_value: Decimal | None
    previous_value: Decimal | None

    @property
    def label(self) -> str:
        return str(self.definition.label)

    @property
    def higher_is_better(self) -> bool:
        return self.definition.higher_is_better

    @property
    def unit(self) -> str:
        """The definition's unit: "%" for a rate kept in percent (12.3 = 12.3 %)."""
        return str(self.definition.unit)

    @property
    def change(self) -> Decimal | None:
        if self.value is None or self.previous_value is None:
            return None
        return self.value - self.previous_value

    @property
    def is_improving(self) -> bool | None:
        change = self.change
        if not change:
            return None
        return (change > 0) == self.definition.higher_is_better


def kpi_periods() -> list[dt.date]:
    """Months with snapshots, newest first."""
    return list(
        KpiSnapshot.objects.filter(scope=Scope.NETWORK)
        .order_by("-period")
        .values_list("period", flat=True)
        .distinct()
    )


def kpi_default_period() -> dt.date | None:
    """The newest complete month, else the newest month (a young network's month to date)."""
    complete = (
        KpiSnapshot.objects.filter(scope=Scope.NETWORK, is_complete=True)
        .order_by("-period")
        .values_list("period", flat=True)
        .first()
    )
    if complete is not None:
        return complete
    return (
        KpiSnapshot.objects.filter(scope=Scope.NETWORK)
        .order_by("-period")
        .values_list("period", flat=True)
        .first()
    )


def _previous(period: dt.date) -> dt.date:
    return (period - dt.timedelta(days=1)).replace(day=1)


def store_kpis(store: Store, period: dt.date | None = None) -> dict[str, KpiFigure]:
    """Every KPI of `store` for `period` (the first day of a month; default: the newest
    complete month) keyed by KPI code, in the order of the definitions. A KPI without a
    figure has `value` None. Three queries."""
    period = period or kpi_default_period()
    if period is None:
        return {}
    period = period.replace(day=1)
    previous = _previous(period)
    rows = KpiSnapshot.objects.filter(period__in=[period, previous]).filter(
        Q(scope=Scope.STORE, store=store)
        | Q(scope=Scope.REGION, region_id=store.region_id)
        | Q(scope=Scope.NETWORK)
    )
    own: dict[tuple[dt.date, str], KpiSnapshot] = {}
    region: dict[str, KpiSnapshot] = {}
    network: dict[str, KpiSnapshot] = {}
    for row in rows:
        if row.scope == Scope.STORE:
            own[(row.period, row.code)] = row
        elif row.period == period:
            (region if row.scope == Scope.REGION else network)[row.code] = row
    is_complete = any(row.is_complete for row in network.values())
    figures = {}
    for kpi in KPIS:
        mine = own.get((period, kpi.code))
        before = own.get((previous, kpi.code))
        net = network.get(kpi.code)
        figures[kpi.code] = KpiFigure(
            code=kpi.code,
            definition=kpi,
            period=period,
            is_complete=is_complete,
            value=mine.value if mine else None,
            percentile=mine.percentile if mine else None,
            peer_p25=net.peer_p25 if net else None,
            peer_median=net.peer_median if net else None,
            peer_p75=net.peer_p75 if net else None,
            peer_count=net.peer_count if net else 0,
            region_value=region[kpi.code].value if kpi.code in region else None,
            network_value=net.value if net else None,
            previous_value=before.value if before else None,
        )
    return figures


@dataclass(frozen=True)
class TrendPoint:
    period: dt.date
    value: Decimal | None
    peer_median: Decimal | None = None
    is_complete: bool = True
    peer_count: int = 0


def network_trends(*, months: int = 12) -> dict[str, list[TrendPoint]]:
    """{code: points oldest first} of the network's figures over the newest `months` months."""
    periods = kpi_periods()[:months]
    trends: dict[str, list[TrendPoint]] = {kpi.code: [] for kpi in KPIS}
    rows = KpiSnapshot.objects.filter(scope=Scope.NETWORK, period__in=periods).order_by("period")
    for row in rows:
        if row.code in trends:
            trends[row.code].append(
                TrendPoint(row.period, row.value, row.peer_median, row.is_complete, row.peer_count)
            )
    return trends


def store_trends(*, store: Store, months: int = 12) -> dict[str, list[TrendPoint]]:
    """{code: points oldest first} of the store's figures, each with the network's median."""
    periods = sorted(kpi_periods()[:months])
    medians = {
        (row.period, row.code): row.peer_median
        for row in KpiSnapshot.objects.filter(scope=Scope.NETWORK, period__in=periods).only(
            "period", "code", "peer_median"
        )
    }
    values = {
        (row.period, row.code): row.value
        for row in KpiSnapshot.objects.filter(
            scope=Scope.STORE, store=store, period__in=periods
        ).only("period", "code", "value")
    }
    return {
        kpi.code: [
            TrendPoint(period, values.get((period, kpi.code)), medians.get((period, kpi.code)))
            for period in periods
        ]
        for kpi in KPIS
    }


@dataclass(frozen=True)
class RankedStore:
    store_id: int
    code: str
    name: str
    value: Decimal
    percentile: Decimal | None


def store_ranking(*, period: dt.date, code: str, limit: int = 10) -> tuple[list, list]:
    """(best, worst) stores of the month by one KPI, direction-aware, `limit` each."""
    kpi = KPI_BY_CODE[code]
    rows = (
        KpiSnapshot.objects.filter(scope=Scope.STORE, period=period, code=code, value__isnull=False)
        .select_related("store")
        .only("value", "percentile", "store__code", "store__name")
    )
    best_first = "-value" if kpi.higher_is_better else "value"
    worst_first = "value" if kpi.higher_is_better else "-value"

    def ranked(order: str) -> list[RankedStore]:
        return [
            RankedStore(row.store_id, row.store.code, row.store.name, row.value, row.percentile)
            for row in rows.order_by(order, "store__code")[:limit]
        ]

    return ranked(best_first), ranked(worst_first)


@dataclass(frozen=True)
class AttentionRow:
    store_id: int
    code: str
    name: str
    mean_percentile: Decimal | None
    percentile_change: Decimal | None
    open_alerts: int
    overdue_rectifications: int


def _mean_percentiles(period: dt.date) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """(mean percentile over all KPIs in `period`, its change since the previous month, to
    0.1) by store id; a store without figures in the previous month has no change. One query."""
    mean_now: dict[int, Decimal] = {}
    change: dict[int, Decimal] = {}
    sums: dict[tuple[int, dt.date], list[Decimal]] = defaultdict(list)
    for store_id, row_period, percentile in KpiSnapshot.objects.filter(
        scope=Scope.STORE,
        period__in=[period, _previous(period)],
        percentile__isnull=False,
    ).values_list("store_id", "period", "percentile"):
        sums[(store_id, row_period)].append(percentile)
    for (store_id, row_period), values in sums.items():
        if row_period == period:
            mean_now[store_id] = sum(values) / len(values)
    for store_id, mean in mean_now.items():
        before = sums.get((store_id, _previous(period)))
        if before:
            change[store_id] = (mean - sum(before) / len(before)).quantize(Decimal("0.1"))
    return mean_now, change


@dataclass(frozen=True)
class MoverRow:
    store_id: int
    code: str
    name: str
    mean_percentile: Decimal
    percentile_change: Decimal


def stores_most_declined(*, period: dt.date, limit: int = 10) -> list[MoverRow]:
    """The `limit` stores whose mean percentile over all KPIs fell most since the previous
    month, largest fall first (then by code): only falls, never a store that held or
    improved. Two queries."""
    mean_now, change = _mean_percentiles(period)
    falls = sorted((value, store_id) for store_id, value in change.items() if value < 0)[:limit]
    stores = Store.objects.in_bulk([store_id for _value, store_id in falls])
    rows = [
        MoverRow(
            store_id=store_id,
            code=stores[store_id].code,
            name=stores[store_id].name,
            mean_percentile=mean_now[store_id].quantize(Decimal("0.1")),
            percentile_change=value,
        )
        for value, store_id in falls
        if store_id in stores
    ]
    rows.sort(key=lambda row: (row.percentile_change, row.code))
    return rows


def stores_needing_attention(*, period: dt.date | None, limit: int = 10) -> list[AttentionRow]:
    """Stores that need HQ's eye: the `limit` worst movers (largest fall of their mean
    percentile over all KPIs since the previous month), and the stores with open device alerts
    or overdue rectification items; sorted by open problems, then by the fall, at most
    3 × `limit` rows. Four queries.

    A store here may have improved (it is listed for its alerts): the chart of falls reads
    `stores_most_declined`, not these rows."""
    mean_now: dict[int, Decimal] = {}
    change: dict[int, Decimal] = {}
    if period is not None:
        mean_now, change = _mean_percentiles(period)
    alerts = dict(
        DeviceAlert.objects.filter(status__in=DeviceAlert.ACTIVE_STATUSES)
        .order_by()
        .values("store_id")
        .annotate(count=Count("id"))
        .values_list("store_id", "count")
    )
    overdue = dict(
        RectificationItem.objects.filter(
            status=RectificationItem.Status.OPEN, due_date__lt=timezone.localdate()
        )
        .order_by()
        .values("inspection__store_id")
        .annotate(count=Count("id"))
        .values_list("inspection__store_id", "count")
    )
    movers = sorted((value, store_id) for store_id, value in change.items() if value < 0)
    chosen = {store_id for _value, store_id in movers[:limit]} | set(alerts) | set(overdue)
    stores = Store.objects.in_bulk(chosen)
    rows = [
        AttentionRow(
            store_id=store_id,
            code=stores[store_id].code,
            name=stores[store_id].name,
            mean_percentile=(
                mean_now[store_id].quantize(Decimal("0.1")) if store_id in mean_now else None
            ),
            percentile_change=change.get(store_id),
            open_alerts=alerts.get(store_id, 0),
            overdue_rectifications=overdue.get(store_id, 0),
        )
        for store_id in chosen
        if store_id in stores
    ]
    rows.sort(
        key=lambda row: (
            -(row.open_alerts + row.overdue_rectifications),
            row.percentile_change if row.percentile_change is not None else Decimal(0),
            row.code,
        )
    )
    return rows[: limit * 3]
