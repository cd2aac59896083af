"""`manage.py seed_demo` at small scale: counts, determinism, planted patterns, ledger, logins."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from decimal import Decimal
from io import StringIO

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Sum
from django.http import HttpRequest
from django.test import Client
from django.utils import timezone, translation

from apps.campaigns.models import (
    Campaign,
    GroupBuyOffer,
    Promotion,
    ScenarioTemplate,
    TrackingEvent,
)
from apps.catalog.models import Category, Product, WeatherObservation
from apps.customers.models import (
    CommunityMessage,
    Member,
    MemberIdentity,
    NpsAnswer,
    Tag,
    TagCategoryRule,
    TagKeyword,
)
from apps.devices.models import Device, DeviceAlert, DeviceReading, DeviceReadingHourly
from apps.devices.services.alerts import devices_silent_sweep
from apps.ops.demo.bulk import timestamps_adapt, values_adapter
from apps.ops.demo.catalogue import PRODUCTS
from apps.ops.demo.scenes import ALL_KEYWORDS, SCENES, planted_scenes
from apps.ops.demo.seed import DEMO_PASSWORD, OPENING_NOTE
from apps.procurement.models import (
    AfterSalesCase,
    ConsolidationRun,
    DeliveryPlan,
    PurchaseOrder,
    Receipt,
    Supplier,
    SupplierProduct,
    SupplierUser,
)
from apps.procurement.selectors.aftersales import refunds_by_store
from apps.stores.access import stores_for
from apps.stores.models import (
    Inspection,
    Order,
    OrderLine,
    Region,
    StockLevel,
    StockMovement,
    Store,
    StoreKpiSnapshot,
    StoreStaff,
)

pytestmark = pytest.mark.django_db

STORES, MEMBERS, DAYS = 3, 200, 14
END_DAY = dt.date(2026, 7, 31)
DEMO_USERS = (
    "hq",
    "hq_buyer",
    "hq_inspect",
    "owner",
    "owner2",
    "clerk",
    "inspector",
    "supplier",
)


def seed(seed: int = 7, *extra: str) -> str:
    out = StringIO()
    call_command(
        "seed_demo",
        "--stores",
        str(STORES),
        "--members",
        str(MEMBERS),
        "--days",
        str(DAYS),
        "--seed",
        str(seed),
        "--end-day",
        END_DAY.isoformat(),
        "--no-compute",  # the computed pages are tested in tests/catalog/test_demo_computed.py
        *extra,
        stdout=out,
    )
    return out.getvalue()


def demo_wipe() -> None:
    """Delete everything the demo writes, children first."""
    for model in (
        AfterSalesCase,
        DeliveryPlan,
        Receipt,
        PurchaseOrder,
        ConsolidationRun,
        Campaign,
        Promotion,
        ScenarioTemplate,
        Inspection,
        OrderLine,
        StockMovement,
        Order,
        StockLevel,
        StoreKpiSnapshot,
        CommunityMessage,
        NpsAnswer,
        MemberIdentity,
        Member,
        StoreStaff,
        SupplierUser,
        SupplierProduct,
        Supplier,
        Device,
        Store,
        Region,
        TagCategoryRule,
        TagKeyword,
        Tag,
        Product,
        WeatherObservation,
    ):
        model.objects.all().delete()
    Category.objects.filter(parent__isnull=False).delete()
    Category.objects.all().delete()
    get_user_model().objects.filter(username__in=DEMO_USERS).delete()


def demo_digest() -> str:
    """A digest of the demo's key columns by natural keys (no surrogate ids, no creation
    timestamps, no password salts)."""
    parts = [
        Store.objects.order_by("code").values_list(
            "code", "name", "region__code", "address", "latitude", "longitude", "opened_on"
        ),
        Product.objects.order_by("sku").values_list(
            "sku", "barcode", "name", "category__code", "price", "cost", "is_new"
        ),
        SupplierProduct.objects.order_by("supplier__code", "product__sku").values_list(
            "supplier__code", "product__sku", "cost", "min_order_qty", "pack_size"
        ),
        Member.objects.order_by("member_no").values_list(
            "member_no",
            "phone",
            "name",
            "gender",
            "birth_year",
            "home_store__code",
            "joined_at",
            "marketing_consent",
        ),
        MemberIdentity.objects.order_by("kind", "value").values_list(
            "member__member_no", "kind", "value"
        ),
        Order.objects.order_by("placed_at", "store__code", "reference").values_list(
            "store__code",
            "member__member_no",
            "channel",
            "fulfilment",
            "status",
            "placed_at",
            "total",
            "discount_total",
            "reference",
        ),
        OrderLine.objects.order_by("order__reference", "product__sku").values_list(
            "order__reference", "product__sku", "quantity", "unit_price", "discount", "line_total"
        ),
        StockLevel.objects.order_by("store__code", "product__sku").values_list(
            "store__code", "product__sku", "on_hand"
        ),
        CommunityMessage.objects.order_by("sent_at", "store__code", "text").values_list(
            "store__code", "group_name", "member__member_no", "text", "sent_at"
        ),
        NpsAnswer.objects.order_by("member__member_no").values_list(
            "member__member_no", "store__code", "score", "comment", "answered_at"
        ),
        WeatherObservation.objects.order_by("day", "kind").values_list(
            "day", "kind", "temp_max_c", "temp_min_c", "precipitation_mm", "condition"
        ),
        StoreKpiSnapshot.objects.order_by("store__code", "day").values_list(
            "store__code", "day", "order_count", "revenue", "member_count", "average_basket"
        ),
        DeviceReading.objects.order_by("device__serial", "recorded_at").values_list(
            "device__serial", "recorded_at", "temperature_c"
        ),
        DeviceAlert.objects.order_by("device__serial", "opened_at").values_list(
            "device__serial", "status", "opened_at", "value", "detail"
        ),
        TrackingEvent.objects.values_list(
            "store_campaign__campaign__name",
            "store_campaign__store__code",
            "kind",
            "member__member_no",
            "product__sku",
            "order__placed_at",
            "occurred_at",
        ),
    ]
    digest = hashlib.sha256()
    for queryset in parts:
        # Sorted as text: rows that tie on the natural keys (a join order's empty reference, two
        # joins in the same minute) would otherwise come in whatever order the database scans.
        for row in sorted(tuple(str(value) for value in row) for row in queryset):
            digest.update(repr(row).encode())
        digest.update(b"|")
    return digest.hexdigest()


def counted_baskets() -> dict[int, set[int]]:
    baskets: dict[int, set[int]] = defaultdict(set)
    lines = OrderLine.objects.exclude(order__status__in=["cancelled", "refunded"])
    for order_id, product_id in lines.values_list("order_id", "product_id"):
        baskets[order_id].add(product_id)
    return baskets


def test_seed_demo_writes_every_part_of_the_demo():
    output = seed()

    assert Region.objects.count() == 8
    assert Store.objects.count() == STORES
    assert list(Store.objects.order_by("code").values_list("code", flat=True)) == [
        "HZ0001",
        "HZ0002",
        "HZ0003",
    ]
    assert Store.objects.get(code="HZ0001").name == "邻里优选·翠苑店"
    assert Product.objects.count() == len(PRODUCTS)
    assert not Product.objects.filter(supplier_offers__isnull=True).exists()
    assert Member.objects.count() == MEMBERS
    assert MemberIdentity.objects.filter(kind="phone").count() == MEMBERS
    assert Member.objects.filter(phone__startswith="+86").count() == MEMBERS
    assert Member.objects.values("phone").distinct().count() == MEMBERS
    orders = Order.objects.count()
    assert STORES * DAYS * 10 < orders < STORES * DAYS * 60
    assert not Order.objects.filter(lines__isnull=True).exists()
    line_sums: dict[int, Decimal] = defaultdict(Decimal)
    for order_id, line_total in OrderLine.objects.values_list("order_id", "line_total"):
        line_sums[order_id] += line_total
    totals = dict(Order.objects.values_list("id", "total"))
    assert totals == line_sums
    assert set(Order.objects.values_list("channel", flat=True)) == {
        "pos",
        "group_buy",
        "mini_program",
    }
    assert 0.5 < Order.objects.filter(member__isnull=False).count() / orders < 0.85
    assert WeatherObservation.objects.filter(kind="observed").count() == DAYS
    forecast = WeatherObservation.objects.filter(kind="forecast")
    assert forecast.count() == 14
    assert set(forecast.values_list("issued_on", flat=True)) == {END_DAY + dt.timedelta(days=1)}
    assert set(Tag.objects.values_list("name", flat=True)) == {"有孩家庭", "健身人群", "宠物主人"}
    assert TagKeyword.objects.count() == sum(len(scene.keywords) for scene in SCENES)
    assert TagCategoryRule.objects.filter(tag__name="有孩家庭", category__code="BABY-FOOD").exists()
    assert CommunityMessage.objects.count() > MEMBERS / 2
    assert NpsAnswer.objects.exists()
    assert DEMO_PASSWORD in output


def test_every_store_has_its_cabinets_with_a_week_of_readings_and_the_planted_alerts():
    """Three cabinets a store; the hourly aggregates agree with the raw rows they cover; the
    first store's 风幕柜 has an open alert opened by the real rule from its readings; the
    week's resolved alerts carry their times; no cabinet has a token, so the silent sweep
    leaves them alone however long the demo runs."""
    seed()
    first = Store.objects.get(code="HZ0001")
    assert Device.objects.count() == 3 * STORES
    assert set(Device.objects.filter(store=first).values_list("name", flat=True)) == {
        "冷藏柜",
        "冷冻柜",
        "风幕柜",
    }
    assert not Device.objects.filter(token_hash__isnull=False).exists()
    assert not Device.objects.filter(last_seen_at__isnull=True).exists()
    end = timezone.make_aware(dt.datetime.combine(END_DAY + dt.timedelta(days=2), dt.time.min))
    assert DeviceReading.objects.filter(recorded_at__gt=end).count() == 0
    for hour in DeviceReadingHourly.objects.filter(device__store=first)[:48]:
        raw = DeviceReading.objects.filter(
            device=hour.device,
            recorded_at__gte=hour.hour,
            recorded_at__lt=hour.hour + dt.timedelta(hours=1),
        ).values_list("temperature_c", flat=True)
        assert len(raw) == hour.reading_count
        assert (min(raw), max(raw)) == (hour.temperature_min, hour.temperature_max)
    chiller = Device.objects.get(store=first, name="风幕柜")
    open_alert = DeviceAlert.objects.get(status=DeviceAlert.Status.OPEN)
    assert open_alert.device == chiller
    assert open_alert.kind == DeviceAlert.Kind.TEMPERATURE_OUT_OF_RANGE
    assert (
        open_alert.value
        == DeviceReading.objects.filter(device=chiller).latest("recorded_at").temperature_c
    )
    assert (open_alert.facts["value"], open_alert.facts["unit"]) == (open_alert.value, "°C")
    assert open_alert.detail == ""  # facts only: each reader gets the sentence in their language
    with translation.override("en"):
        assert "°C, outside 0 to 8 °C for" in open_alert.detail_text
    resolved = DeviceAlert.objects.filter(status=DeviceAlert.Status.RESOLVED)
    assert resolved.exists()
    assert all(alert.facts["unit"] == "°C" and alert.detail == "" for alert in resolved)
    assert all(alert.resolved_at > alert.opened_at for alert in resolved)
    assert resolved.filter(acknowledged_by__username="owner2").exists()
    far_later = timezone.now() + dt.timedelta(days=30)
    assert devices_silent_sweep(now=far_later).opened == 0
    assert not DeviceAlert.objects.filter(kind=DeviceAlert.Kind.DEVICE_SILENT).exists()


def test_the_history_campaigns_fit_their_season():
    """A November–December history: the weekly campaigns are 换季护肤 and 周末家庭日 in turn
    (never 夏季水果季, 开学季 or 端午节, which the plain rotation would have given)."""
    from apps.ops.demo.campaigns import SEASONS

    call_command(
        "seed_demo",
        *("--stores", "2", "--members", "100", "--days", "35", "--end-day", "2026-12-20"),
        "--no-compute",
        stdout=StringIO(),
    )
    # The upcoming 夏季水果季 and the current pre-order (no template) are not history.
    history = Campaign.objects.exclude(name="夏季水果季 · 蓝莓西瓜专场").filter(
        template__isnull=False
    )
    rows = list(history.order_by("starts_on").values_list("template__code", "starts_on"))
    assert len(rows) == 5
    assert {code for code, _day in rows} == {"season-skincare", "family-weekend"}
    for code, starts_on in rows:
        assert starts_on.month in SEASONS.get(code, range(1, 13))


def test_history_lies_in_the_window_and_after_each_member_joined():
    seed()
    first = END_DAY - dt.timedelta(days=DAYS - 1)
    local_days = {
        timezone.localtime(moment).date()
        for moment in Order.objects.values_list("placed_at", flat=True)
    }
    assert min(local_days) == first
    assert max(local_days) == END_DAY
    hours = {
        timezone.localtime(moment).hour
        for moment in Order.objects.values_list("placed_at", flat=True)
    }
    assert min(hours) >= 7
    assert max(hours) <= 22
    early = [
        order_id
        for order_id, placed, joined in Order.objects.filter(member__isnull=False).values_list(
            "id", "placed_at", "member__joined_at"
        )
        if placed < joined
    ]
    assert early == []


def test_promotions_are_the_plan_behind_every_discount_and_cover_the_horizon():
    seed()
    first = END_DAY - dt.timedelta(days=DAYS - 1)
    price: dict[tuple[dt.date, int], int] = {}
    group_buy: dict[dt.date, int] = {}
    # HQ's daily plan; the pre-order's store campaigns planned their own group-buy promotions
    # when confirmed (store_campaign_confirm), per store for the campaign's days.
    plan = Promotion.objects.filter(store_campaign__isnull=True)
    for kind, product_id, starts, ends, percent, stores, region in plan.values_list(
        "kind", "product_id", "starts_on", "ends_on", "discount_percent", "stores", "region"
    ):
        assert starts == ends  # one day
        assert stores is None  # network-wide
        assert region is None
        if kind == Promotion.Kind.PRICE:
            assert percent in (10, 20, 30)
            assert (starts, product_id) not in price
            price[(starts, product_id)] = percent
        else:
            assert kind == Promotion.Kind.GROUP_BUY
            assert percent == 15
            assert starts not in group_buy
            group_buy[starts] = product_id
    history = [first + dt.timedelta(days=offset) for offset in range(DAYS)]
    horizon = [END_DAY + dt.timedelta(days=offset) for offset in range(1, 15)]
    assert sorted(group_buy) == history  # the owners pick the group buy on the day
    assert sorted({day for day, _product in price}) == history + horizon
    selling = set(Product.objects.filter(is_active=True).values_list("pk", flat=True))
    assert {product for day, product in price if day > END_DAY} <= selling
    # Every line of the history carries exactly its day's planned discount.
    checked = discounted = 0
    for placed, channel, product_id, unit_price, quantity, discount in OrderLine.objects.filter(
        order__idempotency_key__regex=r"^demo-[0-9]+$"
    ).values_list(
        "order__placed_at",
        "order__channel",
        "product_id",
        "unit_price",
        "quantity",
        "discount",
    ):
        day = timezone.localtime(placed).date()
        if channel == "group_buy" and group_buy[day] == product_id:
            percent = 15
        else:
            percent = price.get((day, product_id), 0)
        expected = unit_price * quantity * percent / 100
        assert abs(discount - expected) <= Decimal("0.01"), (day, product_id, discount, expected)
        checked += 1
        discounted += percent > 0
    assert checked > 0
    assert 0.03 < discounted / checked < 0.5


def test_same_seed_gives_identical_rows_and_another_seed_differs():
    seed(7)
    first = demo_digest()
    names = list(Member.objects.order_by("member_no").values_list("name", flat=True))
    demo_wipe()
    assert Order.objects.count() == 0

    seed(7)
    assert demo_digest() == first

    demo_wipe()
    seed(8)
    assert demo_digest() != first
    assert list(Member.objects.order_by("member_no").values_list("name", flat=True)) != names


@pytest.mark.parametrize(
    ("antecedent", "consequent", "confidence"),
    [
        ("BABY-FORMULA", "BABY-FOOD", 0.70),
        ("key:blueberry_low_sugar", "DAIRY-YOGURT", 0.50),
        ("COFFEE-BEAN", "DAIRY-MILK", 0.40),
        ("PET-CAT", "DAILY-LITTER", 0.60),
    ],
)
def test_planted_co_purchase_confidence_is_found_by_a_plain_count(
    antecedent: str, consequent: str, confidence: float
):
    seed()
    category = dict(Product.objects.values_list("id", "category__code"))
    if antecedent.startswith("key:"):
        blueberry = Product.objects.get(name="低糖蓝莓（云南蓝莓）125g").pk
        holds_antecedent = {blueberry}
    else:
        holds_antecedent = {pk for pk, code in category.items() if code == antecedent}
    with_antecedent = with_both = without_antecedent = consequent_alone = 0
    for products in counted_baskets().values():
        has_consequent = any(category[pk] == consequent for pk in products)
        if products & holds_antecedent:
            with_antecedent += 1
            with_both += has_consequent
        else:
            without_antecedent += 1
            consequent_alone += has_consequent

    assert with_antecedent >= 10
    assert abs(with_both / with_antecedent - confidence) <= 0.1
    # The pattern is a real association, not just a popular consequent.
    assert consequent_alone / without_antecedent < confidence / 1.5


def test_sales_concentrate_on_best_sellers():
    seed()
    counted = OrderLine.objects.exclude(order__status__in=["cancelled", "refunded"])
    by_product = dict(
        counted.values("product_id")
        .annotate(units=Sum("quantity"))
        .values_list("product_id", "units")
    )
    active = Product.objects.filter(is_active=True).values_list("id", flat=True)
    units = sorted((by_product.get(pk, 0) for pk in active), reverse=True)
    top_fifth = units[: len(units) // 5]
    # Heavy-tailed popularity: the best-selling fifth of the catalogue sells most units.
    assert sum(top_fifth) / sum(units) > 0.6
    best_per_store: dict[int, int] = defaultdict(int)
    for store_id, _product_id, total in counted.values_list(
        "order__store_id", "product_id"
    ).annotate(units=Sum("quantity")):
        best_per_store[store_id] = max(best_per_store[store_id], total)
    # Every store's best seller sells several units a day.
    assert len(best_per_store) == STORES
    assert all(total / DAYS >= 4 for total in best_per_store.values())


def test_only_planted_members_buy_and_talk_about_their_scene():
    seed()
    scene_of_category = {
        "BABY-FORMULA": "kids",
        "BABY-FOOD": "kids",
        "BABY-CARE": "kids",
        "HEALTH-PROTEIN": "fitness",
        "PET-CAT": "pets",
        "PET-DOG": "pets",
        "PET-TREAT": "pets",
        "DAILY-LITTER": "pets",
    }
    buyers: dict[str, set[str]] = defaultdict(set)
    for member_no, code in OrderLine.objects.filter(order__member__isnull=False).values_list(
        "order__member__member_no", "product__category__code"
    ):
        if code in scene_of_category:
            buyers[scene_of_category[code]].add(member_no)
    assert buyers["kids"]
    for scene, member_nos in buyers.items():
        assert all(scene in planted_scenes(member_no) for member_no in member_nos)

    keyword_scene = {word: scene.code for scene in SCENES for word in scene.keywords}
    talkers: dict[str, set[str]] = defaultdict(set)
    for member_no, text in CommunityMessage.objects.values_list("member__member_no", "text"):
        found = {keyword_scene[word] for word in ALL_KEYWORDS if word in text}
        if member_no is None:
            assert found == set()
        for scene in found:
            talkers[scene].add(member_no)
    assert talkers["kids"]
    for scene, member_nos in talkers.items():
        assert all(scene in planted_scenes(member_no) for member_no in member_nos)


def test_stock_on_hand_equals_the_ledger_and_is_never_negative():
    seed()
    active = Product.objects.filter(is_active=True).count()
    assert StockLevel.objects.count() == STORES * active
    ledger = {
        (row["store_id"], row["product_id"]): (row["total"], row["rows"])
        for row in StockMovement.objects.values("store_id", "product_id").annotate(
            total=Sum("quantity"), rows=Count("id")
        )
    }
    # The pre-order's fruit: none on the shelf at its stores (apps/ops/demo/presale.py).
    presale = set(
        GroupBuyOffer.objects.filter(presale=True).values_list("broadcast__store_id", "product_id")
    )
    assert len(presale) == STORES
    for store_id, product_id, on_hand in StockLevel.objects.values_list(
        "store_id", "product_id", "on_hand"
    ):
        if (store_id, product_id) in presale:
            assert on_hand == 0
        else:
            assert on_hand >= 1
        assert ledger.get((store_id, product_id), (0, 0))[0] == on_hand
    # One opening receipt per level holding stock; the demo's losses (and the receipts of the
    # goods lost) are checked in tests/stores/test_demo_loss.py.
    opening = StockMovement.objects.filter(kind="receipt", note=OPENING_NOTE)
    assert opening.count() == STORES * active - len(presale)
    assert opening.values("store_id", "product_id").distinct().count() == STORES * active - len(
        presale
    )
    # The history's sales are posted to the ledger monthly (tests/stores/test_demo_kpis.py).
    assert set(StockMovement.objects.values_list("kind", flat=True)) == {"receipt", "loss", "sale"}


def test_kpi_snapshots_cover_every_counted_order():
    seed()
    counted = Order.objects.exclude(status__in=["cancelled", "refunded"])
    assert StoreKpiSnapshot.objects.aggregate(total=Sum("order_count"))["total"] == counted.count()
    assert StoreKpiSnapshot.objects.values("day").distinct().count() == DAYS
    # The days' revenue is what was sold, as GMV counts it: the refunds the demo gives (short
    # boxes, complaints: after the days were first computed) are taken off their orders' days.
    ever = {
        "start": dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        "end": dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
    }
    refunded = sum(refunds_by_store(**ever).values(), Decimal(0))
    assert refunded > 0
    revenue = StoreKpiSnapshot.objects.aggregate(total=Sum("revenue"))["total"]
    assert revenue == counted.aggregate(total=Sum("total"))["total"] - refunded


def test_demo_accounts_log_in_with_their_roles():
    output = seed()
    client = Client()
    for username in DEMO_USERS:
        # django-axes throttles logins per client: authenticate() needs a request.
        assert client.login(request=HttpRequest(), username=username, password=DEMO_PASSWORD), (
            username
        )
        assert username in output
    users = {
        user.username: user for user in get_user_model().objects.filter(username__in=DEMO_USERS)
    }
    assert users["hq"].is_superuser
    assert users["hq"].is_staff
    assert list(users["hq"].groups.values_list("name", flat=True)) == ["HQ operations"]
    assert list(users["hq_buyer"].groups.values_list("name", flat=True)) == ["HQ procurement"]
    assert users["hq_buyer"].is_staff
    assert not users["hq_buyer"].is_superuser
    assert list(users["hq_inspect"].groups.values_list("name", flat=True)) == ["HQ inspection"]
    for username in ("owner", "owner2", "clerk", "inspector", "supplier"):
        assert not users[username].is_staff
    owned = StoreStaff.objects.filter(user=users["owner"], role="owner")
    assert list(owned.values_list("store__code", flat=True)) == ["HZ0001"]
    assert list(stores_for(users["owner"]).values_list("code", flat=True)) == ["HZ0001"]
    assert list(
        StoreStaff.objects.filter(user=users["owner2"]).values_list("store__code", "role")
    ) == [("HZ0002", "owner")]
    assert list(
        StoreStaff.objects.filter(user=users["clerk"]).values_list("store__code", "role")
    ) == [("HZ0001", "clerk")]
    assert StoreStaff.objects.filter(user=users["inspector"], role="inspector").count() == STORES
    assert list(
        SupplierUser.objects.filter(user=users["supplier"]).values_list("supplier__name", flat=True)
    ) == ["云南高原蓝莓果园"]


def test_if_empty_seeds_an_empty_database_and_then_leaves_it_alone():
    first_output = seed(7, "--if-empty")
    assert Store.objects.count() == STORES
    assert DEMO_PASSWORD in first_output
    before = demo_digest()
    output = seed(99, "--if-empty")
    assert DEMO_PASSWORD not in output
    assert demo_digest() == before


def test_refuses_to_seed_a_database_that_has_data():
    seed(7)
    before = demo_digest()
    with pytest.raises(CommandError):
        seed(99)
    assert demo_digest() == before


def test_scene_ground_truth_is_a_pure_function_of_the_member_number():
    members = [f"M{number:011d}" for number in range(5000)]
    first = [planted_scenes(member_no) for member_no in members]
    assert first == [planted_scenes(member_no) for member_no in members]
    share = {
        scene.code: sum(scene.code in scenes for scenes in first) / len(members) for scene in SCENES
    }
    assert share["kids"] == pytest.approx(0.15, abs=0.02)
    assert share["fitness"] == pytest.approx(0.10, abs=0.02)
    assert share["pets"] == pytest.approx(0.12, abs=0.02)


def test_refuses_non_positive_sizes_and_writes_nothing():
    with pytest.raises(CommandError):
        call_command("seed_demo", "--stores", "0", stdout=StringIO())
    assert Store.objects.count() == 0
    assert Member.objects.count() == 0


def test_refuses_non_positive_orders_per_day_and_writes_nothing():
    with pytest.raises(CommandError, match="orders-per-day"):
        call_command("seed_demo", "--orders-per-day", "0", stdout=StringIO())
    assert Store.objects.count() == 0
    assert Order.objects.count() == 0


def test_orders_per_day_scales_the_baskets_and_keeps_the_rest_of_the_demo():
    seed(7)
    # The history's baskets (the purchasing and live parts add orders of their own).
    default_orders = Order.objects.filter(idempotency_key__regex=r"^demo-[0-9]+$")
    baseline = default_orders.count()
    members = list(Member.objects.order_by("pk").values_list("member_no", flat=True))
    demo_wipe()
    seed(7, "--orders-per-day", "200")
    busy = default_orders.count()
    # 3 stores × 14 days: ≈ 40 × 42 × day factors baskets by default; five times that here
    # (Poisson counts, so not exactly).
    assert 4.5 < busy / baseline < 5.5
    assert list(Member.objects.order_by("pk").values_list("member_no", flat=True)) == members


def test_bulk_adapters_give_what_the_backend_would_store():
    seconds = np.array([0, 1_785_000_000, 1_785_000_001, 1_798_761_599], dtype=np.int64)
    expected = [
        connection.ops.adapt_datetimefield_value(dt.datetime.fromtimestamp(value, tz=dt.UTC))
        for value in seconds.tolist()
    ]
    assert [str(value) for value in timestamps_adapt(seconds)] == [str(v) for v in expected]
    adapt = values_adapter(OrderLine, "line_total", convert=lambda cents: Decimal(cents).scaleb(-2))
    assert [str(adapt(cents)) for cents in (0, 1290, 1290, 35880)] == [
        "0.00",
        "12.90",
        "12.90",
        "358.80",
    ]
