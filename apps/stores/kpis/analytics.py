"""Pure numeric parts of the KPI pack: peer percentiles and spreads, the repurchase measures.
No Django, no ORM: plain numbers in, plain numbers out (checked against hand computations in
tests/stores/test_kpis_analytics.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

# Scope keys: ("store", store_id), ("region", region_id), ("network", 0).
ScopeKey = tuple[str, int]
NETWORK_KEY: ScopeKey = ("network", 0)


def quantile(values: Sequence[Decimal], q: float) -> Decimal | None:
    """The q-quantile (0 ≤ q ≤ 1) of `values`, linear between the two nearest ranks (numpy's
    default, "inclusive"); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = Decimal(str(q)) * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    fraction = position - below
    return ordered[below] + (ordered[above] - ordered[below]) * fraction


def peer_spread(
    values: Sequence[Decimal], *, higher_is_better: bool
) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """(p25, median, p75) of performance: for a lower-is-better KPI the 25th percentile of
    performance is the 75th of the raw values, so "below peer_p25" always means "worse than
    three stores in four"."""
    low, middle, high = (quantile(values, q) for q in (0.25, 0.5, 0.75))
    return (low, middle, high) if higher_is_better else (high, middle, low)


def percentile_ranks(
    values: Mapping[int, Decimal], *, higher_is_better: bool
) -> dict[int, Decimal | None]:
    """{key: percentile 0–100} among `values`: 100 × (peers worse + ½ × peers equal) / (peers),
    where peers are the other keys. The best gets 100, the worst 0; a lone value has no peers
    (None). Direction-aware: higher percentile is always better."""
    count = len(values)
    if count < 2:
        return dict.fromkeys(values)
    ordered = sorted(values.values())
    ranks: dict[int, Decimal | None] = {}
    for key, value in values.items():
        below = _count_below(ordered, value)
        equal = _count_below(ordered, value, inclusive=True) - below - 1
        above = count - 1 - below - equal
        worse = below if higher_is_better else above
        share = (Decimal(worse) + Decimal(equal) / 2) / (count - 1) * 100
        ranks[key] = share.quantize(Decimal("0.1"))
    return ranks


def _count_below(ordered: list[Decimal], value: Decimal, *, inclusive: bool = False) -> int:
    low, high = 0, len(ordered)
    while low < high:
        middle = (low + high) // 2
        if ordered[middle] < value or (inclusive and ordered[middle] == value):
            low = middle + 1
        else:
            high = middle
    return low


@dataclass
class RepurchaseCounts:
    """Per scope: members of the previous month and those of them who came back this month;
    members of this month and those of them who bought at least twice."""

    previous_members: int = 0
    returned: int = 0
    active_members: int = 0
    repeat_buyers: int = 0


def repurchase_counts(
    *,
    previous: Iterable[tuple[int, int]],
    current: Iterable[tuple[int, int, int]],
    store_region: Mapping[int, int],
) -> dict[ScopeKey, RepurchaseCounts]:
    """The repurchase measures per store, region and the network.

    `previous`: (member_id, store_id) pairs with an order in the previous month; `current`:
    (member_id, store_id, orders) with the member's number of orders at the store this month.
    A store counts its own members (a return means a return to that store); a region or the
    network counts each member once, and a return anywhere in it.
    """
    previous_sets: dict[ScopeKey, set[int]] = defaultdict(set)
    current_orders: dict[ScopeKey, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for member_id, store_id in previous:
        for key in _keys(store_id, store_region):
            previous_sets[key].add(member_id)
    for member_id, store_id, orders in current:
        for key in _keys(store_id, store_region):
            current_orders[key][member_id] += orders
    result: dict[ScopeKey, RepurchaseCounts] = {}
    for key in {*previous_sets, *current_orders}:
        before = previous_sets.get(key, set())
        now = current_orders.get(key, {})
        result[key] = RepurchaseCounts(
            previous_members=len(before),
            returned=sum(1 for member_id in before if member_id in now),
            active_members=len(now),
            repeat_buyers=sum(1 for orders in now.values() if orders >= 2),
        )
    return result


def _keys(store_id: int, store_region: Mapping[int, int]) -> tuple[ScopeKey, ...]:
    return (("store", store_id), ("region", store_region[store_id]), NETWORK_KEY)
