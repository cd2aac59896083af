"""The demo's loss: every store loses stock (more of it fresh) with reasons, the ledger stays
whole and never below zero, and the KPI snapshots carry the loss value."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from apps.campaigns.models import GroupBuyOffer
from apps.ops.demo.supply import RECEIPT_NOTE
from apps.stores.models import LossReason, StockLevel, StockMovement, Store, StoreKpiSnapshot
from apps.stores.selectors import loss_rates

pytestmark = pytest.mark.django_db

END_DAY = dt.date(2026, 7, 31)
DAYS = 14


@pytest.fixture
def demo() -> None:
    call_command(
        "seed_demo",
        "--stores",
        "3",
        "--members",
        "200",
        "--days",
        str(DAYS),
        "--end-day",
        END_DAY.isoformat(),
        "--no-compute",
        stdout=StringIO(),
    )


def _every_store_has_loss_rows_with_reasons_in_the_history_window() -> None:
    losses = StockMovement.objects.filter(kind="loss")
    assert set(losses.values_list("store_id", flat=True)) == set(
        Store.objects.values_list("pk", flat=True)
    )
    assert set(losses.values_list("reason", flat=True)) <= set(LossReason.values)
    assert {"expired", "spoiled"} <= set(losses.values_list("reason", flat=True))
    assert not losses.filter(quantity__gte=0).exists()
    first = END_DAY - dt.timedelta(days=DAYS - 1)
    for moment in losses.values_list("created_at", flat=True):
        local = timezone.localtime(moment)
        assert first <= local.date() <= END_DAY
        assert 8 <= local.hour < 21
    # Fresh goods only ever spoil; shelf goods are never "spoiled".
    assert not losses.filter(product__category__is_fresh=False, reason="spoiled").exists()
    assert not losses.filter(product__category__is_fresh=True, reason="theft").exists()


def _fresh_categories_lose_a_larger_share_than_shelf_goods() -> None:
    rates = loss_rates(
        store_ids=Store.objects.values_list("pk", flat=True),
        since=END_DAY - dt.timedelta(days=DAYS - 1),
        until=END_DAY + dt.timedelta(days=1),
    )
    totals = {True: [Decimal(0), Decimal(0)], False: [Decimal(0), Decimal(0)]}
    for rate in rates:
        totals[rate.is_fresh][0] += rate.lost_value
        totals[rate.is_fresh][1] += rate.lost_value + rate.sold_value
    fresh = totals[True][0] / totals[True][1]
    shelf = totals[False][0] / totals[False][1]
    assert Decimal("0.02") < fresh < Decimal("0.10")
    assert shelf < fresh / 4


def _stock_stays_equal_to_the_ledger_and_never_goes_below_zero() -> None:
    movements = defaultdict(list)
    for store_id, product_id, created_at, pk, quantity in StockMovement.objects.values_list(
        "store_id", "product_id", "created_at", "pk", "quantity"
    ):
        movements[store_id, product_id].append((created_at, pk, quantity))
    # The pre-order's fruit: none on the shelf at its stores (apps/ops/demo/presale.py).
    presale = set(
        GroupBuyOffer.objects.filter(presale=True).values_list("broadcast__store_id", "product_id")
    )
    for store_id, product_id, on_hand in StockLevel.objects.values_list(
        "store_id", "product_id", "on_hand"
    ):
        assert on_hand >= (0 if (store_id, product_id) in presale else 1)
        balance = 0
        for _at, _pk, quantity in sorted(movements.pop((store_id, product_id), [])):
            balance += quantity
            assert balance >= 0
        assert balance == on_hand
    assert movements == {}  # no ledger row without a stock level
    # Each lost unit was received first, in one receipt per store and product.
    received = StockMovement.objects.filter(kind="receipt", note=RECEIPT_NOTE)
    lost = StockMovement.objects.filter(kind="loss")
    assert (
        received.aggregate(units=Sum("quantity"))["units"]
        == -lost.aggregate(units=Sum("quantity"))["units"]
    )
    assert received.count() == lost.values("store_id", "product_id").distinct().count()


def _kpi_snapshots_carry_each_days_loss_value() -> None:
    expected: dict[tuple[int, dt.date], Decimal] = defaultdict(Decimal)
    for store_id, created_at, quantity, price in StockMovement.objects.filter(
        kind="loss"
    ).values_list("store_id", "created_at", "quantity", "product__price"):
        expected[store_id, timezone.localtime(created_at).date()] -= quantity * price
    snapshots = {
        (store_id, day): value
        for store_id, day, value in StoreKpiSnapshot.objects.exclude(loss_value=0).values_list(
            "store_id", "day", "loss_value"
        )
    }
    assert snapshots == dict(expected)
    assert StoreKpiSnapshot.objects.values("day").distinct().count() == DAYS


# One demo per test costs ~15 s: each test checks two things on the same demo.


def test_every_store_loses_stock_with_reasons_and_fresh_goods_lose_more(demo):
    _every_store_has_loss_rows_with_reasons_in_the_history_window()
    _fresh_categories_lose_a_larger_share_than_shelf_goods()


def test_the_ledger_stays_whole_and_the_kpi_snapshots_carry_the_loss_value(demo):
    _stock_stays_equal_to_the_ledger_and_never_goes_below_zero()
    _kpi_snapshots_carry_each_days_loss_value()
