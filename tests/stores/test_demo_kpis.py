"""A small seeded demo fills every KPI of its last complete month: the demo plants the sources
that its bulk history lacked (ledger sales for inventory turnover, broadcasts and group buys
for 成团率 and live conversion, inspections for the inspection score), realistically."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum

from apps.campaigns.models import Broadcast, GroupBuyJoin, GroupBuyOffer
from apps.ops.demo.seed import OPENING_NOTE
from apps.stores.kpis.definitions import KPI_CODES
from apps.stores.models import Inspection, KpiSnapshot, StockLevel, StockMovement, Store

pytestmark = pytest.mark.django_db

STORES = 4
END_DAY = dt.date(2026, 7, 31)
JULY = dt.date(2026, 7, 1)


@pytest.fixture
def demo() -> None:
    call_command(
        "seed_demo",
        "--stores",
        str(STORES),
        "--members",
        "600",
        "--days",
        "62",
        "--end-day",
        END_DAY.isoformat(),
        "--no-compute",
        stdout=StringIO(),
    )


def test_every_kpi_of_the_last_complete_month_has_a_figure_for_every_store(demo):
    # July is the demo's last complete month (its history ends on July 31).
    rows = KpiSnapshot.objects.filter(period=JULY)
    network = dict(rows.filter(scope="network").values_list("code", "value"))
    assert set(network) == set(KPI_CODES)
    assert [code for code, value in network.items() if value is None] == []
    per_store = dict(
        rows.filter(scope="store", value__isnull=False)
        .values("code")
        .annotate(stores=Count("store"))
        .values_list("code", "stores")
    )
    assert per_store == dict.fromkeys(KPI_CODES, STORES)
    # Plausible figures, not just present ones.
    assert Decimal(0) < network["group_buy_success_rate"] < Decimal(100)
    assert Decimal(0) < network["live_conversion"] < Decimal(100)
    assert Decimal(50) < network["inspection_score"] <= Decimal(100)
    assert Decimal("0.2") < network["inventory_turnover"] < Decimal(20)


def test_planted_sources_keep_the_ledger_whole_and_follow_settlement(demo):
    # The history's sales go through the ledger, received first in the same month: on-hand
    # stays the opening stock plus what the demo's other parts moved, and equals the ledger.
    sold = StockMovement.objects.filter(kind="sale")
    assert sold.exists()
    assert not sold.filter(quantity__gte=0).exists()
    ledger = {
        (row["store_id"], row["product_id"]): row["total"]
        for row in StockMovement.objects.values("store_id", "product_id").annotate(
            total=Sum("quantity")
        )
    }
    levels = {
        (store_id, product_id): on_hand
        for store_id, product_id, on_hand in StockLevel.objects.values_list(
            "store_id", "product_id", "on_hand"
        )
    }
    # A level without a ledger row holds 0: the pre-order's fruit at its stores (presale.py).
    assert set(ledger) <= set(levels)
    assert {key: ledger.get(key, 0) for key in levels} == levels
    presale = GroupBuyOffer.objects.filter(presale=True)
    assert (
        StockMovement.objects.filter(note=OPENING_NOTE).count()
        == StockLevel.objects.count() - presale.count()
    )
    # Every broadcast ended; formed offers reached their threshold, failed ones did not, and a
    # failed offer's joins are cancelled as settlement leaves them.
    assert set(Broadcast.objects.values_list("status", flat=True)) == {"ended"}
    for offer in GroupBuyOffer.objects.all():
        assert offer.units_joined <= offer.cap
        assert (offer.units_joined >= offer.threshold) == (offer.status == "formed")
    statuses = set(
        GroupBuyJoin.objects.filter(offer__status="failed").values_list("status", flat=True)
    )
    assert statuses <= {"cancelled"}
    assert GroupBuyOffer.objects.filter(status="formed").exists()
    assert GroupBuyOffer.objects.filter(status="failed").exists()
    # Inspections: submitted and reviewed, scored 0–100, every store every month.
    inspections = Inspection.objects.all()
    assert set(inspections.values_list("status", flat=True)) == {"approved"}
    assert set(inspections.values_list("store_id", flat=True)) == set(
        Store.objects.values_list("pk", flat=True)
    )
    assert all(0 <= score <= 100 for score in inspections.values_list("score", flat=True))
