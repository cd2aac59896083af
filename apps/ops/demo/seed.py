"""The demo data service: fill an empty database with a deterministic, realistic Linli.

`demo_data_seed(options=...)` is what `manage.py seed_demo` calls. Everything is written in one
transaction with set-wise bulk inserts; primary keys of the big tables are allocated here in
memory so orders and their lines are linked without reading ids back. The order history is
imported history: it is written directly, not through `order_create`, and takes no stock (the
stock ledger starts with one opening receipt per store × product). See docs/demo-data.md.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone, translation

from apps.campaigns.models import Promotion
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
from apps.devices.models import Device, DeviceAlert
from apps.ops.demo import catalogue, scenes
from apps.ops.demo.accounts import DEMO_PASSWORD, DemoAccount, demo_accounts_create
from apps.ops.demo.bulk import (
    ORDER_COLUMNS,
    loading_session,
    rows_insert,
    statistics_refresh,
    timestamps_adapt,
    values_adapter,
)
from apps.ops.demo.campaigns import demo_campaigns_seed, demo_templates_seed
from apps.ops.demo.community import (
    StoreRef,
    announceable_product_names,
    message_rows,
    nps_rows,
)
from apps.ops.demo.devices import demo_devices_seed
from apps.ops.demo.fulfilment import demo_fulfilment_seed
from apps.ops.demo.inspections import demo_inspections_seed
from apps.ops.demo.live import demo_live_history_seed
from apps.ops.demo.names import BRAND, CITY, DISTRICTS
from apps.ops.demo.orders import (
    BASE_ORDERS_PER_STORE_DAY,
    CHANNELS,
    FULFILMENTS,
    GROUP_BUY_DISCOUNT,
    PLANTED_RULES,
    STATUSES,
    STORE_SIZE_SIGMA,
    TZ,
    DayPlan,
    HistoryGenerator,
    RuleTally,
    StoreArrays,
    products_arrays,
)
from apps.ops.demo.people import (
    MemberDraft,
    member_card_for,
    members_draft,
    pos_card_for,
)
from apps.ops.demo.presale import demo_presale_seed, presale_product_name, presale_stores
from apps.ops.demo.purchasing import demo_purchasing_seed
from apps.ops.demo.seasonality import (
    WeatherDay,
    calendar_known,
    day_kind,
    weather_forecast,
    weather_simulate,
)
from apps.ops.demo.supply import demo_supply_seed
from apps.ops.demo.training import demo_training_seed
from apps.procurement.models import Supplier, SupplierProduct
from apps.procurement.selectors.aftersales import refunded_order_days, refunds_by_store
from apps.stores.inspections.services import checklist_template_ensure_default
from apps.stores.kpis.services import kpi_snapshots_backfill
from apps.stores.models import (
    Order,
    OrderLine,
    Region,
    StockLevel,
    StockMovement,
    Store,
    StoreKpiSnapshot,
)
from apps.stores.services.kpis import store_kpi_snapshots_compute
from linli import roles

__all__ = ["DEMO_PASSWORD", "DemoAccount", "DemoOptions", "DemoSummary", "demo_data_seed"]

BATCH_SIZE = 5000
FORECAST_DAYS = 14
RECENT_DAYS_FOR_STOCK = 14
LOW_STOCK_SHARE = 0.03  # levels deliberately left at 1–3 units
STOCK_FLOOR = (4, 13)  # otherwise at least 4–12 units (upper bound exclusive)
OPENING_NOTE = "期初库存（演示数据导入）"
RESTOCK_NOTE = "演示数据：月度补货"
SALES_POSTING_NOTE = "演示数据：月度销售过账"
RESTOCK_AT, SALES_POSTING_AT = dt.time(6), dt.time(22, 30)
_CHINESE_ORDINALS = "一二三四五六七八九十"
PREFIXES = {"pos": "POS", "group_buy": "GB", "mini_program": "MP"}
LINE_COLUMNS = ("id", "order_id", "product_id", "quantity", "unit_price", "discount", "line_total")
# Columns the history loop adapts itself (once per distinct amount; timestamps vectorised).
ORDER_READY = ("total", "discount_total", "placed_at")
LINE_READY = ("unit_price", "discount", "line_total")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoOptions:
    stores: int = 200
    members: int = 20_000
    days: int = 90
    seed: int = 2026
    end_day: dt.date | None = None  # last history day; default: yesterday (local time)
    # Expected baskets per store and day before the store size and day factors. The default
    # keeps 200 stores × 90 days within the seeding time budget; a busy community store
    # serves several hundred a day (docs/demo-data.md, "Volumes and speed").
    orders_per_day: float = BASE_ORDERS_PER_STORE_DAY


@dataclass
class DemoSummary:
    first_day: dt.date
    last_day: dt.date
    counts: dict[str, int] = field(default_factory=dict)
    rule_confidence: dict[str, float] = field(default_factory=dict)
    accounts: list[DemoAccount] = field(default_factory=list)
    seconds: float = 0.0


def demo_database_is_empty() -> bool:
    """True when no store, member, product or supplier exists (the demo would collide)."""
    return not (
        Store.objects.exists()
        or Member.objects.exists()
        or Product.objects.exists()
        or Supplier.objects.exists()
    )


def demo_data_seed(*, options: DemoOptions, progress: Progress | None = None) -> DemoSummary:
    """Write the whole demo in one transaction. Precondition: `demo_database_is_empty()`.

    Deterministic: the same options (seed and end day included) give the same rows, apart from
    creation timestamps and password salts.
    """
    if options.stores < 1 or options.members < 1 or options.days < 1:
        raise ValueError("stores, members and days must be positive")
    report = progress or (lambda _message: None)
    started = time.monotonic()
    end_day = options.end_day or (timezone.localdate() - dt.timedelta(days=1))
    with loading_session(), transaction.atomic():
        summary = _Seeder(options, end_day, report).run()
    summary.seconds = time.monotonic() - started
    return summary


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


class _Seeder:
    """One demo run: independent random streams per part (spawned from the seed), so changing
    e.g. the member count does not change the weather or the stores."""

    def __init__(self, options: DemoOptions, end_day: dt.date, report: Progress) -> None:
        self.options = options
        self.report = report
        self.days = [
            end_day - dt.timedelta(days=options.days - 1 - index) for index in range(options.days)
        ]
        self.today = end_day + dt.timedelta(days=1)
        (
            self.seq_catalogue,
            self.seq_stores,
            self.seq_members,
            self.seq_weather,
            self.seq_history,
            self.seq_messages,
            self.seq_stock,
            self.seq_suppliers,
            self.seq_nps,
        ) = np.random.SeedSequence(options.seed).spawn(9)
        self.summary = DemoSummary(first_day=self.days[0], last_day=end_day)
        self.plans: list[DayPlan] = []  # the history's days, as `_history` writes them
        self._clock = time.monotonic()

    def _step(self, message: str) -> None:
        now = time.monotonic()
        self.report(f"{message} ({now - self._clock:.1f}s)")
        self._clock = now

    def run(self) -> DemoSummary:
        roles.roles_sync()
        # Inspectors need an active checklist to start an inspection on the demo.
        checklist_template_ensure_default()
        weather = self._weather()
        self._step(f"weather: {len(self.days)} observed + {FORECAST_DAYS} forecast days")
        stores = self._stores()
        self._step(f"stores: {len(stores)} in {len(DISTRICTS)} districts of {CITY}")
        products = self._catalogue()
        self._step(f"catalogue: {len(products)} products")
        self._suppliers(products)
        self._step("suppliers and their offers")
        self._tags()
        draft, member_ids = self._members(stores)
        self._step(f"members: {len(member_ids)} with identities")
        # The live history first: its group-buy orders are baskets the history's planted rules
        # count, and sales its monthly ledger postings include.
        demo_templates_seed()
        live = demo_live_history_seed(
            stores=stores, store_size=self.store_size, days=self.days, seed=self.options.seed
        )
        self._step(
            "live history: " + ", ".join(f"{count} {label}" for label, count in live.counts.items())
        )
        generator = self._history(
            stores, products, draft, member_ids, weather, live_baskets=live.baskets
        )
        planned = self._promotions(products, generator)
        self._step(f"promotions: {planned} planned price cuts and group buys")
        self._stock(stores, products, generator)
        self._step("stock levels with opening receipts")
        postings = self._sales_ledger(stores, products, generator, live_units=live.units_sold)
        self._step(f"stock ledger: {postings} monthly restocking receipts and sales postings")
        self._community(stores, draft, member_ids)
        self._step("community messages and NPS answers")
        statistics_refresh([Member, Order, OrderLine, StockLevel, StockMovement, CommunityMessage])
        for day in self.days:
            store_kpi_snapshots_compute(day=day, refunds=refunds_by_store)
        self._step("KPI snapshots")
        self.summary.accounts = demo_accounts_create(stores=stores, supplier=self.blueberry_farm)
        self._sequences_reset()
        demo_purchasing_seed(stores=stores, supplier=self.blueberry_farm, today=self.today)
        demo_supply_seed(
            stores=stores,
            products=products,
            units_recent=generator.units_recent,
            days=self.days,
            seed=self.options.seed,
        )
        demo_fulfilment_seed(hq_user=get_user_model().objects.get(username="hq"), today=self.today)
        demo_campaigns_seed(stores=stores, today=self.today)
        demo_training_seed(stores=stores)
        self._step("purchasing, supply, fulfilment and campaigns")
        presale = demo_presale_seed(stores=stores, today=self.today, seed=self.options.seed)
        # The refunds given above (short boxes, complaints) change their orders' days' revenue,
        # computed before them: those days again, so the days add up to GMV (docs/kpis.md).
        history_start = dt.datetime.combine(self.days[0], dt.time.min, tzinfo=TZ)
        for day in sorted(refunded_order_days(decided_since=history_start)):
            store_kpi_snapshots_compute(day=day, refunds=refunds_by_store)
        self._step(
            "pre-order: " + ", ".join(f"{count} {label}" for label, count in presale.items())
        )
        inspections = demo_inspections_seed(stores=stores, days=self.days, seed=self.options.seed)
        self._step(f"inspection history: {inspections} inspections")
        # The cabinets' readings run to now, or to the end of the demo's "today" when that is
        # earlier (a pinned --end-day in the past: the same rows on every run).
        today_end = dt.datetime.combine(self.today + dt.timedelta(days=1), dt.time.min, tzinfo=TZ)
        cold_chain = demo_devices_seed(
            stores=stores, until=min(timezone.now(), today_end), seed=self.options.seed
        )
        self._step(
            "cold chain: " + ", ".join(f"{count} {label}" for label, count in cold_chain.items())
        )
        # The KPI pack for every month of the history, so the dashboards are filled on first
        # login (docs/kpis.md, "Cost").
        kpi_snapshots_backfill(first=self.days[0])
        self._step("KPI pack (monthly snapshots)")
        for model in (
            Store,
            Product,
            Supplier,
            SupplierProduct,
            Member,
            MemberIdentity,
            Order,
            OrderLine,
            StockLevel,
            StockMovement,
            CommunityMessage,
            NpsAnswer,
            StoreKpiSnapshot,
            WeatherObservation,
            Promotion,
            Device,
            DeviceAlert,
        ):
            with translation.override("en"):  # printed by the command (operator output)
                label = str(model._meta.verbose_name_plural)
            self.summary.counts[label] = model.objects.count()
        return self.summary

    # ---- weather ----------------------------------------------------------------------------
    def _weather(self) -> list[WeatherDay]:
        rng = np.random.default_rng(self.seq_weather)
        last = self.today + dt.timedelta(days=FORECAST_DAYS - 1)
        truth = weather_simulate(first=self.days[0], last=last, rng=rng)
        history = truth[: len(self.days)]
        forecast = weather_forecast(truth=truth[len(self.days) :], issued_on=self.today, rng=rng)
        rows = [
            WeatherObservation(
                city=CITY,
                day=item.day,
                kind=kind,
                temp_max_c=Decimal(str(item.temp_max_c)),
                temp_min_c=Decimal(str(item.temp_min_c)),
                precipitation_mm=Decimal(str(item.precipitation_mm)),
                condition=item.condition,
                issued_on=issued_on,
            )
            for items, kind, issued_on in (
                (history, WeatherObservation.Kind.OBSERVED, None),
                (forecast, WeatherObservation.Kind.FORECAST, self.today),
            )
            for item in items
        ]
        WeatherObservation.objects.bulk_create(rows, batch_size=BATCH_SIZE)
        if not calendar_known(self.days):
            self.report("warning: chinese_calendar does not know some days; weekends only there")
        return history

    # ---- stores -----------------------------------------------------------------------------
    def _stores(self) -> list[Store]:
        rng = np.random.default_rng(self.seq_stores)
        regions = Region.objects.bulk_create(
            [Region(code=district.code, name=district.name, city=CITY) for district in DISTRICTS]
        )
        count = self.options.stores
        per_region = math.ceil(count / len(DISTRICTS))
        size = rng.lognormal(0.0, STORE_SIZE_SIGMA, count)
        self.store_size = size / size.mean()
        stores = []
        for index in range(count):
            region_index, slot = divmod(index, per_region)
            district = DISTRICTS[region_index]
            names = district.neighbourhoods
            neighbourhood = names[slot % len(names)]
            if slot >= len(names):
                neighbourhood += _CHINESE_ORDINALS[min(slot // len(names), 9)]
            road = district.roads[int(rng.integers(len(district.roads)))]
            stores.append(
                Store(
                    code=f"HZ{index + 1:04d}",
                    name=f"{BRAND}·{neighbourhood}店",
                    region=regions[region_index],
                    address=f"{CITY}市{district.name}{road}{int(rng.integers(1, 600))}号",
                    latitude=Decimal(f"{district.latitude + rng.normal(0, 0.02):.6f}"),
                    longitude=Decimal(f"{district.longitude + rng.normal(0, 0.025):.6f}"),
                    status=Store.Status.OPEN,
                    opened_on=self.days[0] - dt.timedelta(days=int(rng.integers(30, 2100))),
                )
            )
        self.store_region = np.array(
            [divmod(index, per_region)[0] for index in range(count)], dtype=np.int64
        )
        return Store.objects.bulk_create(stores, batch_size=BATCH_SIZE)

    # ---- catalogue --------------------------------------------------------------------------
    def _catalogue(self) -> list[Product]:
        tops = Category.objects.bulk_create(
            [
                Category(code=spec.code, name=spec.name, is_fresh=spec.is_fresh)
                for spec in catalogue.CATEGORIES
                if spec.parent is None
            ]
        )
        parent_by_code = {category.code: category for category in tops}
        leaves = Category.objects.bulk_create(
            [
                Category(
                    code=spec.code,
                    name=spec.name,
                    parent=parent_by_code[spec.parent],
                    is_fresh=spec.is_fresh,
                )
                for spec in catalogue.CATEGORIES
                if spec.parent is not None
            ]
        )
        self.category_by_code = {category.code: category for category in [*tops, *leaves]}
        numbers: dict[str, int] = {}
        products = []
        for index, spec in enumerate(catalogue.PRODUCTS):
            numbers[spec.category] = numbers.get(spec.category, 0) + 1
            price = Decimal(spec.price)
            ratio = catalogue.COST_RATIO[catalogue.top_level(spec.category)]
            products.append(
                Product(
                    sku=f"{spec.category}-{numbers[spec.category]:03d}",
                    barcode=_ean13(f"6988026{index + 1:05d}"),
                    name=spec.name,
                    category=self.category_by_code[spec.category],
                    unit=spec.unit,
                    price=price,
                    cost=(price * ratio).quantize(Decimal("0.01")),
                    shelf_life_days=spec.shelf_life_days,
                    is_new=spec.is_new,
                    is_high_value=spec.is_high_value,
                    is_active=spec.is_active,
                )
            )
        return Product.objects.bulk_create(products, batch_size=BATCH_SIZE)

    def _suppliers(self, products: list[Product]) -> None:
        rng = np.random.default_rng(self.seq_suppliers)
        suppliers = Supplier.objects.bulk_create(
            [
                Supplier(
                    code=spec.code,
                    name=spec.name,
                    kind=spec.kind,
                    contact_name=spec.contact,
                    phone=f"+86139{int(rng.integers(0, 10**8)):08d}",
                    province=spec.province,
                )
                for spec in catalogue.SUPPLIERS
            ]
        )
        self.blueberry_farm = next(
            supplier
            for supplier, spec in zip(suppliers, catalogue.SUPPLIERS, strict=True)
            if spec.key == "blueberry_farm"
        )
        offers = []
        for product, spec in zip(products, catalogue.PRODUCTS, strict=True):
            pack = catalogue.PACK_SIZE[catalogue.top_level(spec.category)]
            for supplier, supplier_spec in zip(suppliers, catalogue.SUPPLIERS, strict=True):
                preferred = spec.category in supplier_spec.categories
                if not preferred and spec.category not in supplier_spec.backup_for:
                    continue
                factor = rng.uniform(0.96, 1.04) if preferred else rng.uniform(1.02, 1.10)
                offers.append(
                    SupplierProduct(
                        supplier=supplier,
                        product=product,
                        cost=(product.cost * Decimal(f"{factor:.4f}")).quantize(Decimal("0.01")),
                        lead_time_days=supplier_spec.lead_time_days,
                        min_order_qty=pack * int(rng.integers(1, 4)),
                        pack_size=pack,
                        is_preferred=preferred,
                    )
                )
        SupplierProduct.objects.bulk_create(offers, batch_size=BATCH_SIZE)

    def _tags(self) -> None:
        """Scene tags with their chat keywords and purchase rules (kept if already there)."""
        tags = [
            Tag.objects.get_or_create(
                name=scene.tag_name,
                defaults={"category": Tag.Category.SCENE, "description": scene.description},
            )[0]
            for scene in scenes.SCENES
        ]
        TagKeyword.objects.bulk_create(
            [
                TagKeyword(tag=tag, keyword=keyword)
                for tag, scene in zip(tags, scenes.SCENES, strict=True)
                for keyword in scene.keywords
            ],
            ignore_conflicts=True,
        )
        TagCategoryRule.objects.bulk_create(
            [
                TagCategoryRule(
                    tag=tag, category=self.category_by_code[code], min_purchases=minimum
                )
                for tag, scene in zip(tags, scenes.SCENES, strict=True)
                for code, minimum in scene.category_rules
            ],
            ignore_conflicts=True,
        )

    # ---- members ----------------------------------------------------------------------------
    def _members(self, stores: list[Store]) -> tuple[MemberDraft, np.ndarray]:
        rng = np.random.default_rng(self.seq_members)
        first_id = _next_id(Member)
        draft = members_draft(
            count=self.options.members,
            first_sequence=first_id,
            store_weights=self.store_size,
            days=len(self.days),
            rng=rng,
        )
        member_ids = np.arange(first_id, first_id + len(draft), dtype=np.int64)
        window_start = dt.datetime.combine(self.days[0], dt.time(10), tzinfo=TZ)
        join_seconds = rng.integers(0, 3600, len(draft)).tolist()
        joined_at = []
        for index in range(len(draft)):
            join_day = int(draft.join_day[index])
            if join_day >= 0:
                # Joined inside the window, in the early morning before any purchase that day.
                joined = dt.datetime.combine(self.days[join_day], dt.time(6), tzinfo=TZ)
            else:
                joined = window_start - dt.timedelta(days=int(draft.joined_offset_days[index]))
                opened_on = stores[int(draft.home_store[index])].opened_on
                joined = max(joined, dt.datetime.combine(opened_on, dt.time(10), tzinfo=TZ))
            joined_at.append(joined + dt.timedelta(seconds=join_seconds[index]))
        store_ids = [store.pk for store in stores]
        rows_insert(
            Member,
            (
                "id",
                "member_no",
                "phone",
                "name",
                "gender",
                "birth_year",
                "home_store_id",
                "joined_at",
                "marketing_consent",
            ),
            zip(
                member_ids.tolist(),
                draft.member_no,
                draft.phone,
                draft.name,
                draft.gender,
                draft.birth_year,
                [store_ids[store] for store in draft.home_store.tolist()],
                joined_at,
                draft.marketing_consent.tolist(),
                strict=True,
            ),
        )
        kind = MemberIdentity.Kind
        identities: list[tuple[int, str, str]] = []
        for index, member_id in enumerate(member_ids.tolist()):
            sequence = first_id + index
            identities.append((member_id, kind.PHONE, draft.phone[index]))
            if draft.has_card[index]:
                identities.append((member_id, kind.MEMBER_CARD, member_card_for(sequence)))
            if draft.has_wechat[index]:
                identities.append((member_id, kind.WECHAT, draft.wechat_ids[index]))
            if draft.has_mini_program[index]:
                identities.append((member_id, kind.MINI_PROGRAM, draft.mini_program_ids[index]))
            if draft.has_pos_card[index]:
                identities.append((member_id, kind.POS_CARD, pos_card_for(sequence)))
        rows_insert(MemberIdentity, ("member_id", "kind", "value"), identities)
        return draft, member_ids

    # ---- orders -----------------------------------------------------------------------------
    def _history(
        self,
        stores: list[Store],
        products: list[Product],
        draft: MemberDraft,
        member_ids: np.ndarray,
        weather: list[WeatherDay],
        *,
        live_baskets: list[tuple[dt.date, int, bool]],
    ) -> HistoryGenerator:
        product_arrays = products_arrays(
            days=len(self.days), rng=np.random.default_rng(self.seq_catalogue)
        )
        day_index = {day: index for index, day in enumerate(self.days)}
        product_index = {product.pk: index for index, product in enumerate(products)}
        generator = HistoryGenerator(
            products=product_arrays,
            stores=StoreArrays(region=self.store_region, size=self.store_size),
            region_codes=tuple(district.code for district in DISTRICTS),
            members=draft,
            days=self.days,
            day_kinds=[day_kind(day) for day in self.days],
            weather=weather,
            seed_sequence=self.seq_history,
            first_order_id=_next_id(Order),
            first_line_id=_next_id(OrderLine),
            recent_days=RECENT_DAYS_FOR_STOCK,
            orders_per_store_day=self.options.orders_per_day,
            other_baskets=[
                (day_index[day], product_index[product_id], counted)
                for day, product_id, counted in live_baskets
            ],
        )
        store_ids = [store.pk for store in stores]
        product_ids = [product.pk for product in products]
        member_id_list = member_ids.tolist()
        adapters = {
            (model, column): values_adapter(model, column, convert=_money)
            for model, columns in ((Order, ORDER_READY), (OrderLine, LINE_READY))
            for column in columns
            if column != "placed_at"
        }

        def money(model: type[models.Model], column: str, cents: np.ndarray) -> list[object]:
            adapt = adapters[(model, column)]
            distinct, position = np.unique(cents, return_inverse=True)
            adapted = np.array([adapt(value) for value in distinct.tolist()], dtype=object)
            return adapted[position].tolist()

        order_total = line_total = 0
        for number, day_orders in enumerate(generator.history(), start=1):
            self.plans.append(day_orders.plan)
            day_label = day_orders.day.strftime("%Y%m%d")
            channel_names = [CHANNELS[value] for value in day_orders.channel.tolist()]
            order_ids = day_orders.order_id.tolist()
            orders = zip(
                order_ids,
                [store_ids[store] for store in day_orders.store.tolist()],
                [member_id_list[m] if m >= 0 else None for m in day_orders.member.tolist()],
                channel_names,
                [FULFILMENTS[value] for value in day_orders.fulfilment.tolist()],
                [STATUSES[value] for value in day_orders.status.tolist()],
                [f"demo-{order_id}" for order_id in order_ids],
                [
                    f"{PREFIXES[channel]}{day_label}{order_id:08d}"
                    for channel, order_id in zip(channel_names, order_ids, strict=True)
                ],
                money(Order, "total", day_orders.total_cents),
                money(Order, "discount_total", day_orders.discount_cents),
                timestamps_adapt(day_orders.placed_at),
                strict=True,
            )
            lines = zip(
                day_orders.line_id.tolist(),
                day_orders.line_order_id.tolist(),
                [product_ids[product] for product in day_orders.line_product.tolist()],
                day_orders.line_quantity.tolist(),
                money(OrderLine, "unit_price", day_orders.line_price_cents),
                money(OrderLine, "discount", day_orders.line_discount_cents),
                money(OrderLine, "line_total", day_orders.line_total_cents),
                strict=True,
            )
            order_count = rows_insert(Order, ORDER_COLUMNS, orders, ready=ORDER_READY)
            line_count = rows_insert(OrderLine, LINE_COLUMNS, lines, ready=LINE_READY)
            order_total += order_count
            line_total += line_count
            if number % 10 == 0 or number == len(self.days):
                self._step(
                    f"orders: day {number}/{len(self.days)} ({day_orders.day}), "
                    f"{order_total} orders, {line_total} lines so far"
                )
        for rule, tally in zip(PLANTED_RULES, generator.tallies, strict=True):
            self.summary.rule_confidence[rule.name] = _confidence(tally)
        return generator

    # ---- promotions -------------------------------------------------------------------------
    def _promotions(self, products: list[Product], generator: HistoryGenerator) -> int:
        """HQ's plan behind the history's discounts, as `Promotion` rows (network-wide, one
        day each): every day's price cuts and group-buy fruit, and the price cuts planned for
        the forecast's horizon. The forecast and the ranker read them as they would a real
        plan; the history's lines carry exactly these discounts."""
        ahead = [self.today + dt.timedelta(days=offset) for offset in range(FORECAST_DAYS)]
        rows = []
        for plan in [*self.plans, *generator.plan_ahead(ahead)]:
            for index, rate in zip(plan.promoted.tolist(), plan.rates.tolist(), strict=True):
                percent = round(rate * 100)
                rows.append(
                    Promotion(
                        name=f"每日特价 减{percent}%",
                        kind=Promotion.Kind.PRICE,
                        product=products[index],
                        starts_on=plan.day,
                        ends_on=plan.day,
                        discount_percent=percent,
                    )
                )
            if plan.group_buy >= 0:
                rows.append(
                    Promotion(
                        name=f"社区团购 减{round(GROUP_BUY_DISCOUNT * 100)}%",
                        kind=Promotion.Kind.GROUP_BUY,
                        product=products[plan.group_buy],
                        starts_on=plan.day,
                        ends_on=plan.day,
                        discount_percent=round(GROUP_BUY_DISCOUNT * 100),
                    )
                )
        Promotion.objects.bulk_create(rows, batch_size=2000)
        return len(rows)

    # ---- stock ------------------------------------------------------------------------------
    def _stock(
        self, stores: list[Store], products: list[Product], generator: HistoryGenerator
    ) -> None:
        """Opening stock: about 1–4 days of recent sales for fresh goods (a fresh store orders
        every day, so the morning's decisions show real order quantities), 7–30 days otherwise;
        a few levels are deliberately low. One RECEIPT movement per level at the start of the
        history (the stock the store holds throughout), so on-hand equals the ledger sum."""
        rng = np.random.default_rng(self.seq_stock)
        active = np.array([product.is_active for product in products])
        fresh = np.array(
            [self.category_by_code[spec.category].is_fresh for spec in catalogue.PRODUCTS]
        )
        daily = generator.units_recent / RECENT_DAYS_FOR_STOCK
        cover = np.where(
            fresh[None, :],
            rng.uniform(1, 4, daily.shape),
            rng.uniform(7, 30, daily.shape),
        )
        on_hand = np.maximum(np.rint(daily * cover), rng.integers(*STOCK_FLOOR, daily.shape))
        low = rng.random(daily.shape) < LOW_STOCK_SHARE
        on_hand = np.where(low, rng.integers(1, 4, daily.shape), on_hand).astype(np.int64)
        on_hand = np.minimum(on_hand, 9999)
        # The pre-order's stores hold no shelf stock of its fruit (presale.py): no opening
        # receipt, so on-hand 0 is the ledger's sum; each month's restocking covers its sales.
        presale_name = presale_product_name(self.today)
        presale_index = next(
            index for index, product in enumerate(products) if product.name == presale_name
        )
        on_hand[: len(presale_stores(stores)), presale_index] = 0
        opening_at = dt.datetime.combine(self.days[0], dt.time(5), tzinfo=TZ)
        levels = []
        movements = []
        for store_index, store in enumerate(stores):
            row = on_hand[store_index].tolist()
            for product_index, product in enumerate(products):
                if active[product_index]:
                    quantity = row[product_index]
                    levels.append((store.pk, product.pk, quantity))
                    if quantity:
                        movements.append(
                            (
                                store.pk,
                                product.pk,
                                StockMovement.Kind.RECEIPT,
                                quantity,
                                OPENING_NOTE,
                                opening_at,
                            )
                        )
        rows_insert(StockLevel, ("store_id", "product_id", "on_hand"), levels)
        rows_insert(
            StockMovement,
            ("store_id", "product_id", "kind", "quantity", "note", "created_at"),
            movements,
        )

    def _sales_ledger(
        self,
        stores: list[Store],
        products: list[Product],
        generator: HistoryGenerator,
        *,
        live_units: dict[tuple[int, int, dt.date], int],
    ) -> int:
        """The history's sales through the stock ledger, so inventory turnover has its source:
        per store × active product and calendar month, one restocking RECEIPT of the units the
        month sells (on its first history day, before opening) and one SALE posting of them (on
        its last history day, after closing); the month's sales are its counted orders' units
        and the live history's completed group-buy orders' (`live_units`). Each month's
        receipts equal its sales, so on-hand stays the opening stock and the running balance
        never goes below zero. Monthly postings rather than one movement per order line keep
        it to a few rows per store and product (the order lines themselves are imported
        history, with no ledger link)."""
        active = np.array([product.is_active for product in products])
        store_ids = np.array([store.pk for store in stores], dtype=np.int64)
        product_ids = np.array([product.pk for product in products], dtype=np.int64)
        movements: list[tuple[object, ...]] = []
        units_by_month = {month: units.copy() for month, units in generator.units_by_month.items()}
        store_index_of = {store.pk: index for index, store in enumerate(stores)}
        product_index_of = {product.pk: index for index, product in enumerate(products)}
        for (store_id, product_id, month), units_sold in live_units.items():
            units = units_by_month.setdefault(
                month, np.zeros((len(stores), len(products)), dtype=np.int64)
            )
            units[store_index_of[store_id], product_index_of[product_id]] += units_sold
        for month, units in sorted(units_by_month.items()):
            month_days = [day for day in self.days if day.replace(day=1) == month]
            received_at = dt.datetime.combine(month_days[0], RESTOCK_AT, tzinfo=TZ)
            posted_at = dt.datetime.combine(month_days[-1], SALES_POSTING_AT, tzinfo=TZ)
            store_index, product_index = np.nonzero(units * active[None, :])
            quantities = units[store_index, product_index].tolist()
            pairs = list(
                zip(
                    store_ids[store_index].tolist(),
                    product_ids[product_index].tolist(),
                    quantities,
                    strict=True,
                )
            )
            movements.extend(
                (
                    store_id,
                    product_id,
                    StockMovement.Kind.RECEIPT,
                    units_sold,
                    RESTOCK_NOTE,
                    received_at,
                )
                for store_id, product_id, units_sold in pairs
            )
            movements.extend(
                (
                    store_id,
                    product_id,
                    StockMovement.Kind.SALE,
                    -units_sold,
                    SALES_POSTING_NOTE,
                    posted_at,
                )
                for store_id, product_id, units_sold in pairs
            )
        return rows_insert(
            StockMovement,
            ("store_id", "product_id", "kind", "quantity", "note", "created_at"),
            movements,
        )

    # ---- chat groups and NPS ------------------------------------------------------------------
    def _community(self, stores: list[Store], draft: MemberDraft, member_ids: np.ndarray) -> None:
        ids = member_ids.tolist()
        messages = message_rows(
            stores=[StoreRef(store.pk, store.name) for store in stores],
            announceable_products=announceable_product_names(),
            members=draft,
            member_ids=ids,
            days=self.days,
            rng=np.random.default_rng(self.seq_messages),
        )
        rows_insert(
            CommunityMessage, ("sent_at", "store_id", "group_name", "member_id", "text"), messages
        )
        answers = nps_rows(
            store_ids=[store.pk for store in stores],
            members=draft,
            member_ids=ids,
            days=self.days,
            rng=np.random.default_rng(self.seq_nps),
        )
        rows_insert(
            NpsAnswer, ("member_id", "store_id", "score", "comment", "answered_at"), answers
        )

    def _sequences_reset(self) -> None:
        """Primary keys were allocated here: move the database sequences past them."""
        statements = connection.ops.sequence_reset_sql(no_style(), [Member, Order, OrderLine])
        if statements:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1


def _confidence(tally: RuleTally) -> float:
    antecedent, both = tally.antecedent[0], tally.both[0]
    return both / antecedent if antecedent else 0.0


def _ean13(twelve_digits: str) -> str:
    digits = [int(char) for char in twelve_digits]
    checksum = sum(digits[0::2]) + 3 * sum(digits[1::2])
    return twelve_digits + str((10 - checksum % 10) % 10)
