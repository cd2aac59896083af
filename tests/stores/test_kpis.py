"""The KPI pack (apps/stores/kpis): every KPI of a small hand-computed month per store, region
and network, null where a source has no data, percentiles, the selector other apps use, and the
nightly task's idempotency. Figures in the comments are the hand computation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.campaigns.models import Broadcast, GroupBuyJoin, GroupBuyOffer
from apps.customers.models import CommunityMessage, NpsAnswer
from apps.devices.services import alert_open
from apps.procurement.selectors.aftersales import refunds_by_store
from apps.stores.kpis.definitions import KPI_CODES
from apps.stores.kpis.selectors import (
    store_kpis,
    stores_most_declined,
    stores_needing_attention,
)
from apps.stores.kpis.services import kpi_snapshots_compute, kpi_snapshots_refresh
from apps.stores.models import (
    Inspection,
    KpiSnapshot,
    LossReason,
    Order,
    RectificationItem,
    StockLevel,
    StockMovement,
    StoreKpiSnapshot,
)
from apps.stores.selectors import loss_rates
from apps.stores.services.kpis import store_kpi_snapshots_compute
from apps.stores.tasks import kpi_snapshots_task, store_kpi_snapshots_task
from tests.campaigns.factories import BroadcastFactory, GroupBuyJoinFactory, GroupBuyOfferFactory
from tests.devices.factories import DeviceFactory
from tests.factories import ProductFactory, StoreFactory, UserFactory
from tests.procurement.factories_aftersales import AfterSalesCaseFactory
from tests.stores.kpi_support import AFTER_JULY, JULY, _order, at, build_world
from tests.stores.test_inspections_support import ChecklistTemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world()


def _figures() -> dict[tuple[str, str, str], Decimal | None]:
    rows = KpiSnapshot.objects.filter(period=JULY).select_related("store", "region")
    return {
        (
            row.scope,
            row.store.code if row.store else row.region.code if row.region else "",
            row.code,
        ): row.value
        for row in rows
    }


def _july(figures, scope, key, code):
    return figures.get((scope, key, code), "no row")


def test_gmv_and_gross_margin_per_store_region_and_network(world):
    kpi_snapshots_compute(month=JULY, now=AFTER_JULY)
    figures = _figures()
    assert _july(figures, "store", "A", "gmv") == Decimal("110.0000")
    assert _july(figures, "store", "B", "gmv") == Decimal("50.0000")
    assert _july(figures, "store", "C", "gmv") == Decimal("100.0000")
    assert _july(figures, "region", "R1", "gmv") == Decimal("160.0000")
    assert _july(figures, "region", "R2", "gmv") == Decimal("100.0000")
    assert _july(figures, "network", "", "gmv") == Decimal("260.0000")
    # A: (110 − 5 × 6) / 110 = 72.7273 %; B: (50 − 6) / 50 = 88 %; C: product cost unknown.
    assert _july(figures, "store", "A", "gross_margin") == Decimal("72.7273")
    assert _july(figures, "store", "B", "gross_margin") == Decimal("88.0000")
    assert _july(figures, "store", "C", "gross_margin") == "no row"
    # Pooled: (80 + 44) / (110 + 50) = 77.5 %.
    assert _july(figures, "region", "R1", "gross_margin") == Decimal("77.5000")
    assert _july(figures, "network", "", "gross_margin") == Decimal("77.5000")


def test_gmv_is_what_was_sold_the_refunds_given_taken_off(world):
    """A group-buy box that came short and was refunded was not sold: GMV is the counted
    orders' totals less the refunds given on them (approved or resolved refund cases), as the
    campaign review's "sold after refunds". A case awaiting approval, a rejected one and a
    replacement take nothing off; a refund on a cancelled order is not taken off twice."""
    a = world["a"]
    july_order = Order.objects.get(store=a, total=Decimal("30.00"))
    cancelled = Order.objects.get(store=a, status=Order.Status.CANCELLED)
    decided = {"store": a, "charged_to": "supplier", "decided_at": AFTER_JULY}
    refund = {**decided, "remedy": "refund"}
    AfterSalesCaseFactory(
        order=july_order, kind="missing", amount=Decimal("12.00"), status="approved", **refund
    )
    AfterSalesCaseFactory(order=july_order, amount=Decimal("3.00"), status="resolved", **refund)
    AfterSalesCaseFactory(order=july_order, amount=Decimal("5.00"), store=a, remedy="refund")
    AfterSalesCaseFactory(order=july_order, amount=Decimal("4.00"), status="rejected", **refund)
    AfterSalesCaseFactory(
        order=july_order, amount=Decimal("7.00"), status="approved", remedy="replacement", **decided
    )
    AfterSalesCaseFactory(order=cancelled, amount=Decimal("9.00"), status="approved", **refund)
    kpi_snapshots_compute(month=JULY, now=AFTER_JULY)
    figures = _figures()
    assert _july(figures, "store", "A", "gmv") == Decimal("95.0000")  # 110 − 12 − 3
    assert _july(figures, "region", "R1", "gmv") == Decimal("145.0000")
    assert _july(figures, "network", "", "gmv") == Decimal("245.0000")


def test_the_daily_revenue_is_what_was_sold_as_gmv_counts_it(world):
    """The stores' daily rows (the admin's "revenue, 30 days") took no refund off while the
    month's GMV did, so July's days added up to more than July's GMV. Both now take off the
    same refunds (`refunds_by_store`): approved or resolved refund cases, not open ones."""
    a = world["a"]
    july_order = Order.objects.get(store=a, total=Decimal("30.00"))  # 21 July
    refund = {"store": a, "remedy": "refund", "charged_to": "supplier", "decided_at": AFTER_JULY}
    AfterSalesCaseFactory(order=july_order, amount=Decimal("12.00"), status="approved", **refund)
    AfterSalesCaseFactory(order=july_order, amount=Decimal("5.00"), store=a, remedy="refund")
    for offset in range(31):
        store_kpi_snapshots_compute(day=JULY + dt.timedelta(days=offset), refunds=refunds_by_store)
    kpi_snapshots_compute(month=JULY, now=AFTER_JULY)
    day = StoreKpiSnapshot.objects.get(store=a, day=dt.date(2026, 7, 21))
    assert (day.order_count, day.revenue, day.average_basket) == (
        1,
        Decimal("18.00"),
        Decimal("18.00"),
    )
    july = StoreKpiSnapshot.objects.filter(store=a, day__gte=JULY, day__lt=dt.date(2026, 8, 1))
    days_total = sum(row.revenue for row in july)
    assert days_total == Decimal("98.00")  # 110 − 12
    assert _july(_figures(), "store", "A", "gmv") == days_total


def test_the_hourly_job_rewrites_the_day_of_an_order_refunded_days_later(store):
    """A short box is refunded days after its order: the hourly job recomputes that order's
    day, not only yesterday and today, so the day's revenue takes the refund off. Rerun, it
    changes nothing."""
    today = timezone.localdate()
    then = today - dt.timedelta(days=5)
    placed = dt.datetime.combine(then, dt.time(12), tzinfo=timezone.get_current_timezone())
    order = _order(store, placed, "30.00", product=ProductFactory())
    store_kpi_snapshots_task(day=then.isoformat())
    assert StoreKpiSnapshot.objects.get(store=store, day=then).revenue == Decimal("30.00")
    AfterSalesCaseFactory(
        order=order,
        store=store,
        amount=Decimal("12.00"),
        status="approved",
        remedy="refund",
        charged_to="supplier",
        decided_at=timezone.now(),
    )
    for _run in range(2):
        store_kpi_snapshots_task()
        assert StoreKpiSnapshot.objects.get(store=store, day=then).revenue == Decimal("18.00")


def test_repurchase_and_repeat_buyers_count_members_per_scope(world):
    kpi_snapshots_compute(month=JULY, now=AFTER_JULY)
    figures = _figures()
    # A: June {m1, m2, m3}, July {m1, m2, m4} → 2 / 3 came back.  B: June {m1}, July {m3} → 0.
    assert _july(figures, "store", "A", "repurchase_rate") == Decimal("66.6667")
    assert _july(figures, "store", "B", "repurchase_rate") == Decimal("0.0000")
    assert _july(figures, "store", "C", "repurchase_rate") == "no row"  # nobody in June
    # R1 and the network: m1, m2, m3 all bought again somewhere in it → 100 %.
    assert _july(figures, "region", "R1", "repurchase_rate") == Decimal("100.0000")
    assert _july(figures, "network", "", "repurchase_rate") == Decimal("100.0000")
    # Repeat buyers: A {m1: 2, m2: 1, m4: 1} → 1/3; B and C 0; R1 1/4; network 1/5.
    assert _july(figures, "store", "A", "repeat_buyer_share") == Decimal("33.3333")
    assert _july(figures, "store", "B", "repeat_buyer_share") == Decimal("0.0000")
    assert _july(figures, "store", "C", "repeat_buyer_share") == Decimal("0.0000")
    assert _july(figures, "region", "R1", "repeat_buyer_share") == Decimal("25.0000")
    assert _july(figures, "network", "", "repeat_buyer_share") == Decimal("20.0000")


def test_loss_rate_and_inventory_turnover(world):
    a, p = world["a"], world["p"]
    StockMovement.objects.create(
        store=a,
        product=p,
        kind=StockMovement.Kind.LOSS,
        quantity=-2,
        reason=LossReason.EXPIRED,
        created_at=at(7, 15),
    )
    StockMovement.objects.create(
        store=a, product=p, kind=StockMovement.Kind.SALE, quantity=-5, created_at=at(7, 20)
    )
    StockLevel.objects.create(store=a, product=p, on_hand=20)  # 20 × 6 = 120 at cost today
    StockMovement.objects.create(
        store=a, product=p, kind=StockMovement.Kind.RECEIPT, quantity=5, created_at=at(8, 3)
    )
    kpi_snapshots_compute(month=JULY, now=AFTER_JULY)
    figures = _figures()
    # A: lost 2 × 10 = 20, sold 5 × 10 = 50 (shelf price) → 20 / 70.  B, C: nothing lost.
    assert _july(figures, "store", "A", "loss_rate") == Decimal("28.5714")
    assert _july(figures, "store", "B", "loss_rate") == Decimal("0.0000")
    assert _july(figures, "store", "C", "loss_rate") == Decimal("0.0000")
    assert _july(figures, "network", "", "loss_rate") == Decimal("22.2222")  # 20 / 90
    # The same rate as the loss page's own computation, store by store.
    reference = loss_rates(
        store_ids=[world[key].pk for key in "abc"],
        since=JULY,
        until=dt.date(2026, 8, 1),
        by_category=False,
    )
    assert {
        (rate.store_id, rate.lost_value, rate.sold_value + rate.lost_value) for rate in reference
    } == set(
        KpiSnapshot.objects.filter(period=JULY, scope="store", code="loss_rate").values_list(
            "store_id", "numerator", "denominator"
        )
    )
    # A: sold through the ledger 5 × 6 = 30 at cost; stock at July's end = 120 today − the
    # August receipt 30 = 90.  B and C sold without taking stock through the ledger.
    assert _july(figures, "store", "A", "inventory_turnover") == Decimal("0.3333")
    assert _july(figures, "store", "B", "inventory_turnover") == "no row"
    assert _july(figures, "network", "", "inventory_turnover") == Decimal("0.3333")


def test_group_buy_success_and_live_conversion(world):
    a, b = world["a"], world["b"]
    live = BroadcastFactory(
        store_campaign__store=a,
        status=Broadcast.Status.ENDED,
        scheduled_at=at(7, 10, 19),
        started_at=at(7, 10, 20),
        ended_at=at(7, 10, 21),
        peak_viewers=40,
    )
    settled = {"settled_at": at(7, 12, 21), "deadline": at(7, 12, 20)}
    formed = GroupBuyOfferFactory(broadcast=live, status=GroupBuyOffer.Status.FORMED, **settled)
    failed = GroupBuyOfferFactory(broadcast=live, status=GroupBuyOffer.Status.FAILED, **settled)
    GroupBuyOfferFactory(broadcast=live, status=GroupBuyOffer.Status.CANCELLED, **settled)
    first, _second = (
        GroupBuyJoinFactory(offer=formed, status=GroupBuyJoin.Status.CONFIRMED) for _ in range(2)
    )
    GroupBuyJoinFactory(offer=formed, status=GroupBuyJoin.Status.CANCELLED)
    GroupBuyJoinFactory(offer=failed, status=GroupBuyJoin.Status.JOINED)
    # The same member in two offers of one broadcast is one buyer; two 接龙 lines without a
    # member count by their names (one new name, one already counted).
    GroupBuyJoinFactory(offer=failed, member=first.member, status=GroupBuyJoin.Status.JOINED)
    for name in ("王叔叔", "王叔叔"):
        GroupBuyJoinFactory(
            offer=failed, member=None, display_name=name, source=GroupBuyJoin.Source.JIELONG
        )
    # A's second broadcast: five buyers but a peak of two viewers counts two (the cap).
    small = BroadcastFactory(
        store_campaign__store=a,
        status=Broadcast.Status.ENDED,
        scheduled_at=at(7, 20, 19),
        started_at=at(7, 20, 20),
        ended_at=at(7, 20, 21),
        peak_viewers=2,
    )
    crowded = GroupBuyOfferFactory(broadcast=small, status=GroupBuyOffer.Status.OPEN)
    for _ in range(5):
        GroupBuyJoinFactory(offer=crowded, status=GroupBuyJoin.Status.JOINED)
    # B's broadcast started in June and its offer closes in August: neither counts for July.
    june = BroadcastFactory(
        store_campaign__store=b,
        status=Broadcast.Status.ENDED,
        scheduled_at=at(6, 30, 19),
        started_at=at(6, 30, 20),
        ended_at=at(6, 30, 22),
        peak_viewers=10,
    )
    GroupBuyOfferFactory(
        broadcast=june,
        status=GroupBuyOffer.Status.FORMED,
        deadline=at(8, 2),
        settled_at=at(8, 2),
    )
    kpi_snapshots_compute(month=JULY, now=AFTER_JULY)
    figures = _figures()
    assert _july(figures, "store", "A", "group_buy_success_rate") == Decimal("50.0000")  # 1 / 2
    assert _july(figures, "store", "B", "group_buy_success_rate") == "no row"
    # A: (4 buyers of 40 viewers + min(5, 2) of 2) / (40 + 2) = 6 / 42.
    assert _july(figures, "store", "A", "live_conversion") == Decimal("14.2857")
    assert _july(figures, "store", "B", "live_conversion") == "no row"
    assert _july(figures, "network", "", "live_conversion") == Decimal("14.2857")
    row = KpiSnapshot.objects.get(period=JULY, scope="store", store=a, code="live_conversion")
    assert (row.numerator, row.denominator) == (Decimal(6), Decimal(42))


def test_nps_community_and_inspection_score(world):
    a, b, c = world["a"], world["b"], world["c"]
    member = world["members"][0]
    for store, score in ((a, 10), (a, 9), (a, 5), (a, 7), (b, 3), (c, 10)):
        answered = at(6, 20) if store == c else at(7, 20)  # C's answer is June's
        NpsAnswer.objects.create(member=member, store=store, score=score, answered_at=answered)
    for store, count in ((a, 6), (c, 1)):
        for index in range(count):
            CommunityMessage.objects.create(
                store=store, group_name="群", text=f"m{index}", sent_at=at(7, 9)
            )
    template = ChecklistTemplateFactory()
    inspector = UserFactory()
    for store, score, status in (
        (a, "80.00", Inspection.Status.SUBMITTED),
        (a, "90.00", Inspection.Status.CLOSED),
        (c, "70.00", Inspection.Status.APPROVED),
    ):
        Inspection.objects.create(
            store=store,
            template=template,
            inspector=inspector,
            status=status,
            submitted_at=at(7, 8),
            score=Decimal(score),
        )
    Inspection.objects.create(store=b, template=template, inspector=inspector)  # a draft
    kpi_snapshots_compute(month=JULY, now=AFTER_JULY)
    figures = _figures()
    # A: promoters 2, detractors 1 of 4 → 25; B: one detractor → −100; C: no July answer.
    assert _july(figures, "store", "A", "nps") == Decimal("25.0000")
    assert _july(figures, "store", "B", "nps") == Decimal("-100.0000")
    assert _july(figures, "store", "C", "nps") == "no row"
    assert _july(figures, "network", "", "nps") == Decimal("0.0000")  # (2 − 2) / 5: a real 0
    # Messages per 100 buyers: A 6 / 3, B 0 / 1, C 1 / 1; network 7 / 5.
    assert _july(figures, "store", "A", "community_activity") == Decimal("200.0000")
    assert _july(figures, "store", "B", "community_activity") == Decimal("0.0000")
    assert _july(figures, "store", "C", "community_activity") == Decimal("100.0000")
    assert _july(figures, "network", "", "community_activity") == Decimal("140.0000")
    assert _july(figures, "store", "A", "inspection_score") == Decimal("85.0000")
    assert _july(figures, "store", "B", "inspection_score") == "no row"
    assert _july(figures, "region", "R1", "inspection_score") == Decimal("85.0000")
    assert _july(figures, "network", "", "inspection_score") == Decimal("80.0000")


def test_kpis_without_a_source_have_no_figure_not_a_zero(world):
    """No loss, message, NPS answer, broadcast or inspection anywhere: those KPIs are absent
    for every scope (a store that sold and lost nothing is not shown as 0 % loss)."""
    kpi_snapshots_compute(month=JULY, now=AFTER_JULY)
    codes = set(KpiSnapshot.objects.filter(period=JULY).values_list("code", flat=True))
    assert codes == {"gmv", "gross_margin", "repurchase_rate", "repeat_buyer_share"}
    assert not KpiSnapshot.objects.filter(period=JULY, value__isnull=True).exists()


def test_store_percentiles_are_direction_aware(world):
    a, p = world["a"], world["p"]
    StockMovement.objects.create(
        store=a,
        product=p,
        kind=StockMovement.Kind.LOSS,
        quantity=-2,
        reason=LossReason.EXPIRED,
        created_at=at(7, 15),
    )
    kpi_snapshots_compute(month=JULY, now=AFTER_JULY)
    percentiles = dict(
        KpiSnapshot.objects.filter(
            period=JULY, scope="store", code="repeat_buyer_share"
        ).values_list("store__code", "percentile")
    )
    # Repeat share: A 33.3 beats B and C (0 each, tied): A 100, B and C (0 + ½) / 2 = 25.
    assert percentiles == {"A": Decimal("100.0"), "B": Decimal("25.0"), "C": Decimal("25.0")}
    loss = dict(
        KpiSnapshot.objects.filter(period=JULY, scope="store", code="loss_rate").values_list(
            "store__code", "percentile"
        )
    )
    # Loss: lower is better, so A's 28.6 % is the worst (0) and B, C share the best (75).
    assert loss == {"A": Decimal("0.0"), "B": Decimal("75.0"), "C": Decimal("75.0")}
    network = KpiSnapshot.objects.get(period=JULY, scope="network", code="loss_rate")
    # Raw values 0, 0, 28.5714: direction-aware p25 is the raw 75th percentile (14.2857).
    assert (network.peer_count, network.peer_p25, network.peer_median, network.peer_p75) == (
        3,
        Decimal("14.2857"),
        Decimal("0.0000"),
        Decimal("0.0000"),
    )


def test_store_kpis_selector_gives_every_code_with_peers_and_previous_month(world):
    kpi_snapshots_compute(month=dt.date(2026, 6, 1), now=AFTER_JULY)
    kpi_snapshots_compute(month=JULY, now=AFTER_JULY)
    figures = store_kpis(world["a"])
    assert tuple(figures) == KPI_CODES
    gmv = figures["gmv"]
    assert (gmv.period, gmv.is_complete) == (JULY, True)
    assert (gmv.value, gmv.previous_value, gmv.change) == (
        Decimal("110.0000"),
        Decimal("30.0000"),
        Decimal("80.0000"),
    )
    assert gmv.percentile == Decimal("100.0")  # 110 > 100 > 50
    assert (gmv.peer_p25, gmv.peer_median, gmv.peer_count) == (
        Decimal("75.0000"),
        Decimal("100.0000"),
        3,
    )
    assert (gmv.region_value, gmv.network_value) == (Decimal("160.0000"), Decimal("260.0000"))
    assert (figures["nps"].value, figures["nps"].percentile) == (None, None)
    june = store_kpis(world["a"], period=dt.date(2026, 6, 1))
    assert june["gmv"].value == Decimal("30.0000")


def test_store_kpis_is_empty_before_any_snapshot(world):
    assert store_kpis(world["a"]) == {}


def test_nightly_task_is_idempotent(world):
    first = kpi_snapshots_task(JULY.isoformat())
    rows = list(
        KpiSnapshot.objects.order_by("scope", "store", "region", "code").values_list(
            "scope", "store", "region", "code", "value", "numerator", "denominator", "percentile"
        )
    )
    second = kpi_snapshots_task(JULY.isoformat())
    again = list(
        KpiSnapshot.objects.order_by("scope", "store", "region", "code").values_list(
            "scope", "store", "region", "code", "value", "numerator", "denominator", "percentile"
        )
    )
    assert first == second == len(rows) > 0
    assert again == rows


def test_refresh_computes_last_month_final_and_this_month_to_date(world):
    written = kpi_snapshots_refresh(now=at(8, 2))
    assert written == KpiSnapshot.objects.count()
    months = dict(
        KpiSnapshot.objects.filter(scope="network", code="gmv").values_list("period", "is_complete")
    )
    assert months == {JULY: True, dt.date(2026, 8, 1): False}
    august = KpiSnapshot.objects.get(
        scope="store", store=world["c"], code="gmv", period="2026-08-01"
    )
    assert august.value == Decimal("999.0000")


def test_the_nightly_refresh_recomputes_an_earlier_month_whose_order_was_refunded(world):
    """July's pack was computed; on 1 September a July order gets a refund. The night after,
    the refresh recomputes July too (not only August and September), so July's stored GMV
    takes the refund off as its days do; a month without such a refund is left alone."""
    kpi_snapshots_compute(month=JULY, now=AFTER_JULY)
    a = world["a"]
    assert _july(_figures(), "store", "A", "gmv") == Decimal("110.0000")
    july_order = Order.objects.get(store=a, total=Decimal("30.00"))
    AfterSalesCaseFactory(
        order=july_order,
        store=a,
        amount=Decimal("12.00"),
        status="approved",
        remedy="refund",
        charged_to="supplier",
        decided_at=at(9, 1),
    )
    kpi_snapshots_refresh(now=at(9, 2, 4))
    assert _july(_figures(), "store", "A", "gmv") == Decimal("98.0000")
    periods = set(KpiSnapshot.objects.values_list("period", flat=True).distinct())
    assert periods == {JULY, dt.date(2026, 8, 1), dt.date(2026, 9, 1)}


def test_the_nightly_refresh_catches_up_a_refund_after_a_missed_night(world):
    """July's pack was computed; on 1 September a July order gets a refund, and the night
    after nothing runs (beat down). The next night's refresh still recomputes July: what
    matters is that July's rows were computed before the refund was decided, not that it
    was decided since yesterday. Run again, it leaves July alone (its rows are newer)."""
    kpi_snapshots_compute(month=JULY, now=AFTER_JULY)
    july_order = Order.objects.get(store=world["a"], total=Decimal("30.00"))
    AfterSalesCaseFactory(
        order=july_order,
        store=world["a"],
        amount=Decimal("12.00"),
        status="approved",
        remedy="refund",
        charged_to="supplier",
        decided_at=at(9, 1),
    )
    kpi_snapshots_refresh(now=at(9, 3, 4))
    july = KpiSnapshot.objects.get(scope="store", store=world["a"], code="gmv", period=JULY)
    assert july.value == Decimal("98.0000")
    assert july.computed_at == at(9, 3, 4)

    kpi_snapshots_refresh(now=at(9, 4, 4))
    july.refresh_from_db()
    assert july.computed_at == at(9, 3, 4)
    august = KpiSnapshot.objects.filter(period=dt.date(2026, 8, 1)).first()
    assert august.computed_at == at(9, 4, 4)


def test_worst_movers_and_open_problems_need_attention():
    june = dt.date(2026, 6, 1)
    falling, rising, alerted, overdue = (StoreFactory(code=code) for code in "FRAO")
    rows = []
    for store, before, now in ((falling, (80, 60), (20, 0)), (rising, (50, 50), (55, 55))):
        for period, percentiles in ((june, before), (JULY, now)):
            for code, percentile in zip(("gmv", "nps"), percentiles, strict=True):
                rows.append(
                    KpiSnapshot(
                        scope="store",
                        store=store,
                        period=period,
                        code=code,
                        value=Decimal(1),
                        percentile=Decimal(percentile),
                    )
                )
    KpiSnapshot.objects.bulk_create(rows)
    alert_open(device=DeviceFactory(store=alerted), kind="device_silent")
    inspection = Inspection.objects.create(
        store=overdue,
        template=ChecklistTemplateFactory(),
        inspector=UserFactory(),
        status=Inspection.Status.RECTIFICATION_REQUESTED,
        submitted_at=at(7, 1),
        score=Decimal("40.00"),
    )
    for due, status in (
        (dt.date(2020, 1, 1), RectificationItem.Status.OPEN),  # overdue
        (dt.date(2020, 1, 1), RectificationItem.Status.DONE),  # done: not overdue
        (dt.date(2999, 1, 1), RectificationItem.Status.OPEN),  # not yet due
    ):
        RectificationItem.objects.create(
            inspection=inspection,
            description="fix",
            due_date=due,
            status=status,
            created_by=inspection.inspector,
            done_at=at(7, 2) if status == RectificationItem.Status.DONE else None,
        )
    attention = [
        (
            row.code,
            row.mean_percentile,
            row.percentile_change,
            row.open_alerts,
            row.overdue_rectifications,
        )
        for row in stores_needing_attention(period=JULY)
    ]
    # Open problems first (by code among equals), then the fall: F's mean went 70 → 10.
    assert attention == [
        ("A", None, None, 1, 0),
        ("O", None, None, 0, 1),
        ("F", Decimal("10.0"), Decimal("-60.0"), 0, 0),
    ]


def _plant_mean_percentiles(changes: dict[str, tuple[int, int]]) -> dict[str, object]:
    """A store per code whose every KPI percentile (gmv, nps) was `before` in June and is
    `now` in July."""
    june = dt.date(2026, 6, 1)
    stores = {code: StoreFactory(code=code) for code in changes}
    KpiSnapshot.objects.bulk_create(
        KpiSnapshot(
            scope="store",
            store=stores[code],
            period=period,
            code=kpi,
            value=Decimal(1),
            percentile=Decimal(percentile),
        )
        for code, (before, now) in changes.items()
        for period, percentile in ((june, before), (JULY, now))
        for kpi in ("gmv", "nps")
    )
    return stores


def test_most_declined_lists_only_falls_largest_first():
    stores = _plant_mean_percentiles(
        {
            "UP1": (40, 45),  # +5: improved
            "UP2": (10, 90),  # +80: improved most
            "SAME": (50, 50),  # held
            "DN1": (60, 55),  # -5
            "DN2": (90, 20),  # -70: fell most
            "DN3": (70, 40),  # -30
        }
    )
    # An improved store with an open alert needs attention, but it did not fall.
    alert_open(device=DeviceFactory(store=stores["UP1"]), kind="device_silent")
    rows = [
        (row.code, row.mean_percentile, row.percentile_change)
        for row in stores_most_declined(period=JULY)
    ]
    assert rows == [
        ("DN2", Decimal("20.0"), Decimal("-70.0")),
        ("DN3", Decimal("40.0"), Decimal("-30.0")),
        ("DN1", Decimal("55.0"), Decimal("-5.0")),
    ]
    assert [row.code for row in stores_most_declined(period=JULY, limit=2)] == ["DN2", "DN3"]
    assert stores_most_declined(period=dt.date(2026, 6, 1)) == []  # no May to fall from


def test_the_kpi_pack_is_scheduled_nightly():
    from django_celery_beat.models import PeriodicTask

    from linli.schedules import schedules_sync

    schedules_sync()
    task = PeriodicTask.objects.select_related("crontab").get(
        task="apps.stores.tasks.kpi_snapshots_task"
    )
    assert (task.enabled, task.crontab.minute, task.crontab.hour) == (True, "15", "4")
