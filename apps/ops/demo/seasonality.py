"""Demand drivers of the demo history: weekday, Chinese holidays, weather.

Pure functions on dates and numpy arrays (no ORM). The coefficients are documented in
docs/demo-data.md; change both together.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import chinese_calendar
import numpy as np

from apps.catalog.analytics.calendar import HOLIDAY_CODES, day_facts

# Basket-count factor by weekday, Monday first.
WEEKDAY_FACTOR: tuple[float, ...] = (0.92, 0.90, 0.93, 0.96, 1.06, 1.25, 1.20)
# A statutory holiday (国庆, 中秋, 春节 …) replaces the weekday factor.
HOLIDAY_FACTOR = 1.35
# The working day before a holiday block: people stock up.
HOLIDAY_EVE_UPLIFT = 1.15
# A weekend day that is an official make-up working day (调休) behaves like a weekday.
MAKEUP_WORKDAY_FACTOR = 0.95
# Rain keeps people at home.
RAIN_FACTOR_HEAVY = 0.88  # precipitation >= 10 mm
RAIN_FACTOR_LIGHT = 0.95  # 2 mm <= precipitation < 10 mm

# Fruit sampling weights rise linearly with the day's maximum temperature above 28 °C.
HEAT_THRESHOLD_C = 28.0
FRUIT_HEAT_COEFFICIENT = 0.05  # +5 % per °C above the threshold, every fruit
MELON_HEAT_COEFFICIENT = 0.15  # +15 % per °C for melons and cut watermelon
# On statutory holidays (and their eves) festive categories sell more.
HOLIDAY_CATEGORY_UPLIFT: dict[str, float] = {"FRUIT": 1.2, "SNACK": 1.3, "DRINK": 1.2}


@dataclass(frozen=True)
class DayKind:
    day: dt.date
    factor: float
    label: str  # "weekday", "weekend", "holiday:<name>", "eve", "makeup_workday"
    is_festive: bool  # a statutory holiday or its eve (festive categories uplifted)


_CODE_NAMES = {code: name for name, code in HOLIDAY_CODES.items() if name is not None}


def _holiday_detail(day: dt.date) -> tuple[bool, str | None, bool]:
    """(is_holiday, holiday name, calendar_known). Outside the years chinese_calendar knows,
    the `holidays` package's China calendar (every year) through the forecast's `day_facts`;
    `calendar_known` is False only if neither knows the day."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        day_off, public, code, _makeup = day_facts(day)
        return day_off, (_CODE_NAMES.get(code, "Other holiday") if public else None), True
    return bool(on_holiday), name, True


def day_kind(day: dt.date) -> DayKind:
    on_holiday, name, _known = _holiday_detail(day)
    weekday_factor = WEEKDAY_FACTOR[day.weekday()]
    if on_holiday and name:
        return DayKind(day, HOLIDAY_FACTOR, f"holiday:{name}", True)
    if not on_holiday and day.weekday() >= 5:
        return DayKind(day, MAKEUP_WORKDAY_FACTOR, "makeup_workday", False)
    tomorrow_holiday, tomorrow_name, _ = _holiday_detail(day + dt.timedelta(days=1))
    if not on_holiday and tomorrow_holiday and tomorrow_name:
        return DayKind(day, weekday_factor * HOLIDAY_EVE_UPLIFT, "eve", True)
    return DayKind(day, weekday_factor, "weekend" if on_holiday else "weekday", False)


def calendar_known(days: list[dt.date]) -> bool:
    return all(_holiday_detail(day)[2] for day in days)


@dataclass(frozen=True)
class WeatherDay:
    day: dt.date
    temp_max_c: float
    temp_min_c: float
    precipitation_mm: float
    condition: str


# Hangzhou climate: mean daily temperature ~5.5 °C in mid-January, ~29.5 °C in late July.
_MEAN_C = 17.5
_AMPLITUDE_C = 12.0
_PEAK_SHIFT_DAYS = 110
# Chance of rain by month (January first) and mean amount on a rainy day.
_RAIN_CHANCE = (0.35, 0.40, 0.45, 0.45, 0.45, 0.55, 0.40, 0.40, 0.35, 0.25, 0.30, 0.30)
_RAIN_MEAN_MM = (6, 7, 9, 10, 11, 16, 12, 12, 9, 7, 6, 5)


def _condition(precipitation: float, cloudy: bool) -> str:
    if precipitation >= 25:
        return "大雨"
    if precipitation >= 10:
        return "中雨"
    if precipitation >= 2:
        return "小雨"
    if precipitation > 0:
        return "阴"
    return "多云" if cloudy else "晴"


def weather_simulate(
    *, first: dt.date, last: dt.date, rng: np.random.Generator
) -> list[WeatherDay]:
    """One plausible day of Hangzhou weather for every date in [first, last]: a seasonal curve
    plus an AR(1) anomaly (persistence 0.7, innovation sd 1.8 °C); rain cools the day by 2 °C."""
    count = (last - first).days + 1
    innovations = rng.normal(0.0, 1.8, count)
    rain_draw = rng.random(count)
    rain_amount = rng.exponential(1.0, count)
    cloud_draw = rng.random(count)
    days: list[WeatherDay] = []
    anomaly = 0.0
    for index in range(count):
        day = first + dt.timedelta(days=index)
        anomaly = 0.7 * anomaly + float(innovations[index])
        doy = day.timetuple().tm_yday
        mean = _MEAN_C + _AMPLITUDE_C * math.sin(2 * math.pi * (doy - _PEAK_SHIFT_DAYS) / 365.25)
        month = day.month - 1
        rainy = bool(rain_draw[index] < _RAIN_CHANCE[month])
        precipitation = round(float(rain_amount[index] * _RAIN_MEAN_MM[month]), 1) if rainy else 0.0
        cooling = 2.0 if precipitation >= 2 else 0.0
        temp_max = round(mean + 4.5 + anomaly - cooling, 1)
        temp_min = round(min(temp_max - 2.0, mean - 3.5 + 0.8 * anomaly), 1)
        days.append(
            WeatherDay(
                day,
                temp_max,
                temp_min,
                precipitation,
                _condition(precipitation, bool(cloud_draw[index] < 0.5)),
            )
        )
    return days


def weather_forecast(
    *, truth: list[WeatherDay], issued_on: dt.date, rng: np.random.Generator
) -> list[WeatherDay]:
    """A forecast of `truth` issued on `issued_on`: temperature errors grow with the lead time
    (sd 0.8 °C + 0.15 °C per day ahead)."""
    forecast = []
    for weather in truth:
        lead = (weather.day - issued_on).days
        error = float(rng.normal(0.0, 0.8 + 0.15 * lead))
        temp_max = round(weather.temp_max_c + error, 1)
        temp_min = round(min(temp_max - 2.0, weather.temp_min_c + error), 1)
        precipitation = round(max(0.0, weather.precipitation_mm * float(rng.uniform(0.6, 1.4))), 1)
        forecast.append(
            WeatherDay(
                weather.day,
                temp_max,
                temp_min,
                precipitation,
                _condition(precipitation, weather.condition == "多云"),
            )
        )
    return forecast


def rain_factor(precipitation_mm: float) -> float:
    if precipitation_mm >= 10:
        return RAIN_FACTOR_HEAVY
    if precipitation_mm >= 2:
        return RAIN_FACTOR_LIGHT
    return 1.0


def heat_multiplier(temp_max_c: float, coefficient: float) -> float:
    return 1.0 + coefficient * max(0.0, temp_max_c - HEAT_THRESHOLD_C)
