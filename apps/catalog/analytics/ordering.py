"""Suggested order quantities (periodic review, order-up-to with safety stock).

    cover days  = lead time + review period
    demand      = Σ daily forecast over the cover days (beyond the 14-day forecast, the
                  mean of its last 7 days per extra day)
    safety      = z(service level) × σ(daily forecast error) × √(cover days)
    need        = demand + safety − on hand − on order
    quantity    = 0 if need ≤ 0, else max(⌈need⌉, minimum order) rounded up to the pack size

On order is 0 until purchase orders exist (the caller passes it). Pure functions; the scalar
and the vectorised forms give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

# Guards ceil() against float noise: 12.000000000001 units is 12, not 13.
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
    safety_stock: float
    need: float
    quantity: int


def order_quantity(
    *,
    daily_forecast: Sequence[float] | np.ndarray,
    lead_time_days: int,
    review_period_days: int,
    sigma_daily: float,
    service_level: float,
    on_hand: int,
    on_order: int = 0,
    pack_size: int = 1,
    min_order_qty: int = 1,
) -> OrderSuggestion:
    """The suggested quantity for one product in one store (see the module docstring)."""
    if pack_size < 1 or min_order_qty < 1:
        raise ValueError("pack size and minimum order must be at least 1")
    if lead_time_days < 0 or review_period_days < 0 or sigma_daily < 0:
        raise ValueError("lead time, review period and sigma cannot be negative")
    cover_days = lead_time_days + review_period_days
    demand = cover_demand(daily_forecast, cover_days)
    safety = service_level_z(service_level) * sigma_daily * math.sqrt(cover_days)
    need = demand + safety - on_hand - on_order
    return OrderSuggestion(
        cover_days=cover_days,
        demand=demand,
        safety_stock=safety,
        need=need,
        quantity=round_to_pack(need, pack_size=pack_size, min_order_qty=min_order_qty),
    )


def round_to_pack(need: float, *, pack_size: int, min_order_qty: int) -> int:
    """0 when nothing is needed; else at least the minimum order, in whole packs."""
    if need <= CEIL_TOLERANCE:
        return 0
    units = max(math.ceil(need - CEIL_TOLERANCE), min_order_qty)
    return math.ceil(units / pack_size) * pack_size


def order_quantities(
    *,
    daily_forecast: np.ndarray,
    lead_time_days: np.ndarray,
    review_period_days: int,
    sigma_daily: np.ndarray,
    service_level: float,
    on_hand: np.ndarray,
    on_order: np.ndarray,
    pack_size: np.ndarray,
    min_order_qty: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised `order_quantity` for S series: (demand, safety stock, quantity) arrays."""
    forecast = np.asarray(daily_forecast, dtype=np.float64)
    series, horizon = forecast.shape
    cover = np.asarray(lead_time_days, dtype=np.int64) + int(review_period_days)
    cumulative = np.concatenate([np.zeros((series, 1)), np.cumsum(forecast, axis=1)], axis=1)
    inside = np.minimum(cover, horizon)
    demand = cumulative[np.arange(series), inside]
    tail_mean = forecast[:, -7:].mean(axis=1) if horizon else np.zeros(series)
    demand = demand + tail_mean * np.maximum(cover - horizon, 0)
    safety = service_level_z(service_level) * np.asarray(sigma_daily) * np.sqrt(cover)
    need = demand + safety - np.asarray(on_hand) - np.asarray(on_order)
    units = np.maximum(np.ceil(need - CEIL_TOLERANCE), min_order_qty)
    packs = np.asarray(pack_size, dtype=np.int64)
    quantity = (np.ceil(units / packs) * packs).astype(np.int64)
    quantity[need <= CEIL_TOLERANCE] = 0
    return demand, safety, quantity
