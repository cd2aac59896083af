"""Order history of the demo: baskets per store and day, with planted co-purchase patterns.

Pure numpy, no ORM: `HistoryGenerator.days()` yields one `DayOrders` (parallel arrays of orders
and lines, ids already allocated) per history day; the seeding service turns them into rows.
Every coefficient here is documented in docs/demo-data.md.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np

from apps.ops.demo.catalogue import (
    CATEGORIES,
    PLANTED_RULES,
    PRODUCTS,
    PlantedRule,
    ProductSpec,
    top_level,
)
from apps.ops.demo.people import (
    CLOSE_HOUR,
    HOUR_SPREAD,
    OPEN_HOUR,
    SEGMENT_CAT,
    SEGMENT_COUNT,
    SEGMENT_DOG,
    SEGMENT_FITNESS,
    SEGMENT_KIDS,
    MemberDraft,
)
from apps.ops.demo.seasonality import (
    FRUIT_HEAT_COEFFICIENT,
    HOLIDAY_CATEGORY_UPLIFT,
    MELON_HEAT_COEFFICIENT,
    DayKind,
    WeatherDay,
    heat_multiplier,
    rain_factor,
)

# Volume: expected baskets per store and day before the store size, weekday, holiday and rain
# factors (store sizes are log-normal with mean 1). Small top-up baskets (2.1 lines on average)
# keep 200 stores × 90 days within the seeding time budget; popularity (below) puts the
# volume on the best sellers.
BASE_ORDERS_PER_STORE_DAY = 40.0
STORE_SIZE_SIGMA = 0.3
MEMBER_SHARE = 0.72  # baskets where the shopper shows a member identity
VISITOR_SHARE = 0.08  # member baskets bought at another store of the home store's district
# Channels of member baskets (anonymous baskets are always POS).
MEMBER_CHANNEL_SHARE = (0.70, 0.17, 0.13)  # POS, group buy, mini-program
MINI_PROGRAM_DELIVERY_SHARE = 0.4
POS_REFUNDED = 0.005
ONLINE_CANCELLED = 0.03
ONLINE_REFUNDED = 0.01
# Basket size: 1 + Poisson(mean), at most MAX_LINES distinct products.
BASKET_EXTRA_MEAN = 1.0
BASKET_EXTRA_MEAN_KIDS = 1.4
MAX_LINES = 8
QUANTITY_SHARE = (0.78, 0.17, 0.05)  # 1, 2, 3 units per line
GROUP_BUY_QUANTITY_SHARE = (0.50, 0.35, 0.15)
FAVOURITES_PER_MEMBER = 3
FAVOURITE_BOOST = 4.0
GROUP_BUY_DISCOUNT = 0.15
PROMOTION_SHARE = 0.06  # products on promotion each day
PROMOTION_RATES = (0.10, 0.20, 0.30)
PROMOTION_BOOST = 1.6
OFF_SEASON_FACTOR = 0.1
# Popularity within a leaf category is heavy-tailed, as in real stores: the catalogue weight
# cubed times a seeded log-normal factor, so each category has one or two best sellers (香蕉,
# 鲜牛奶 950ml, 低糖蓝莓 …) and a long tail; the top 20 % of store × product series sell about
# three quarters of the units.
POPULARITY_EXPONENT = 3.0
POPULARITY_SIGMA = 0.8
NEW_PRODUCT_BOOST = 1.5
REGION_COFFEE_BOOST = {"HZ-XH": 1.6, "HZ-BJ": 1.6, "HZ-YH": 1.3}
# Hour of anonymous baskets (07:00 … 22:00).
ANONYMOUS_HOUR_SHARE = np.array(
    [4, 6, 6, 6, 5, 7, 6, 5, 5, 6, 9, 10, 9, 7, 5, 4], dtype=float
)  # 7..22
GROUP_BUY_HOURS = (19, 22)  # group-buy orders come in after the evening post

# Extra category shares and multipliers by scene (generic shares are in catalogue.CATEGORIES).
SCENE_EXTRA_SHARE: dict[int, dict[str, float]] = {
    SEGMENT_KIDS: {"BABY-FORMULA": 0.06, "BABY-FOOD": 0.07, "BABY-CARE": 0.04},
    SEGMENT_FITNESS: {"HEALTH-PROTEIN": 0.10, "HEALTH-LOWSUGAR": 0.06},
    SEGMENT_CAT: {"PET-CAT": 0.07, "PET-TREAT": 0.02, "DAILY-LITTER": 0.04},
    SEGMENT_DOG: {"PET-DOG": 0.07, "PET-TREAT": 0.02},
}
SCENE_MULTIPLIER: dict[int, dict[str, float]] = {
    SEGMENT_KIDS: {"FRUIT": 1.2, "DAIRY": 1.3, "SNACK": 1.1},
    SEGMENT_FITNESS: {"FRUIT": 1.2, "DAIRY": 1.2, "SNACK": 0.5, "DRINK-SODA": 0.3},
}
SCENE_PREVALENCE = {SEGMENT_KIDS: 0.15, SEGMENT_FITNESS: 0.10}
PET_PREVALENCE = {"cat_only": 0.12 * 0.6, "both": 0.12 * 0.2, "dog_only": 0.12 * 0.2}

CHANNELS = ("pos", "group_buy", "mini_program")
FULFILMENTS = ("in_store", "pickup", "delivery")
STATUSES = ("completed", "cancelled", "refunded")
COUNTED_STATUS = 0  # completed; cancelled and refunded orders are not sales

TZ = ZoneInfo("Asia/Shanghai")
_LOG_ZERO = -np.inf


@dataclass(frozen=True)
class ProductArrays:
    specs: tuple[ProductSpec, ...]
    price_cents: np.ndarray
    leaf: tuple[str, ...]
    top: tuple[str, ...]
    popularity: np.ndarray  # relative popularity within the leaf category (seeded)
    is_fruit: np.ndarray
    is_melon: np.ndarray
    in_season: np.ndarray  # (products, 12): month m+1 in season
    first_day: np.ndarray  # first day index it sells (new products launch inside the window)
    last_day: np.ndarray  # last day index it sells (discontinued products stop)
    key_index: dict[str, int]

    def __len__(self) -> int:
        return len(self.specs)

    def in_category(self, code: str) -> np.ndarray:
        return np.array([leaf == code for leaf in self.leaf])


def products_arrays(*, days: int, rng: np.random.Generator) -> ProductArrays:
    specs = PRODUCTS
    count = len(specs)
    price = np.array([round(float(spec.price) * 100) for spec in specs], dtype=np.int64)
    weight = np.array([spec.weight for spec in specs])
    popularity = weight**POPULARITY_EXPONENT * rng.lognormal(0.0, POPULARITY_SIGMA, count)
    in_season = np.ones((count, 12), dtype=bool)
    for index, spec in enumerate(specs):
        if spec.season:
            in_season[index] = False
            in_season[index, [month - 1 for month in spec.season]] = True
    first_day = np.zeros(count, dtype=np.int64)
    last_day = np.full(count, days - 1, dtype=np.int64)
    launch_age = rng.integers(7, 36, count)
    stop_age = rng.integers(20, 41, count)
    for index, spec in enumerate(specs):
        if spec.is_new:
            first_day[index] = max(0, days - int(launch_age[index]))
        if not spec.is_active:
            last_day[index] = max(0, days - int(stop_age[index]))
    melon_keys = {"FRUIT-MELON"}
    return ProductArrays(
        specs=specs,
        price_cents=price,
        leaf=tuple(spec.category for spec in specs),
        top=tuple(top_level(spec.category) for spec in specs),
        popularity=popularity,
        is_fruit=np.array([top_level(spec.category) == "FRUIT" for spec in specs]),
        is_melon=np.array([spec.category in melon_keys or "西瓜" in spec.name for spec in specs]),
        in_season=in_season,
        first_day=first_day,
        last_day=last_day,
        key_index={spec.key: index for index, spec in enumerate(specs) if spec.key},
    )


def segment_weights(products: ProductArrays, region_codes: tuple[str, ...]) -> np.ndarray:
    """Base sampling weights, shape (regions × 16 segments, products); rows sum to 1.

    A segment's weight of product p = (share of p's leaf category for that segment) × (p's
    popularity / total popularity of the leaf's products the segment buys), times the scene and
    region multipliers.
    """
    generic_share = {spec.code: spec.share for spec in CATEGORIES if spec.parent}
    weights = np.zeros((len(region_codes) * SEGMENT_COUNT, len(products)))
    for segment in range(SEGMENT_COUNT):
        shares = dict(generic_share)
        for bit, extra in SCENE_EXTRA_SHARE.items():
            if segment & bit:
                for code, share in extra.items():
                    shares[code] = shares.get(code, 0.0) + share
        eligible = np.ones(len(products), dtype=bool)
        for index, spec in enumerate(products.specs):
            if spec.audience == "cat" and not segment & SEGMENT_CAT:
                eligible[index] = False
            if spec.audience == "dog" and not segment & SEGMENT_DOG:
                eligible[index] = False
        row = np.zeros(len(products))
        for code, share in shares.items():
            members = products.in_category(code) & eligible
            total = products.popularity[members].sum()
            if share > 0 and total > 0:
                row[members] = share * products.popularity[members] / total
        for bit, multipliers in SCENE_MULTIPLIER.items():
            if segment & bit:
                for code, factor in multipliers.items():
                    hit = np.array(
                        [
                            leaf == code or top == code
                            for leaf, top in zip(products.leaf, products.top, strict=True)
                        ]
                    )
                    row[hit] *= factor
        for region_index, region_code in enumerate(region_codes):
            region_row = row.copy()
            region_row[np.array([top == "COFFEE" for top in products.top])] *= (
                REGION_COFFEE_BOOST.get(region_code, 1.0)
            )
            weights[region_index * SEGMENT_COUNT + segment] = region_row / region_row.sum()
    return weights


def anonymous_segment_share() -> np.ndarray:
    """Segments of anonymous shoppers: the scenes at their population prevalence."""
    share = np.zeros(SEGMENT_COUNT)
    pets = {0: 1 - sum(PET_PREVALENCE.values()), SEGMENT_CAT: PET_PREVALENCE["cat_only"]}
    pets[SEGMENT_CAT | SEGMENT_DOG] = PET_PREVALENCE["both"]
    pets[SEGMENT_DOG] = PET_PREVALENCE["dog_only"]
    for kids in (0, SEGMENT_KIDS):
        for fitness in (0, SEGMENT_FITNESS):
            for pet_bits, pet_share in pets.items():
                p_kids = (
                    SCENE_PREVALENCE[SEGMENT_KIDS] if kids else 1 - SCENE_PREVALENCE[SEGMENT_KIDS]
                )
                p_fit = (
                    SCENE_PREVALENCE[SEGMENT_FITNESS]
                    if fitness
                    else 1 - SCENE_PREVALENCE[SEGMENT_FITNESS]
                )
                share[kids | fitness | pet_bits] += p_kids * p_fit * pet_share
    return share / share.sum()


@dataclass(frozen=True)
class DayPlan:
    """What the network planned for one day: price cuts (product indices and their discount
    rates, network-wide) and the group-buy product (−1: none)."""

    day: dt.date
    promoted: np.ndarray
    rates: np.ndarray
    group_buy: int


@dataclass
class DayOrders:
    """One day of orders and lines as parallel arrays (indices into the store/product/member
    tables, ids already allocated, money in cents, times as Unix seconds), and the day's plan."""

    day: dt.date
    order_id: np.ndarray
    store: np.ndarray
    member: np.ndarray  # -1 = anonymous
    channel: np.ndarray
    fulfilment: np.ndarray
    status: np.ndarray
    placed_at: np.ndarray
    total_cents: np.ndarray
    discount_cents: np.ndarray
    line_id: np.ndarray
    line_order_id: np.ndarray
    line_product: np.ndarray
    line_quantity: np.ndarray
    line_price_cents: np.ndarray
    line_discount_cents: np.ndarray
    line_total_cents: np.ndarray
    plan: DayPlan

    def __len__(self) -> int:
        return len(self.order_id)


@dataclass
class RuleTally:
    """Baskets holding the antecedent and baskets given the consequent, per status group."""

    antecedent: list[int] = field(default_factory=lambda: [0, 0])
    both: list[int] = field(default_factory=lambda: [0, 0])


@dataclass(frozen=True)
class StoreArrays:
    region: np.ndarray  # region index per store
    size: np.ndarray  # store size factor (mean 1)


class HistoryGenerator:
    """Generates the order history day by day; deterministic for a given seed sequence."""

    def __init__(
        self,
        *,
        products: ProductArrays,
        stores: StoreArrays,
        region_codes: tuple[str, ...],
        members: MemberDraft,
        days: list[dt.date],
        day_kinds: list[DayKind],
        weather: list[WeatherDay],
        seed_sequence: np.random.SeedSequence,
        first_order_id: int,
        first_line_id: int,
        recent_days: int = 14,
        orders_per_store_day: float = BASE_ORDERS_PER_STORE_DAY,
        other_baskets: Sequence[tuple[int, int, bool]] = (),
    ) -> None:
        """`other_baskets`: one-product orders written by another part of the demo (the live
        history's group-buy joins), as (day index, product index, counted); the planted rules
        count them among the baskets holding an antecedent, so a rule's confidence holds over
        every order, theirs included."""
        self.products = products
        self.stores = stores
        self.members = members
        self.days = days
        self.day_kinds = day_kinds
        self.weather = weather
        self.next_order_id = first_order_id
        self.next_line_id = first_line_id
        self.recent_days = recent_days
        self.orders_per_store_day = orders_per_store_day
        setup_sequence, days_sequence, self._ahead_sequence = seed_sequence.spawn(3)
        self._day_sequences = days_sequence.spawn(len(days))
        setup = np.random.default_rng(setup_sequence)
        with np.errstate(divide="ignore"):
            self.base_log_weights = np.log(segment_weights(products, region_codes))
        self._base_log_weights32 = self.base_log_weights.astype(np.float32)
        self.anonymous_segments = anonymous_segment_share()
        self.store_count = len(stores.region)
        self.product_count = len(products)
        self.units_recent = np.zeros((self.store_count, len(products)), dtype=np.int64)
        # Counted units sold per calendar month (keyed by the month's first day), stores ×
        # products: the demo posts them to the stock ledger (seed.py, `_sales_ledger`).
        self.units_by_month: dict[dt.date, np.ndarray] = {}
        self.tallies = [RuleTally() for _rule in PLANTED_RULES]
        self._other_baskets: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        by_day: dict[int, list[tuple[int, bool]]] = defaultdict(list)
        for day_index, product_index, counted in other_baskets:
            by_day[day_index].append((product_index, counted))
        for day_index, baskets in by_day.items():
            self._other_baskets[day_index] = (
                np.array([product for product, _counted in baskets], dtype=np.int64),
                np.array([counted for _product, counted in baskets], dtype=bool),
            )
        self._favourites = self._favourites_draw(setup)
        self._pool_setup()
        self._region_setup()
        self._rule_setup()

    # ---- set-up -------------------------------------------------------------------------
    def _favourites_draw(self, rng: np.random.Generator) -> np.ndarray:
        rows = self.stores.region[self.members.home_store] * SEGMENT_COUNT + self.members.segment
        scores = self.base_log_weights[rows] + rng.gumbel(size=(len(rows), len(self.products)))
        return np.argpartition(-scores, FAVOURITES_PER_MEMBER, axis=1)[:, :FAVOURITES_PER_MEMBER]

    def _pool_setup(self) -> None:
        """Cumulative activity of the members of each home store, for sampling by searchsorted."""
        order = np.argsort(self.members.home_store, kind="stable")
        home_sorted = self.members.home_store[order]
        cumulative = np.cumsum(self.members.activity[order])
        stores = np.arange(self.store_count)
        start = np.searchsorted(home_sorted, stores, side="left")
        end = np.searchsorted(home_sorted, stores, side="right")
        before = np.where(start > 0, cumulative[np.maximum(start - 1, 0)], 0.0)
        after = np.where(end > 0, cumulative[np.maximum(end - 1, 0)], 0.0)
        self._pool_order = order
        self._pool_cumulative = cumulative
        self._pool_start, self._pool_end = start, end
        self._pool_base, self._pool_total = before, after - before

    def _region_setup(self) -> None:
        region = self.stores.region
        self._region_stores = [np.flatnonzero(region == r) for r in range(region.max() + 1)]
        self._store_region_position = np.zeros(self.store_count, dtype=np.int64)
        for stores in self._region_stores:
            self._store_region_position[stores] = np.arange(len(stores))

    def _rule_setup(self) -> None:
        products = self.products
        self._antecedent = []
        self._consequent = []
        self._primary = []
        for rule in PLANTED_RULES:
            self._antecedent.append(self._rule_set(rule.antecedent_category, rule.antecedent_key))
            self._consequent.append(products.in_category(rule.consequent_category))
            self._primary.append(products.key_index[rule.primary_key])

    def _rule_set(self, category: str, key: str) -> np.ndarray:
        if key:
            mask = np.zeros(len(self.products), dtype=bool)
            mask[self.products.key_index[key]] = True
            return mask
        return self.products.in_category(category)

    # ---- per day ------------------------------------------------------------------------
    def _day_multiplier(
        self, index: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-product weight multiplier of the day and the promotion rate of each product."""
        products = self.products
        day, kind, weather = self.days[index], self.day_kinds[index], self.weather[index]
        available = (products.first_day <= index) & (products.last_day >= index)
        multiplier = available.astype(float)
        multiplier *= np.where(products.in_season[:, day.month - 1], 1.0, OFF_SEASON_FACTOR)
        multiplier[products.is_fruit] *= heat_multiplier(weather.temp_max_c, FRUIT_HEAT_COEFFICIENT)
        melon_heat = heat_multiplier(weather.temp_max_c, MELON_HEAT_COEFFICIENT)
        fruit_heat = heat_multiplier(weather.temp_max_c, FRUIT_HEAT_COEFFICIENT)
        multiplier[products.is_melon] *= melon_heat / fruit_heat
        if kind.is_festive:
            for top, uplift in HOLIDAY_CATEGORY_UPLIFT.items():
                multiplier[np.array([t == top for t in products.top])] *= uplift
        is_new = np.array([spec.is_new for spec in products.specs])
        multiplier[is_new] *= NEW_PRODUCT_BOOST
        promotion = np.zeros(len(products))
        candidates = np.flatnonzero(available)
        promoted = rng.choice(
            candidates, max(1, round(PROMOTION_SHARE * len(candidates))), replace=False
        )
        promotion[promoted] = rng.choice(PROMOTION_RATES, len(promoted))
        multiplier[promoted] *= PROMOTION_BOOST
        return multiplier, promotion

    def plan_ahead(self, days: list[dt.date]) -> list[DayPlan]:
        """Price cuts planned for days after the history (the forecast's horizon), drawn as the
        history's are from the products still selling on its last day. No group buy: an owner
        picks that fruit on the day. A separate stream: the history is the same with or without."""
        rng = np.random.default_rng(self._ahead_sequence)
        last = len(self.days) - 1
        selling = np.flatnonzero(
            (self.products.first_day <= last) & (self.products.last_day >= last)
        )
        plans = []
        for day in days:
            promotion = np.zeros(len(self.products))
            promoted = rng.choice(
                selling, max(1, round(PROMOTION_SHARE * len(selling))), replace=False
            )
            promotion[promoted] = rng.choice(PROMOTION_RATES, len(promoted))
            chosen = np.flatnonzero(promotion)
            plans.append(DayPlan(day=day, promoted=chosen, rates=promotion[chosen], group_buy=-1))
        return plans

    def _featured_product(self, multiplier: np.ndarray, rng: np.random.Generator) -> int:
        """The day's group-buy product: an available fruit, by popularity × the day's factors."""
        weights = np.where(self.products.is_fruit, self.products.popularity * multiplier, 0.0)
        return int(rng.choice(len(weights), p=weights / weights.sum()))

    def _members_pick(self, store: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A member of `store`'s pool for each entry (activity-weighted), -1 if it has none."""
        total = self._pool_total[store]
        target = self._pool_base[store] + rng.random(len(store)) * total
        position = np.searchsorted(self._pool_cumulative, target, side="right")
        position = np.clip(
            position, self._pool_start[store], np.maximum(self._pool_end[store] - 1, 0)
        )
        picked = self._pool_order[np.minimum(position, len(self._pool_order) - 1)]
        return np.where(total > 0, picked, -1)

    def _visited_store(self, store: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Another store of the same district (the same store when it is alone there)."""
        result = store.copy()
        for position, home in enumerate(store.tolist()):
            region_stores = self._region_stores[self.stores.region[home]]
            if len(region_stores) > 1:
                offset = 1 + int(rng.integers(0, len(region_stores) - 1))
                own = self._store_region_position[home]
                result[position] = region_stores[(own + offset) % len(region_stores)]
        return result

    def day(self, index: int) -> DayOrders:
        rng = np.random.default_rng(self._day_sequences[index])
        day, kind, weather = self.days[index], self.day_kinds[index], self.weather[index]
        products = self.products
        multiplier, promotion = self._day_multiplier(index, rng)
        featured = self._featured_product(multiplier, rng)

        # How many baskets each store sells today.
        expected = self.orders_per_store_day * self.stores.size * kind.factor
        expected = expected * rain_factor(weather.precipitation_mm)
        counts = rng.poisson(expected)
        store = np.repeat(np.arange(self.store_count), counts)
        count = len(store)

        # Who buys: a member of the home store (mostly) or of a neighbouring store, or nobody
        # known. Members who join later in the window shop anonymously before they join.
        is_member = rng.random(count) < MEMBER_SHARE
        is_visitor = is_member & (rng.random(count) < VISITOR_SHARE)
        pool_store = store.copy()
        if is_visitor.any():
            pool_store[is_visitor] = self._visited_store(store[is_visitor], rng)
        picked = np.full(count, -1, dtype=np.int64)
        picked[is_member] = self._members_pick(pool_store[is_member], rng)
        has_pick = picked >= 0
        # Segment = the shopper's scenes; unknown shoppers get scenes at population prevalence.
        segment = rng.choice(SEGMENT_COUNT, count, p=self.anonymous_segments)
        segment[has_pick] = self.members.segment[picked[has_pick]]
        member = picked.copy()
        joined_later = np.zeros(count, dtype=bool)
        joined_later[has_pick] = self.members.join_day[picked[has_pick]] > index
        member[joined_later] = -1
        known = member >= 0

        channel = np.zeros(count, dtype=np.int64)
        channel[known] = rng.choice(3, int(known.sum()), p=MEMBER_CHANNEL_SHARE)
        fulfilment = np.select(
            [channel == 0, channel == 1],
            [0, 1],
            default=np.where(rng.random(count) < MINI_PROGRAM_DELIVERY_SHARE, 2, 1),
        )
        status_draw = rng.random(count)
        status = np.where(
            channel == 0,
            np.where(status_draw < POS_REFUNDED, 2, 0),
            np.where(
                status_draw < ONLINE_CANCELLED,
                1,
                np.where(status_draw < ONLINE_CANCELLED + ONLINE_REFUNDED, 2, 0),
            ),
        )

        # What is in the basket: k distinct products by Gumbel-top-k over the log weights
        # (sampling without replacement in proportion to the weights). Single precision: the
        # basket × product score matrix is the generator's largest array.
        extra_mean = np.where(segment & SEGMENT_KIDS, BASKET_EXTRA_MEAN_KIDS, BASKET_EXTRA_MEAN)
        size = np.minimum(1 + rng.poisson(extra_mean), MAX_LINES)
        with np.errstate(divide="ignore"):
            day_log = np.log(multiplier).astype(np.float32)
            gumbel = -np.log(-np.log(rng.random((count, len(products)), dtype=np.float32)))
        rows = self.stores.region[store] * SEGMENT_COUNT + segment
        scores = self._base_log_weights32[rows] + day_log + gumbel
        known_rows = np.flatnonzero(known)
        favourites = self._favourites[member[known]]
        scores[known_rows[:, None], favourites] += math.log(FAVOURITE_BOOST)
        group_buy = channel == 1
        scores[group_buy, featured] = np.inf
        top = np.argpartition(-scores, MAX_LINES, axis=1)[:, :MAX_LINES]
        top_scores = np.take_along_axis(scores, top, axis=1)
        top = np.take_along_axis(top, np.argsort(-top_scores, axis=1, kind="stable"), axis=1)
        top_scores = np.take_along_axis(scores, top, axis=1)
        keep = (np.arange(MAX_LINES)[None, :] < size[:, None]) & (top_scores > _LOG_ZERO)
        line_basket = np.nonzero(keep)[0]
        line_product = top[keep]

        line_basket, line_product = self._rules_apply(
            line_basket, line_product, status, count, index, rng
        )
        order = np.argsort(line_basket, kind="stable")
        line_basket, line_product = line_basket[order], line_product[order]

        # Quantities, prices and discounts (cents).
        lines = len(line_basket)
        is_featured_line = group_buy[line_basket] & (line_product == featured)
        quantity = 1 + rng.choice(3, lines, p=QUANTITY_SHARE)
        quantity[is_featured_line] = 1 + rng.choice(
            3, int(is_featured_line.sum()), p=GROUP_BUY_QUANTITY_SHARE
        )
        price = products.price_cents[line_product]
        amount = price * quantity
        rate = np.where(is_featured_line, GROUP_BUY_DISCOUNT, promotion[line_product])
        discount = np.rint(amount * rate).astype(np.int64)
        line_total = amount - discount
        total = (
            np.bincount(line_basket, weights=line_total, minlength=count).round().astype(np.int64)
        )
        discount_total = (
            np.bincount(line_basket, weights=discount, minlength=count).round().astype(np.int64)
        )

        # When: the member's usual hour, the store's traffic curve for anonymous shoppers, the
        # evening for group buys.
        hours = np.arange(OPEN_HOUR, CLOSE_HOUR + 1)
        hour = rng.choice(hours, count, p=ANONYMOUS_HOUR_SHARE / ANONYMOUS_HOUR_SHARE.sum())
        member_hour = np.rint(
            rng.normal(self.members.peak_hour[member[known]], HOUR_SPREAD)
        ).astype(np.int64)
        hour[known] = np.clip(member_hour, OPEN_HOUR, CLOSE_HOUR)
        hour[group_buy] = rng.integers(
            GROUP_BUY_HOURS[0], GROUP_BUY_HOURS[1] + 1, int(group_buy.sum())
        )
        midnight = int(dt.datetime.combine(day, dt.time(), tzinfo=TZ).timestamp())
        placed = midnight + hour * 3600 + rng.integers(0, 3600, count)

        # Ids in time order.
        by_time = np.argsort(placed, kind="stable")
        rank = np.empty(count, dtype=np.int64)
        rank[by_time] = np.arange(count)
        order_id = self.next_order_id + rank
        line_order_id = order_id[line_basket]
        line_order = np.argsort(line_order_id, kind="stable")
        self.next_order_id += count
        line_id = self.next_line_id + np.arange(lines)
        self.next_line_id += lines

        counted_lines = status[line_basket] == COUNTED_STATUS
        month = self.units_by_month.setdefault(
            day.replace(day=1), np.zeros((self.store_count, self.product_count), dtype=np.int64)
        )
        np.add.at(
            month,
            (store[line_basket][counted_lines], line_product[counted_lines]),
            quantity[counted_lines],
        )
        if index >= len(self.days) - self.recent_days:
            np.add.at(
                self.units_recent,
                (store[line_basket][counted_lines], line_product[counted_lines]),
                quantity[counted_lines],
            )

        return DayOrders(
            day=day,
            order_id=order_id[by_time],
            store=store[by_time],
            member=member[by_time],
            channel=channel[by_time],
            fulfilment=fulfilment[by_time],
            status=status[by_time],
            placed_at=placed[by_time],
            total_cents=total[by_time],
            discount_cents=discount_total[by_time],
            line_id=line_id,
            line_order_id=line_order_id[line_order],
            line_product=line_product[line_order],
            line_quantity=quantity[line_order],
            line_price_cents=price[line_order],
            line_discount_cents=discount[line_order],
            line_total_cents=line_total[line_order],
            plan=DayPlan(
                day=day,
                promoted=np.flatnonzero(promotion),
                rates=promotion[np.flatnonzero(promotion)],
                group_buy=featured,
            ),
        )

    def _rules_apply(
        self,
        line_basket: np.ndarray,
        line_product: np.ndarray,
        status: np.ndarray,
        count: int,
        index: int,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Plant every rule A → B: in baskets holding A, drop what B they drew by chance, then
        give B to exactly round(confidence × n) of the n A-baskets seen so far (cumulative over
        the days, separately for counted and not counted orders), so the confidence holds to
        within one basket over the whole history. The day's other baskets (`other_baskets`,
        one product each, never the consequent) count among the A-baskets without B."""
        counted = status == COUNTED_STATUS
        other_products, other_counted = self._other_baskets.get(
            index, (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool))
        )
        for number, rule in enumerate(PLANTED_RULES):
            antecedent, consequent = self._antecedent[number], self._consequent[number]
            has_antecedent = np.bincount(line_basket[antecedent[line_product]], minlength=count) > 0
            drop = consequent[line_product] & has_antecedent[line_basket]
            line_basket, line_product = line_basket[~drop], line_product[~drop]
            tally = self.tallies[number]
            other_antecedent = antecedent[other_products]
            for group, in_group in enumerate((counted, ~counted)):
                candidates = np.flatnonzero(has_antecedent & in_group)
                in_other_group = other_counted if group == 0 else ~other_counted
                tally.antecedent[group] += len(candidates) + int(
                    (other_antecedent & in_other_group).sum()
                )
                wanted = round(rule.confidence * tally.antecedent[group]) - tally.both[group]
                wanted = min(max(wanted, 0), len(candidates))
                if wanted == 0:
                    continue
                chosen = rng.choice(candidates, wanted, replace=False)
                tally.both[group] += wanted
                added = self._consequent_pick(number, rule, wanted, index, rng)
                line_basket = np.concatenate([line_basket, chosen])
                line_product = np.concatenate([line_product, added])
        return line_basket, line_product

    def _consequent_pick(
        self, number: int, rule: PlantedRule, count: int, index: int, rng: np.random.Generator
    ) -> np.ndarray:
        products = self.products
        primary = self._primary[number]
        others = (
            self._consequent[number] & (products.first_day <= index) & (products.last_day >= index)
        )
        others[primary] = False
        picks = np.full(count, primary, dtype=np.int64)
        if others.any():
            weights = np.where(others, products.popularity, 0.0)
            use_other = rng.random(count) >= rule.primary_share
            picks[use_other] = rng.choice(
                len(weights), int(use_other.sum()), p=weights / weights.sum()
            )
        return picks

    def history(self) -> Iterator[DayOrders]:
        for index in range(len(self.days)):
            yield self.day(index)
