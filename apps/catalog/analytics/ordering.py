"""Suggested order quantities (periodic review, order-up-to with safety stock), per store, in
units: what the store needs, with no supplier minimum or pack applied (those belong to the
consolidated purchase-order line, which sums the stores and rounds once).

    cover days  = lead time + review period
    demand      = Σ daily forecast over the cover days (beyond the 14-day forecast, the
                  mean of its last 7 days per extra day; the same for every sum below)
    safety      = z(service level) × σ(daily forecast error) × √(cover days)
    need        = demand + safety − on hand − on order
    quantity    = 0 if need ≤ 0, else ⌈need⌉

A product with a shelf life (perishables) is never ordered beyond what it can sell before it
spoils. The units ordered today arrive after the lead time and keep for the shelf life (0 days
counts as 1: sold the day it arrives); the stock on hand and on order sells first:

    shelf demand = Σ forecast over the shelf life from the delivery day
                   (days lead time … lead time + shelf life − 1)
    safety       = min(safety, shelf demand)
    left over    = max(0, on hand + on order − Σ forecast over the lead time)
    quantity     = min(⌈need⌉, ⌊shelf demand − left over⌋), never below 0

so a perishable that barely sells gets 0 (or a unit or two), never a case.

On order is 0 until purchase orders exist (the caller passes it). Pure functions; the scalar
and the vectorised forms give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

# Guards ceil() and floor() against float noise: 12.000000000001 units is 12, not 13, and
# 2.9999999999999996 units is 3, not 2.
CEIL_TOLERANCE = 1e-9


def service_level_z(service_level: float) -> float:
    """The standard normal quantile for a cycle service level (0.95 → 1.6449)."""
    if not 0.5 <= service_level < 1:
        raise ValueError("service level must be in [0.5, 1)")
    return float(norm.ppf(service_level))


def cover_demand(daily_forecast: Sequence[float] | np.ndarray, cover_days: int) -> float:
    """Forecast demand over the first `cover_days` days."""
    values = np.asarray(daily_forecast, dtype=np.float64)
    # A running sum (not np.sum's pairwise one) so the vectorised form matches bit for bit.
    running = np.concatenate([[0.0], np.cumsum(values)])
    demand = float(running[min(cover_days, values.size)])
    if cover_days > values.size:
        tail = values[-7:] if values.size else np.zeros(1)
        demand += float(tail.mean()) * (cover_days - values.size)
    return demand


@dataclass(frozen=True)
class OrderSuggestion:
    cover_days: int
    demand: float
    safety_stock: float  # after the shelf-life cap
    need: float
    quantity: int  # units, for this store alone
    shelf_demand: float | None = None  # None: the product keeps (no shelf life)


def order_quantity(
    *,
    daily_forecast: Sequence[float] | np.ndarray,
    lead_time_days: int,
    review_period_days: int,
    sigma_daily: float,
    service_level: float,
    on_hand: int,
    on_order: int = 0,
    shelf_life_days: int | None = None,
) -> OrderSuggestion:
    """The suggested quantity for one product in one store (see the module docstring)."""
    if lead_time_days < 0 or review_period_days < 0 or sigma_daily < 0:
        raise ValueError("lead time, review period and sigma cannot be negative")
    if shelf_life_days is not None and shelf_life_days < 0:
        raise ValueError("shelf life cannot be negative")
    cover_days = lead_time_days + review_period_days
    demand = cover_demand(daily_forecast, cover_days)
    safety = service_level_z(service_level) * sigma_daily * math.sqrt(cover_days)
    stock = on_hand + on_order
    shelf_demand = None
    cap = math.inf
    if shelf_life_days is not None:
        lead_demand = cover_demand(daily_forecast, lead_time_days)
        shelf_demand = (
            cover_demand(daily_forecast, lead_time_days + max(shelf_life_days, 1)) - lead_demand
        )
        safety = min(safety, shelf_demand)
        cap = shelf_demand - max(0.0, stock - lead_demand)
    need = demand + safety - on_hand - on_order
    quantity = units_needed(need)
    if quantity and cap < quantity:
        quantity = max(0, math.floor(cap + CEIL_TOLERANCE))
    return OrderSuggestion(
        cover_days=cover_days,
        demand=demand,
        safety_stock=safety,
        need=need,
        quantity=quantity,
        shelf_demand=shelf_demand,
    )


def units_needed(need: float) -> int:
    """0 when nothing is needed; else the need rounded up to whole units."""
    if need <= CEIL_TOLERANCE:
        return 0
    return math.ceil(need - CEIL_TOLERANCE)


def _demand_over(
    cumulative: np.ndarray, tail_mean: np.ndarray, days: np.ndarray, horizon: int
) -> np.ndarray:
    """Row i's forecast demand over its first days[i] days (`cover_demand`, vectorised)."""
    inside = np.minimum(days, horizon)
    demand = cumulative[np.arange(cumulative.shape[0]), inside]
    return demand + tail_mean * np.maximum(days - horizon, 0)


def order_quantities(
    *,
    daily_forecast: np.ndarray,
    lead_time_days: np.ndarray,
    review_period_days: int,
    sigma_daily: np.ndarray,
    service_level: float,
    on_hand: np.ndarray,
    on_order: np.ndarray,
    shelf_life_days: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised `order_quantity` for S series: (demand, safety stock, quantity) arrays.
    `shelf_life_days` is a float array with NaN where the product keeps (None: all keep)."""
    forecast = np.asarray(daily_forecast, dtype=np.float64)
    series, horizon = forecast.shape
    lead = np.asarray(lead_time_days, dtype=np.int64)
    cover = lead + int(review_period_days)
    cumulative = np.concatenate([np.zeros((series, 1)), np.cumsum(forecast, axis=1)], axis=1)
    tail_mean = forecast[:, -7:].mean(axis=1) if horizon else np.zeros(series)
    demand = _demand_over(cumulative, tail_mean, cover, horizon)
    safety = service_level_z(service_level) * np.asarray(sigma_daily) * np.sqrt(cover)
    stock = np.asarray(on_hand) + np.asarray(on_order)
    cap = np.full(series, np.inf)
    if shelf_life_days is not None:
        shelf = np.asarray(shelf_life_days, dtype=np.float64)
        perishable = ~np.isnan(shelf)
        shelf_days = np.maximum(np.nan_to_num(shelf, nan=1.0), 1).astype(np.int64)
        lead_demand = _demand_over(cumulative, tail_mean, lead, horizon)
        shelf_demand = _demand_over(cumulative, tail_mean, lead + shelf_days, horizon) - lead_demand
        safety = np.where(perishable, np.minimum(safety, shelf_demand), safety)
        cap = np.where(perishable, shelf_demand - np.maximum(0.0, stock - lead_demand), np.inf)
    need = demand + safety - np.asarray(on_hand) - np.asarray(on_order)
    quantity = np.ceil(need - CEIL_TOLERANCE)
    quantity[need <= CEIL_TOLERANCE] = 0
    capped = (quantity > 0) & (cap < quantity)
    quantity[capped] = np.maximum(0, np.floor(cap[capped] + CEIL_TOLERANCE))
    return demand, safety, quantity.astype(np.int64)
