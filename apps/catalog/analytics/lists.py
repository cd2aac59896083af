"""Daily lists and insight cards, on frames: velocity and trend, the hot list, the new-product
list (similar stores and member tags), rising-demand insights with the member tags they fit,
the best broadcast hour, and chat mentions of products. Pure pandas / numpy: no ORM."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable

import numpy as np
import pandas as pd

HOT_MIN_UNITS_7D = 3
HOT_RISING_TREND = 0.2
INSIGHT_MIN_UNITS_7D = 5
INSIGHT_MIN_TREND = 0.25
INSIGHT_MIN_MENTIONS = 2
INSIGHT_MIN_Z = 2.0  # the rise, in standard deviations of the product's own weekly sales
INSIGHT_HISTORY_WEEKS = 8  # whole weeks before the last 7 days that make "its own variation"
TAG_MIN_BUYERS = 5  # buyers carrying the tag (support, as a count)
TAG_MIN_SUPPORT = 0.2  # share of the product's buyers carrying the tag
TAG_MIN_LIFT = 1.5
TAGS_PER_CARD = 3
NEW_TAG_MIN_BUYERS = 3
NEW_TAG_MIN_LIFT = 1.2
NEW_TAG_MIN_STORE_SHARE = 0.1


def velocity_and_trend(sales: np.ndarray) -> pd.DataFrame:
    """Per series of a daily sales matrix [S, D ≥ 14]: units of the last 7 days, of the 7
    before, velocity (units per day over the last 7) and trend (last 7 on the 7 before − 1;
    a series with nothing before counts its growth against 1 unit)."""
    last7 = sales[:, -7:].sum(axis=1)
    prev7 = sales[:, -14:-7].sum(axis=1)
    return pd.DataFrame(
        {
            "units_last_7d": last7.astype(np.int64),
            "units_prev_7d": prev7.astype(np.int64),
            "velocity": last7 / 7.0,
            "trend": (last7 - prev7) / np.maximum(prev7, 1.0),
        }
    )


def rise_significance(sales: np.ndarray, weeks: int = INSIGHT_HISTORY_WEEKS) -> pd.DataFrame:
    """How unusual the last 7 days are against the series' own weekly history.

    Per series of a daily sales matrix [S, D]: the whole weeks before the last 7 days (up to
    `weeks`, only those starting on or after the series' first sale: zeros before a product
    sold are not its variation) give the usual weekly units μ and their variance s² over n
    weeks; the variance used is at least μ (Poisson: counts vary at least that much) and at
    least 1, widened by 1 + 1/n for the uncertainty of μ:

        z = (units of the last 7 days − μ) / √(max(s², μ, 1) · (1 + 1/n))

    With fewer than 2 such weeks there is no variation to compare with: z = 0. So "5 against
    0 the week before" on a product that sells 0–6 a week is z ≈ 1, not a rise; a steady 21 a
    week jumping to 56 is z ≈ 7. Returns usual_7d and rise_z."""
    count, days = sales.shape
    n_max = min(weeks, max((days - 7) // 7, 0))
    if n_max == 0 or count == 0:
        return pd.DataFrame({"usual_7d": np.zeros(count), "rise_z": np.zeros(count)})
    last7 = sales[:, -7:].sum(axis=1)
    history = sales[:, -7 - 7 * n_max : -7].reshape(count, n_max, 7).sum(axis=2)
    week_start = days - 7 - 7 * n_max + 7 * np.arange(n_max)
    sold = sales > 0
    first_sale = np.where(sold.any(axis=1), sold.argmax(axis=1), days)
    valid = week_start[None, :] >= first_sale[:, None]
    n = valid.sum(axis=1)
    usual = np.where(n > 0, (history * valid).sum(axis=1) / np.maximum(n, 1), 0.0)
    deviation = np.where(valid, history - usual[:, None], 0.0)
    variance = np.where(n >= 2, (deviation**2).sum(axis=1) / np.maximum(n - 1, 1), 0.0)
    scale = np.sqrt(np.maximum(np.maximum(variance, usual), 1.0) * (1 + 1 / np.maximum(n, 1)))
    z = np.where(n >= 2, (last7 - usual) / scale, 0.0)
    return pd.DataFrame({"usual_7d": usual, "rise_z": z})


def hot_list(frame: pd.DataFrame, *, size: int) -> pd.DataFrame:
    """Per store, the `size` products with the highest score = velocity × (1 + trend clipped
    to [−0.5, 1]), among those that sold at least HOT_MIN_UNITS_7D units in 7 days.

    `frame` needs store_id, product_id, velocity, trend, units_last_7d, units_prev_7d.
    Ties break on product id. Adds score, rank and reason_kind (hot_rising / hot_steady).
    """
    eligible = frame[frame["units_last_7d"] >= HOT_MIN_UNITS_7D].copy()
    eligible["score"] = eligible["velocity"] * (1 + eligible["trend"].clip(-0.5, 1.0))
    ranked = _top_per_store(eligible, size)
    rising = (ranked["trend"] >= HOT_RISING_TREND) & (ranked["units_prev_7d"] > 0)
    ranked["reason_kind"] = np.where(rising, "hot_rising", "hot_steady")
    return ranked


def _top_per_store(frame: pd.DataFrame, size: int) -> pd.DataFrame:
    ordered = frame.sort_values(["store_id", "score", "product_id"], ascending=[True, False, True])
    ordered["rank"] = ordered.groupby("store_id").cumcount() + 1
    return ordered[ordered["rank"] <= size].reset_index(drop=True)


def new_product_tag_fits(
    *,
    stores: pd.DataFrame,
    recent_sales: pd.DataFrame,
    buyers: pd.DataFrame,
    member_tags: pd.DataFrame,
    store_members: pd.DataFrame,
    store_tags: pd.DataFrame,
    days: int,
) -> pd.DataFrame:
    """Per store, the new products that sell well among members carrying a tag that many of
    the store's members carry — judged on the *other* stores (the store's own buyers and
    members are left out, as for the region), wherever those stores are.

    stores: store_id (the stores to suggest to).
    recent_sales: store_id, product_id, units over the last `days` days (every store).
    buyers: store_id, member_id, product_id, units — members' purchases of the new products
    over the same days, one row per store × member × product.
    member_tags: member_id, tag_id (at least the buyers').
    store_members: store_id, members; store_tags: store_id, tag_id, tag_name,
    members_with_tag — home-store members, every store.

    For a product and a tag, over the other stores that sold the product: buyer share =
    buyers with the tag / buyers; base share = those stores' members with the tag / their
    members; lift = buyer share / base share; rate = units bought by buyers with the tag per
    member with the tag per day. The tag fits a store when ≥ NEW_TAG_MIN_BUYERS buyers carry
    it, lift ≥ NEW_TAG_MIN_LIFT, and the store's members carry it in a high share: at least
    NEW_TAG_MIN_STORE_SHARE and at least the network's share (all stores' home members). The
    store's expected velocity is then rate × its members with the tag.

    Returns per store and product the fitting tag with the highest expected velocity (ties:
    the lower tag id): store_id, product_id, tag_id, tag_name, tag_store_share,
    tag_buyer_share, tag_lift, tag_velocity.
    """
    columns = [
        "store_id",
        "product_id",
        "tag_id",
        "tag_name",
        "tag_store_share",
        "tag_buyer_share",
        "tag_lift",
        "tag_velocity",
    ]
    buyers = buyers[buyers["units"] > 0]
    if stores.empty or buyers.empty or member_tags.empty or store_tags.empty:
        return pd.DataFrame(columns=columns)
    member_count = store_members.set_index("store_id")["members"]
    shares = (
        stores[["store_id"]]
        .merge(store_tags, on="store_id")
        .join(member_count, on="store_id")
        .dropna(subset=["members"])
    )
    shares["tag_store_share"] = shares["members_with_tag"] / shares["members"]
    network_share = store_tags.groupby("tag_id")["members_with_tag"].sum() / max(
        int(store_members["members"].sum()), 1
    )
    shares = shares[
        (shares["tag_store_share"] >= NEW_TAG_MIN_STORE_SHARE)
        & (shares["tag_store_share"] >= shares["tag_id"].map(network_share))
    ]
    if shares.empty:
        return pd.DataFrame(columns=columns)

    # Network totals per product (× tag), and each store's own part of them to take out.
    sold = recent_sales.loc[
        (recent_sales["units"] > 0) & recent_sales["product_id"].isin(buyers["product_id"]),
        ["store_id", "product_id"],
    ].drop_duplicates()
    sold_members = sold.join(member_count, on="store_id").fillna({"members": 0})
    sold_tags = sold.merge(store_tags[["store_id", "tag_id", "members_with_tag"]], on="store_id")
    tagged = buyers.merge(member_tags, on="member_id")
    totals = {
        "buyers": buyers.groupby("product_id").size(),
        "tag_buyers": tagged.groupby(["product_id", "tag_id"]).size(),
        "tag_units": tagged.groupby(["product_id", "tag_id"])["units"].sum(),
        "base_members": sold_members.groupby("product_id")["members"].sum(),
        "base_tag_members": sold_tags.groupby(["product_id", "tag_id"])["members_with_tag"].sum(),
    }
    own = {
        "buyers": buyers.groupby(["store_id", "product_id"]).size(),
        "tag_buyers": tagged.groupby(["store_id", "product_id", "tag_id"]).size(),
        "tag_units": tagged.groupby(["store_id", "product_id", "tag_id"])["units"].sum(),
        "base_members": sold_members.set_index(["store_id", "product_id"])["members"],
        "base_tag_members": sold_tags.set_index(["store_id", "product_id", "tag_id"])[
            "members_with_tag"
        ],
    }
    # Candidates: each store × high-share tag × product that some buyer with the tag bought.
    pairs = shares.merge(totals["tag_buyers"].rename("all_tag_buyers").reset_index(), on="tag_id")
    others = {}
    for name, total in totals.items():
        keys = list(total.index.names)
        own_keys = ["store_id", *keys]
        whole = pairs.join(total.rename("whole"), on=keys)["whole"].fillna(0)
        mine = pairs.join(own[name].rename("mine"), on=own_keys)["mine"].fillna(0)
        others[name] = (whole - mine).astype(np.float64)
    base_share = others["base_tag_members"] / others["base_members"].where(
        others["base_members"] > 0
    )
    buyer_share = others["tag_buyers"] / others["buyers"].where(others["buyers"] > 0)
    pairs["tag_buyer_share"] = buyer_share
    pairs["tag_lift"] = buyer_share / base_share.where(base_share > 0)
    rate = others["tag_units"] / others["base_tag_members"].where(others["base_tag_members"] > 0)
    pairs["tag_velocity"] = rate / days * pairs["members_with_tag"]
    fits = pairs[
        (others["tag_buyers"] >= NEW_TAG_MIN_BUYERS)
        & (pairs["tag_lift"] >= NEW_TAG_MIN_LIFT)
        & (pairs["tag_velocity"] > 0)
    ]
    fits = fits.sort_values(
        ["store_id", "product_id", "tag_velocity", "tag_id"], ascending=[True, True, False, True]
    ).drop_duplicates(["store_id", "product_id"])
    return fits[columns].reset_index(drop=True)


def new_product_list(
    *,
    stores: pd.DataFrame,
    new_products: pd.DataFrame,
    recent_sales: pd.DataFrame,
    store_region: dict[int, int],
    days: int,
    store_tag_share: pd.DataFrame,
    category_tags: pd.DataFrame,
    size: int,
    tag_fits: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per store, new products ranked by how they sell in similar stores: the *other* stores
    of its region, or stores whose buyers of the product carry a tag the store's members
    carry (`tag_fits`, from `new_product_tag_fits`); a tag rule alone is the weakest evidence.

    stores: store_id, region_id. new_products: product_id, category_id.
    recent_sales: store_id, product_id, units over the last `days` days (every store).
    store_tag_share: store_id, tag_id, tag_name, share (of the store's members with the tag).
    category_tags: category_id, tag_id (a purchase rule: buying the category suggests the tag).

    velocity_per_store = units per selling store per day in the region's other stores;
    region score = velocity_per_store × (1 + best rule-tag share); tag score = tag_velocity
    (the expected units per day from the tag's buyers elsewhere). score = the larger of the
    two, or 0.1 × the rule-tag share when both are 0 (sales evidence outranks a rule alone).
    reason_kind says which won (new_region on a tie, new_tag_buyers, new_tags);
    expected_velocity is the winning velocity (0 for a rule alone).
    """
    columns = [
        "store_id",
        "product_id",
        "score",
        "rank",
        "reason_kind",
        "region_stores",
        "velocity_per_store",
        "tag_names",
        "tag_share",
        "tag_name",
        "tag_store_share",
        "tag_buyer_share",
        "tag_velocity",
        "expected_velocity",
    ]
    if stores.empty or new_products.empty:
        return pd.DataFrame(columns=columns)
    sales = recent_sales[recent_sales["units"] > 0].assign(
        region_id=lambda frame: frame["store_id"].map(store_region)
    )
    region = sales.groupby(["region_id", "product_id"]).agg(
        region_units=("units", "sum"), region_sellers=("store_id", "nunique")
    )
    own = sales.set_index(["store_id", "product_id"])["units"].rename("own_units")
    pairs = stores.merge(new_products, how="cross")
    pairs = pairs.join(region, on=["region_id", "product_id"]).join(
        own, on=["store_id", "product_id"]
    )
    pairs[["region_units", "region_sellers", "own_units"]] = pairs[
        ["region_units", "region_sellers", "own_units"]
    ].fillna(0)
    other_stores = pairs["region_sellers"] - (pairs["own_units"] > 0)
    other_units = pairs["region_units"] - pairs["own_units"]
    pairs["region_stores"] = other_stores.astype(np.int64)
    pairs["velocity_per_store"] = np.where(
        other_stores > 0, other_units / np.maximum(other_stores, 1) / days, 0.0
    )
    fits = category_tags.merge(store_tag_share, on="tag_id")
    if fits.empty:
        best = pd.DataFrame(columns=["store_id", "category_id", "tag_share", "tag_names"])
    else:
        fits = fits.sort_values(
            ["store_id", "category_id", "share", "tag_id"], ascending=[True, True, False, True]
        )
        best = (
            fits.groupby(["store_id", "category_id"])
            .agg(
                tag_share=("share", "first"), tag_names=("tag_name", lambda names: list(names)[:2])
            )
            .reset_index()
        )
    pairs = pairs.merge(best, on=["store_id", "category_id"], how="left")
    pairs["tag_share"] = pairs["tag_share"].fillna(0.0).astype(np.float64)
    pairs["tag_names"] = pairs["tag_names"].apply(lambda v: v if isinstance(v, list) else [])
    fit_columns = ["tag_name", "tag_store_share", "tag_buyer_share", "tag_velocity"]
    if tag_fits is None or tag_fits.empty:
        tag_fits = pd.DataFrame(columns=["store_id", "product_id", *fit_columns])
    pairs = pairs.merge(
        tag_fits[["store_id", "product_id", *fit_columns]].astype(
            {"store_id": np.int64, "product_id": np.int64}
        ),
        on=["store_id", "product_id"],
        how="left",
    )
    pairs["tag_name"] = pairs["tag_name"].fillna("")
    for name in ("tag_store_share", "tag_buyer_share", "tag_velocity"):
        pairs[name] = pairs[name].astype(np.float64).fillna(0.0)
    region_score = pairs["velocity_per_store"] * (1 + pairs["tag_share"])
    tag_score = pairs["tag_velocity"]
    evidence = np.maximum(region_score, tag_score)
    pairs["score"] = np.where(evidence > 0, evidence, 0.1 * pairs["tag_share"])
    region_wins = (region_score > 0) & (region_score >= tag_score)
    tag_wins = ~region_wins & (tag_score > 0)
    pairs["reason_kind"] = np.select(
        [region_wins, tag_wins], ["new_region", "new_tag_buyers"], "new_tags"
    )
    pairs["expected_velocity"] = np.select(
        [region_wins, tag_wins], [pairs["velocity_per_store"], pairs["tag_velocity"]], 0.0
    )
    pairs = pairs[pairs["score"] > 0]
    return _top_per_store(pairs, size)


def mention_keys(names: dict[int, str]) -> dict[str, int]:
    """Chat keywords per product: its name up to the first space, digit or bracket
    ("低糖蓝莓 125g" → "低糖蓝莓") and, for Chinese names of 3+ characters, the last two
    characters (the head noun people say: "蓝莓"). Keys shorter than 2 characters or shared by
    two products are dropped (they would match too much)."""
    keys: dict[str, set[int]] = {}
    for product_id, name in names.items():
        key = re.split(r"[\s\d()（）\[\]【】/,，·×*+-]", name.strip(), maxsplit=1)[0]
        candidates = {key}
        if len(key) >= 3 and all("\u4e00" <= char <= "\u9fff" for char in key):
            candidates.add(key[-2:])
        for candidate in candidates:
            if len(candidate) >= 2:
                keys.setdefault(candidate, set()).add(product_id)
    return {key: next(iter(ids)) for key, ids in keys.items() if len(ids) == 1}


def count_mentions(messages: Iterable[tuple[int, str, bool]], keys: dict[str, int]) -> pd.DataFrame:
    """(store_id, product_id, this_week, last_week) mention counts from (store_id, text,
    is_this_week) messages; a product counts once per message."""
    if not keys:
        return pd.DataFrame(columns=["store_id", "product_id", "mentions_7d", "mentions_prev_7d"])
    pattern = re.compile("|".join(re.escape(key) for key in sorted(keys, key=len, reverse=True)))
    counts: Counter[tuple[int, int, bool]] = Counter()
    for store_id, text, this_week in messages:
        for product_id in {keys[match] for match in pattern.findall(text or "")}:
            counts[(store_id, product_id, this_week)] += 1
    rows: dict[tuple[int, int], list[int]] = {}
    for (store_id, product_id, this_week), count in counts.items():
        rows.setdefault((store_id, product_id), [0, 0])[0 if this_week else 1] += count
    return pd.DataFrame(
        [(s, p, now, before) for (s, p), (now, before) in sorted(rows.items())],
        columns=["store_id", "product_id", "mentions_7d", "mentions_prev_7d"],
    )


def insight_candidates(frame: pd.DataFrame, *, size: int) -> pd.DataFrame:
    """Per store, up to `size` products with rising demand: sales up by INSIGHT_MIN_TREND on
    at least INSIGHT_MIN_UNITS_7D units *and* significantly against the product's own weekly
    variation (`rise_significance`: rise_z ≥ INSIGHT_MIN_Z), or mentioned at least
    INSIGHT_MIN_MENTIONS times this week and more than the week before.

    score = max(trend, 0) × √units + 0.5 × mentions (chat buzz can lift a slow seller).
    `frame` needs store_id, product_id, trend, units_last_7d, rise_z, mentions_7d,
    mentions_prev_7d.
    """
    rising_sales = (
        (frame["units_last_7d"] >= INSIGHT_MIN_UNITS_7D)
        & (frame["trend"] >= INSIGHT_MIN_TREND)
        & (frame["rise_z"] >= INSIGHT_MIN_Z)
    )
    rising_talk = (frame["mentions_7d"] >= INSIGHT_MIN_MENTIONS) & (
        frame["mentions_7d"] > frame["mentions_prev_7d"]
    )
    eligible = frame[rising_sales | rising_talk].copy()
    eligible["score"] = (
        eligible["trend"].clip(lower=0) * np.sqrt(eligible["units_last_7d"])
        + 0.5 * eligible["mentions_7d"]
    )
    ranked = _top_per_store(eligible, size)
    talk_led = (ranked["mentions_7d"] >= INSIGHT_MIN_MENTIONS) & ~(
        (ranked["units_last_7d"] >= INSIGHT_MIN_UNITS_7D)
        & (ranked["trend"] >= INSIGHT_MIN_TREND)
        & (ranked["rise_z"] >= INSIGHT_MIN_Z)
    )
    ranked["reason_kind"] = np.where(talk_led, "rising_mentions", "rising_sales")
    return ranked


def tag_lifts(
    *,
    buyers: pd.DataFrame,
    member_tags: pd.DataFrame,
    store_members: pd.DataFrame,
) -> pd.DataFrame:
    """Which member tags a product's buyers over-represent, per store.

    buyers: store_id, product_id, member_id (distinct). member_tags: member_id, tag_id.
    store_members: store_id, member_id (the store's members: the base rate).
    Returns store_id, product_id, tag_id, buyers_with_tag, buyers, lift where lift = share of
    the product's buyers with the tag / share of the store's members with it.
    """
    columns = ["store_id", "product_id", "tag_id", "buyers_with_tag", "buyers", "lift"]
    if buyers.empty or member_tags.empty or store_members.empty:
        return pd.DataFrame(columns=columns)
    buyer_count = buyers.groupby(["store_id", "product_id"]).size().rename("buyers")
    tagged = buyers.merge(member_tags, on="member_id")
    with_tag = tagged.groupby(["store_id", "product_id", "tag_id"]).size().rename("buyers_with_tag")
    base_members = store_members.groupby("store_id").size().rename("members")
    base_tagged = (
        store_members.merge(member_tags, on="member_id").groupby(["store_id", "tag_id"]).size()
    )
    frame = with_tag.reset_index().join(buyer_count, on=["store_id", "product_id"])
    frame = frame.join(base_tagged.rename("members_with_tag"), on=["store_id", "tag_id"])
    frame = frame.join(base_members, on="store_id")
    frame = frame.dropna(subset=["members_with_tag", "members"])
    frame["lift"] = (frame["buyers_with_tag"] / frame["buyers"]) / (
        frame["members_with_tag"] / frame["members"]
    )
    return frame[columns].reset_index(drop=True)


def best_tags(lifts: pd.DataFrame, tag_names: dict[int, str]) -> dict[tuple[int, int], list[dict]]:
    """Up to TAGS_PER_CARD tags per (store, product) with support (at least TAG_MIN_BUYERS
    buyers carrying the tag, and at least TAG_MIN_SUPPORT of its buyers) and lift ≥
    TAG_MIN_LIFT, strongest first: {(store, product): [{"id", "name", "lift", "buyers",
    "of"}]} — "buyers" of its "of" buyers carry the tag."""
    if lifts.empty:
        return {}
    strong = lifts[
        (lifts["buyers_with_tag"] >= TAG_MIN_BUYERS)
        & (lifts["buyers_with_tag"] >= TAG_MIN_SUPPORT * lifts["buyers"])
        & (lifts["lift"] >= TAG_MIN_LIFT)
    ]
    strong = strong.sort_values(
        ["store_id", "product_id", "lift", "tag_id"], ascending=[True, True, False, True]
    )
    result: dict[tuple[int, int], list[dict]] = {}
    for row in strong.itertuples(index=False):
        tags = result.setdefault((int(row.store_id), int(row.product_id)), [])
        if len(tags) < TAGS_PER_CARD:
            tags.append(
                {
                    "id": int(row.tag_id),
                    "name": tag_names.get(int(row.tag_id), ""),
                    "lift": round(float(row.lift), 2),
                    "buyers": int(row.buyers_with_tag),
                    "of": int(row.buyers),
                }
            )
    return result


def best_hour(hours: Iterable[int]) -> int | None:
    """The most common hour (the earliest on a tie), or None when there is none."""
    counts = Counter(int(hour) for hour in hours if 0 <= int(hour) <= 23)
    if not counts:
        return None
    top = max(counts.values())
    return min(hour for hour, count in counts.items() if count == top)


def stock_quantity(demand_cover: float, safety_stock: float) -> int:
    """Units to have on the shelf for the cover period: forecast plus safety, rounded up."""
    return max(0, math.ceil(demand_cover + safety_stock - 1e-9))


def hour_is_quiet(hour: int, quiet_start: dt.time, quiet_end: dt.time) -> bool:
    """Whether `hour`:00 falls in the quiet hours [quiet_start, quiet_end) (they may wrap
    midnight; equal bounds mean none) — the notification dispatcher's rule."""
    clock = dt.time(hour)
    if quiet_start == quiet_end:
        return False
    if quiet_start < quiet_end:
        return quiet_start <= clock < quiet_end
    return clock >= quiet_start or clock < quiet_end


def hour_outside_quiet(hour: int, quiet_start: dt.time, quiet_end: dt.time) -> int:
    """`hour` when members may be notified at `hour`:00, else the nearest hour when they may
    (on the clock, either way round; on a tie the one before the quiet hours start): with
    21:30-08:00, 23 → 21 and 6 → 8. `hour` unchanged when every hour is quiet."""
    if not hour_is_quiet(hour, quiet_start, quiet_end):
        return hour
    for distance in range(1, 13):
        for candidate in ((hour - distance) % 24, (hour + distance) % 24):
            if not hour_is_quiet(candidate, quiet_start, quiet_end):
                return candidate
    return hour
