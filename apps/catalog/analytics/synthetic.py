"""Synthetic daily demand with known effects, for tests and benchmarks (never for users).

Each series has a base rate, a weekday profile, a public-holiday lift (and a pre-holiday
shopping window), and, for "fruit" categories, a lift on hot days (max temperature above
28 °C); counts are Poisson draws. Deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from apps.catalog.analytics.calendar import calendar_frame
from apps.catalog.analytics.forecast import HORIZON, Panel

WEEKDAY_PROFILE = np.array([0.9, 0.9, 0.95, 1.0, 1.1, 1.3, 1.25])
HOLIDAY_LIFT = 1.8
PRE_HOLIDAY_LIFT = 1.3
HOT_DAY_THRESHOLD = 28.0
HOT_LIFT_PER_DEGREE = 0.2


@dataclass(frozen=True)
class SyntheticDemand:
    panel: Panel  # observed days only in sales; weather runs HORIZON further
    future_sales: np.ndarray  # [S, HORIZON] the draws of the days after the panel
    expected: np.ndarray  # [S, D + HORIZON] the Poisson means
    fruit_categories: tuple[int, ...]


def city_weather(
    first_day: dt.date, days: int, cities: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Max temperature (seasonal sine + noise) and precipitation per city and day."""
    day_of_year = np.array(
        [(first_day + dt.timedelta(days=i)).timetuple().tm_yday for i in range(days)]
    )
    season = 20 + 12 * np.sin(2 * np.pi * (day_of_year - 110) / 365.25)
    temp = season[None, :] + rng.normal(0, 3.0, size=(cities, days)) + rng.normal(0, 2, (cities, 1))
    rain = np.where(rng.random((cities, days)) < 0.3, rng.exponential(6.0, (cities, days)), 0.0)
    return np.round(temp, 1), np.round(rain, 1)


def synthetic_demand(
    *,
    stores: int = 10,
    products: int = 20,
    days: int = 365,
    first_day: dt.date = dt.date(2025, 6, 1),
    categories: int = 4,
    cities: int = 2,
    seed: int = 0,
) -> SyntheticDemand:
    """Stores × products series over `days` observed days (plus HORIZON future days)."""
    rng = np.random.default_rng(seed)
    total_days = days + HORIZON
    calendar = calendar_frame(first_day, total_days)
    temp, rain = city_weather(first_day, total_days, cities, rng)
    store_index = np.repeat(np.arange(stores), products)
    product_index = np.tile(np.arange(products), stores)
    product_category = np.arange(products) % categories
    category_codes = product_category[product_index]
    fruit = (0,)  # category 0 is fruit: it sells more on hot days
    city = store_index % cities
    base = (
        np.exp(rng.normal(0.6, 0.7, size=products))[product_index]
        * np.exp(rng.normal(0, 0.3, size=stores))[store_index]
    )
    weekday = WEEKDAY_PROFILE[calendar["weekday"].to_numpy()]
    holiday = np.where(calendar["is_public_holiday"].to_numpy() == 1, HOLIDAY_LIFT, 1.0)
    pre = calendar["days_to_holiday"].to_numpy()
    holiday = holiday * np.where((pre >= 1) & (pre <= 2), PRE_HOLIDAY_LIFT, 1.0)
    heat = 1 + HOT_LIFT_PER_DEGREE * np.maximum(temp[city] - HOT_DAY_THRESHOLD, 0)
    is_fruit = np.isin(category_codes, fruit)[:, None]
    expected = base[:, None] * weekday[None, :] * holiday[None, :] * np.where(is_fruit, heat, 1.0)
    draws = rng.poisson(expected).astype(np.float64)
    panel = Panel(
        sales=draws[:, :days],
        first_day=first_day,
        store_ids=store_index + 1,
        product_ids=product_index + 1,
        category_codes=category_codes,
        city_index=city,
        temp_max=temp,
        precipitation=rain,
    )
    return SyntheticDemand(
        panel=panel, future_sales=draws[:, days:], expected=expected, fruit_categories=fruit
    )
