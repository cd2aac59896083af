"""Pure parts of the KPI pack: quantiles against numpy, percentile ranks by hand, the
repurchase measures against a plain recount."""

from __future__ import annotations

import random
from decimal import Decimal

import numpy as np

from apps.stores.kpis.analytics import (
    peer_spread,
    percentile_ranks,
    quantile,
    repurchase_counts,
)


def test_quantile_equals_numpy_linear():
    rng = random.Random(7)
    for size in (1, 2, 3, 10, 57):
        values = [Decimal(rng.randint(-500, 500)) / 7 for _ in range(size)]
        for q in (0.0, 0.25, 0.5, 0.75, 1.0):
            expected = np.quantile([float(v) for v in values], q)
            assert abs(float(quantile(values, q)) - expected) < 1e-9


def test_quantile_of_nothing_is_none():
    assert quantile([], 0.5) is None
    assert peer_spread([], higher_is_better=True) == (None, None, None)


def test_peer_spread_flips_for_lower_is_better():
    values = [Decimal(v) for v in (1, 2, 3, 4, 5)]
    assert peer_spread(values, higher_is_better=True) == (Decimal(2), Decimal(3), Decimal(4))
    assert peer_spread(values, higher_is_better=False) == (Decimal(4), Decimal(3), Decimal(2))


def test_percentile_ranks_by_hand():
    values = {1: Decimal(10), 2: Decimal(20), 3: Decimal(20), 4: Decimal(40), 5: Decimal(5)}
    # Peers are the 4 others. Store 4 beats all 4 → 100; store 2 beats 1 and 5, ties 3 →
    # (2 + ½) / 4 = 62.5; store 1 beats 5 → 25; store 5 → 0.
    assert percentile_ranks(values, higher_is_better=True) == {
        1: Decimal("25.0"),
        2: Decimal("62.5"),
        3: Decimal("62.5"),
        4: Decimal("100.0"),
        5: Decimal("0.0"),
    }
    # Lower is better: the order reverses.
    assert percentile_ranks(values, higher_is_better=False) == {
        1: Decimal("75.0"),
        2: Decimal("37.5"),
        3: Decimal("37.5"),
        4: Decimal("0.0"),
        5: Decimal("100.0"),
    }


def test_a_lone_store_has_no_percentile():
    assert percentile_ranks({9: Decimal(1)}, higher_is_better=True) == {9: None}
    assert percentile_ranks({}, higher_is_better=True) == {}


def test_repurchase_counts_equal_a_plain_recount():
    rng = random.Random(11)
    store_region = {store: store % 3 for store in range(8)}
    previous = {(rng.randrange(60), rng.randrange(8)) for _ in range(150)}
    current = {}
    for _ in range(200):
        key = (rng.randrange(60), rng.randrange(8))
        current[key] = current.get(key, 0) + rng.randint(1, 2)
    counts = repurchase_counts(
        previous=sorted(previous),
        current=[(m, s, n) for (m, s), n in sorted(current.items())],
        store_region=store_region,
    )

    def members(pairs, keep):
        return {m for m, s in pairs if keep(s)}

    scopes = [(("store", s), lambda x, s=s: x == s) for s in range(8)]
    scopes += [(("region", r), lambda x, r=r: store_region[x] == r) for r in range(3)]
    scopes += [(("network", 0), lambda x: True)]
    for key, keep in scopes:
        before = members(previous, keep)
        orders: dict[int, int] = {}
        for (m, s), n in current.items():
            if keep(s):
                orders[m] = orders.get(m, 0) + n
        item = counts[key]
        assert item.previous_members == len(before)
        assert item.returned == len(before & set(orders))
        assert item.active_members == len(orders)
        assert item.repeat_buyers == sum(1 for n in orders.values() if n >= 2)
