"""Lifetime profile figures against an independent pandas computation on random histories."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from apps.customers.models import MemberProfile
from apps.customers.services.profiles import member_profiles_recompute
from apps.stores.models import Order, OrderLine
from tests.factories import CategoryFactory, MemberFactory, ProductFactory, StoreFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2026, 11, 27, tzinfo=SHANGHAI)
STATUSES = [
    Order.Status.COMPLETED,
    Order.Status.COMPLETED,
    Order.Status.COMPLETED,
    Order.Status.CANCELLED,
    Order.Status.REFUNDED,
]


def _random_history(seed: int) -> None:
    rng = np.random.default_rng(seed)
    store = StoreFactory()
    category = CategoryFactory()
    products = [ProductFactory(category=category) for _ in range(4)]
    members = [MemberFactory(joined_at=AS_OF - dt.timedelta(days=800)) for _ in range(25)]
    lines = []
    for index in range(260):
        member = members[int(rng.integers(len(members)))]
        # Up to ~2 years back, some after as_of (ignored), a few anonymous orders.
        at = AS_OF - dt.timedelta(minutes=int(rng.integers(-20 * 1440, 700 * 1440)))
        order = Order.objects.create(
            store=store,
            member=None if rng.random() < 0.05 else member,
            channel=Order.Channel.POS,
            status=STATUSES[int(rng.integers(len(STATUSES)))],
            idempotency_key=f"life-{seed}-{index}",
            placed_at=at,
        )
        for _ in range(int(rng.integers(0, 4))):  # some orders have no line
            quantity = int(rng.integers(1, 4))
            price = Decimal(int(rng.integers(100, 5000))).scaleb(-2)
            lines.append(
                OrderLine(
                    order=order,
                    product=products[int(rng.integers(len(products)))],
                    quantity=quantity,
                    unit_price=price,
                    discount=Decimal("0.00"),
                    line_total=quantity * price,
                )
            )
    OrderLine.objects.bulk_create(lines)


def _reference() -> pd.DataFrame:
    """The lifetime figures from plain rows with pandas, independently of the service."""
    orders = pd.DataFrame.from_records(
        Order.objects.values_list("pk", "member_id", "status", "placed_at"),
        columns=["order_id", "member_id", "status", "placed_at"],
    )
    lines = pd.DataFrame.from_records(
        OrderLine.objects.values_list("order_id", "line_total"), columns=["order_id", "line_total"]
    )
    counted = orders.loc[
        orders["member_id"].notna()
        & ~orders["status"].isin([Order.Status.CANCELLED, Order.Status.REFUNDED])
        & (orders["placed_at"] < AS_OF)
    ]
    spend = lines.groupby("order_id")["line_total"].apply(lambda values: sum(values, Decimal(0)))
    counted = counted.assign(spend=counted["order_id"].map(spend).fillna(Decimal("0")))
    grouped = counted.groupby("member_id")
    return pd.DataFrame(
        {
            "first": grouped["placed_at"].min(),
            "last": grouped["placed_at"].max(),
            "orders": grouped.size(),
            "spend": grouped["spend"].apply(lambda values: sum(values, Decimal(0))),
        }
    )


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2])
def test_lifetime_figures_equal_an_independent_pandas_computation(seed: int) -> None:
    _random_history(seed)
    member_profiles_recompute(as_of=AS_OF)

    reference = _reference()
    profiles = MemberProfile.objects.all()
    assert profiles.count() == 25
    assert len(reference) > 15  # most members bought: the comparison is not vacuous
    for profile in profiles:
        if profile.member_id not in reference.index:
            assert (profile.first_purchase_at, profile.last_purchase_at) == (None, None)
            assert (profile.orders_lifetime, profile.spend_lifetime) == (0, Decimal("0"))
            continue
        expected = reference.loc[profile.member_id]
        assert profile.first_purchase_at == expected["first"]
        assert profile.last_purchase_at == expected["last"]
        assert profile.orders_lifetime == expected["orders"]
        assert profile.spend_lifetime == expected["spend"]
        # The 90-day figures are the lifetime ones restricted to the window.
        assert profile.frequency_90d <= profile.orders_lifetime
        assert profile.spend_90d <= profile.spend_lifetime
