"""The 360° member profile as vectorised frame operations (pure: no ORM, no I/O).

Every member's numbers are computed at once with pandas group-bys; the service in
`apps.customers.services.profiles` reads the inputs set-wise and writes the result set-wise.

Money is handled in integer cents (fen) so sums, averages and shares are exact; ratios are
rounded half-up in integer arithmetic. The formulas are documented in `docs/profiles.md`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

WINDOW_DAYS = 90
REPURCHASE_WINDOW_DAYS = 30
REPURCHASE_WINDOWS = WINDOW_DAYS // REPURCHASE_WINDOW_DAYS  # 3 windows of 30 days
TOP_CATEGORIES = 3
USUAL_HOURS = 2
LOCAL_TZ = "Asia/Shanghai"

# trust_score = 40 × repurchase + 30 × min(tenure_days / 365, 1) + 30 × (NPS / 10, or 0.5)
TRUST_WEIGHT_REPURCHASE = 40
TRUST_WEIGHT_TENURE = 30
TRUST_WEIGHT_NPS = 30
TRUST_FULL_TENURE_DAYS = 365
TRUST_NPS_WHEN_UNKNOWN = 5  # on the 0–10 scale, i.e. 0.5 of the NPS weight
# Level 1 below 30, level 2 from 30, 3 from 50, 4 from 70, 5 from 85 (score 0–100).
TRUST_LEVEL_THRESHOLDS = (30, 50, 70, 85)

LINE_COLUMNS = ["member_id", "order_id", "placed_at", "category_id", "line_cents", "discounted"]


@dataclass(frozen=True)
class ProfileInputs:
    """What the profile computation needs, as frames with the documented columns.

    - `members`: member_id (int), joined_at (datetime64, UTC) — one row per member to profile.
    - `lines`: LINE_COLUMNS — order lines of counted orders of those members; lines outside
      the window are ignored. `line_cents` is the line total in cents (int), `discounted` is
      True when the line carried a discount > 0.
    - `last_orders`: member_id, last_order_at (datetime64, UTC) — each member's latest counted
      order placed before `as_of`, over all time.
    - `nps`: member_id, score (0–10), answered_at (datetime64, UTC), answer_id (int).
    - `category_names`: category_id → name (for top categories and tie-breaking).
    - `lifetime`: member_id, first_order_at, last_order_at (datetime64, UTC), orders (int),
      spend_cents (int) — aggregated over each member's counted orders placed before `as_of`,
      over all time (the caller aggregates); None: no lifetime figures (zeros).
    """

    members: pd.DataFrame
    lines: pd.DataFrame
    last_orders: pd.DataFrame
    nps: pd.DataFrame
    category_names: dict[int, str]
    lifetime: pd.DataFrame | None = None


def round_half_up_div(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Integer division rounded half up, for non-negative integers; 0 where denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.int64)
    denominator = np.asarray(denominator, dtype=np.int64)
    safe = np.where(denominator == 0, 1, denominator)
    result = (2 * numerator + safe) // (2 * safe)
    return np.where(denominator == 0, 0, result)


def local_days(timestamps: pd.Series | pd.DatetimeIndex, tz: str = LOCAL_TZ) -> np.ndarray:
    """Day numbers (days since 1970-01-01) of the local calendar date of each UTC timestamp."""
    local = pd.DatetimeIndex(timestamps).as_unit("ns").tz_convert(tz).tz_localize(None)
    return local.normalize().asi8 // (86_400 * 10**9)


def window_start(as_of: dt.datetime) -> dt.datetime:
    return as_of - dt.timedelta(days=WINDOW_DAYS)


def trust_scores(
    *, repurchase_windows: np.ndarray, tenure_days: np.ndarray, nps_scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (score in hundredths, level) per member.

    `repurchase_windows` is the number of 30-day windows (0–3) with an order, `tenure_days`
    whole days since joining, `nps_scores` the latest NPS score or -1 when unknown. The score is
    computed exactly over the common denominator 3 × 365 and rounded half up to 2 decimals.
    """
    denominator = REPURCHASE_WINDOWS * TRUST_FULL_TENURE_DAYS
    nps = np.where(nps_scores < 0, TRUST_NPS_WHEN_UNKNOWN, nps_scores).astype(np.int64)
    tenure = np.clip(tenure_days, 0, TRUST_FULL_TENURE_DAYS).astype(np.int64)
    # score × 100 × denominator, all integers
    numerator = (
        TRUST_WEIGHT_REPURCHASE * 100 * repurchase_windows.astype(np.int64) * TRUST_FULL_TENURE_DAYS
        + TRUST_WEIGHT_TENURE * 100 * tenure * REPURCHASE_WINDOWS
        + TRUST_WEIGHT_NPS * 10 * nps * denominator
    )
    hundredths = round_half_up_div(numerator, np.full_like(numerator, denominator))
    levels = 1 + np.zeros_like(hundredths)
    for threshold in TRUST_LEVEL_THRESHOLDS:
        levels += hundredths >= threshold * 100
    return hundredths, levels


def _ranked_lists(
    frame: pd.DataFrame, *, key: str, value_columns: list[str], limit: int
) -> dict[int, list[tuple]]:
    """Group an already-sorted frame by `key` and keep the first `limit` rows as tuples."""
    head = frame.groupby(key, sort=False).head(limit)
    result: dict[int, list[tuple]] = {}
    keys = head[key].to_numpy()
    columns = [head[column].to_numpy() for column in value_columns]
    for index, member_id in enumerate(keys.tolist()):
        result.setdefault(member_id, []).append(tuple(column[index] for column in columns))
    return result


def profiles_compute(*, inputs: ProfileInputs, as_of: dt.datetime) -> pd.DataFrame:
    """Compute every member's profile; one row per member of `inputs.members`, indexed by id.

    Columns: recency_days (float, NaN when the member never bought), frequency_90d,
    spend_cents, average_basket_cents, price_sensitivity_bp (share in 1/10,000),
    repurchase_windows (0–3), trust_hundredths, trust_level, top_categories (list of dicts),
    usual_hours (list of ints); lifetime: first_purchase_at and last_purchase_at (UTC, NaT
    when the member never bought), lifetime_orders, lifetime_spend_cents.
    """
    as_of_ts = pd.Timestamp(as_of).tz_convert("UTC")
    start_ts = pd.Timestamp(window_start(as_of)).tz_convert("UTC")
    members = inputs.members
    member_ids = pd.Index(members["member_id"].astype(np.int64), name="member_id")
    as_of_day = int(local_days(pd.DatetimeIndex([as_of_ts]))[0])

    lines = inputs.lines
    placed = pd.DatetimeIndex(lines["placed_at"])
    in_window = (placed >= start_ts) & (placed < as_of_ts) & lines["member_id"].isin(member_ids)
    lines = lines.loc[np.asarray(in_window)]

    out = pd.DataFrame(index=member_ids)

    # Orders: frequency, usual hours, repurchase windows.
    orders = lines.drop_duplicates("order_id")[["member_id", "order_id", "placed_at"]]
    order_times = pd.DatetimeIndex(orders["placed_at"]).as_unit("ns")
    out["frequency_90d"] = orders.groupby("member_id").size().reindex(member_ids, fill_value=0)

    # Blocks [start, start + 30 d), [start + 30 d, start + 60 d), [start + 60 d, as_of).
    since_start_ns = order_times.asi8 - start_ts.as_unit("ns").value
    window_no = since_start_ns // (REPURCHASE_WINDOW_DAYS * 86_400 * 10**9)
    windows = pd.DataFrame({"member_id": orders["member_id"].to_numpy(), "window": window_no})
    out["repurchase_windows"] = (
        windows.drop_duplicates().groupby("member_id").size().reindex(member_ids, fill_value=0)
    )

    hours = pd.DataFrame(
        {
            "member_id": orders["member_id"].to_numpy(),
            "hour": order_times.tz_convert(LOCAL_TZ).hour.to_numpy(),
        }
    )
    hour_counts = hours.groupby(["member_id", "hour"]).size().rename("orders").reset_index()
    hour_counts = hour_counts.sort_values(
        ["member_id", "orders", "hour"], ascending=[True, False, True], kind="mergesort"
    )
    usual = _ranked_lists(hour_counts, key="member_id", value_columns=["hour"], limit=USUAL_HOURS)

    # Money: spend, basket, price sensitivity, top categories.
    spend = lines.groupby("member_id")["line_cents"].sum().reindex(member_ids, fill_value=0)
    discounted = (
        lines.loc[lines["discounted"].to_numpy(dtype=bool)]
        .groupby("member_id")["line_cents"]
        .sum()
        .reindex(member_ids, fill_value=0)
    )
    out["spend_cents"] = spend.to_numpy(dtype=np.int64)
    out["average_basket_cents"] = round_half_up_div(
        out["spend_cents"].to_numpy(), out["frequency_90d"].to_numpy()
    )
    out["price_sensitivity_bp"] = round_half_up_div(
        discounted.to_numpy(dtype=np.int64) * 10_000, out["spend_cents"].to_numpy()
    )

    category_spend = lines.groupby(["member_id", "category_id"])["line_cents"].sum().reset_index()
    category_spend = category_spend.loc[category_spend["line_cents"] > 0]
    category_spend["name"] = (
        category_spend["category_id"].map(inputs.category_names).fillna("").astype(str)
    )
    category_spend = category_spend.sort_values(
        ["member_id", "line_cents", "name"], ascending=[True, False, True], kind="mergesort"
    )
    member_spend = spend.reindex(category_spend["member_id"]).to_numpy(dtype=np.int64)
    category_spend["share_bp"] = round_half_up_div(
        category_spend["line_cents"].to_numpy(dtype=np.int64) * 10_000, member_spend
    )
    top = _ranked_lists(
        category_spend, key="member_id", value_columns=["name", "share_bp"], limit=TOP_CATEGORIES
    )

    # Recency over all time (calendar days in local time), tenure, NPS, trust.
    last = inputs.last_orders
    last_days = pd.Series(dtype="float64")
    if len(last):
        last_at = pd.DatetimeIndex(last["last_order_at"])
        keep = np.asarray(last_at < as_of_ts)
        last_days = (
            pd.Series(
                local_days(last_at[keep]).astype("float64"),
                index=last["member_id"].to_numpy(dtype=np.int64)[keep],
            )
            .groupby(level=0)
            .max()
        )
    out["recency_days"] = as_of_day - last_days.reindex(member_ids).to_numpy(dtype="float64")

    joined_days = local_days(pd.DatetimeIndex(members["joined_at"]))
    tenure_days = np.clip(as_of_day - joined_days, 0, None)

    nps = inputs.nps
    nps_by_member = pd.Series(-1, index=member_ids, dtype=np.int64)
    if len(nps):
        answered = nps.loc[pd.DatetimeIndex(nps["answered_at"]) < as_of_ts]
        latest = answered.sort_values(["member_id", "answered_at", "answer_id"], kind="mergesort")
        latest = latest.drop_duplicates("member_id", keep="last").set_index("member_id")["score"]
        latest = latest.reindex(member_ids)
        nps_by_member = latest.fillna(-1).astype(np.int64)
    hundredths, levels = trust_scores(
        repurchase_windows=out["repurchase_windows"].to_numpy(dtype=np.int64),
        tenure_days=np.asarray(tenure_days, dtype=np.int64),
        nps_scores=nps_by_member.to_numpy(dtype=np.int64),
    )
    out["tenure_days"] = tenure_days
    out["nps_score"] = nps_by_member.to_numpy()
    out["trust_hundredths"] = hundredths
    out["trust_level"] = levels

    _lifetime_columns(out, lifetime=inputs.lifetime, as_of_ts=as_of_ts)

    ids = member_ids.tolist()
    out["top_categories"] = [
        [
            {"category": str(name), "share": float(share_bp) / 10_000}
            for name, share_bp in top.get(member_id, [])
        ]
        for member_id in ids
    ]
    out["usual_hours"] = [[int(hour) for (hour,) in usual.get(member_id, [])] for member_id in ids]
    return out


def _lifetime_columns(
    out: pd.DataFrame, *, lifetime: pd.DataFrame | None, as_of_ts: object
) -> None:
    """Add the lifetime columns to `out` (indexed by member id) from the lifetime facts."""
    member_ids = out.index
    empty = pd.Series(pd.DatetimeIndex([pd.NaT] * len(member_ids), tz="UTC"), index=member_ids)
    if lifetime is None or not len(lifetime):
        out["first_purchase_at"] = empty
        out["last_purchase_at"] = empty
        out["lifetime_orders"] = np.zeros(len(member_ids), dtype=np.int64)
        out["lifetime_spend_cents"] = np.zeros(len(member_ids), dtype=np.int64)
        return
    first = pd.DatetimeIndex(lifetime["first_order_at"])
    rows = lifetime.loc[np.asarray(first < as_of_ts)]
    rows = rows.loc[rows["member_id"].isin(member_ids)].set_index("member_id")
    out["first_purchase_at"] = pd.Series(
        pd.DatetimeIndex(rows["first_order_at"]), index=rows.index
    ).reindex(member_ids)
    out["last_purchase_at"] = pd.Series(
        pd.DatetimeIndex(rows["last_order_at"]), index=rows.index
    ).reindex(member_ids)
    out["lifetime_orders"] = (
        rows["orders"].reindex(member_ids, fill_value=0).to_numpy(dtype=np.int64)
    )
    out["lifetime_spend_cents"] = (
        rows["spend_cents"].reindex(member_ids, fill_value=0).to_numpy(dtype=np.int64)
    )
