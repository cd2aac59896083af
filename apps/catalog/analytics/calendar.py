"""Chinese calendar features per day: weekday, days off, public holidays, festival windows.

Two sources, both pinned dependencies:
- `chinese_calendar` (PyPI `chinesecalendar`) knows the official schedule (holidays and make-up
  working days) for the years it ships (through 2026 in 1.11);
- the `holidays` package's China calendar covers every year: the lunar festivals (Spring
  Festival, Dragon Boat, Mid-Autumn) computed from its Chinese lunisolar calendar, the solar-term
  Tomb-sweeping Day, the fixed-date holidays with their usual observed days, and the official
  make-up working days (`weekend_workdays`) for the years whose schedule it has.
A day `chinese_calendar` knows is taken from it; any other day from `holidays`. So the 14-day
horizon never runs off the calendar (Spring Festival 2027 is 6 February 2027). For a year whose
official schedule is not yet published, the make-up working days are unknown (weekends are days
off) and the festival blocks are `holidays`' statutory days and observed days, not the State
Council's final bridging (documented in docs/decisions.md).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays as holidays_package
import numpy as np
import pandas as pd

try:  # the package is called chinesecalendar on PyPI
    import chinese_calendar
except ImportError:  # pragma: no cover - it is a pinned dependency
    chinese_calendar = None

HOLIDAY_CODES = {
    None: 0,
    "New Year's Day": 1,
    "Spring Festival": 2,
    "Tomb-sweeping Day": 3,
    "Labour Day": 4,
    "Dragon Boat Festival": 5,
    "National Day": 6,
    "Mid-autumn Festival": 7,
}
OTHER_HOLIDAY = 8
WINDOW_CAP = 15  # days-to/since beyond this count as "far"

CALENDAR_COLUMNS = [
    "weekday",
    "is_day_off",
    "is_public_holiday",
    "holiday_code",
    "is_makeup_workday",
    "days_to_holiday",
    "days_since_holiday",
]


# `holidays` China names (language en_US) -> the HOLIDAY_CODES name of the festival.
_HOLIDAYS_NAMES = {
    "New Year's Day": "New Year's Day",
    "Chinese New Year's Eve": "Spring Festival",
    "Chinese New Year (Spring Festival)": "Spring Festival",
    "Tomb-Sweeping Day": "Tomb-sweeping Day",
    "Labor Day": "Labour Day",
    "Dragon Boat Festival": "Dragon Boat Festival",
    "National Day": "National Day",
    "Mid-Autumn Festival": "Mid-autumn Festival",
}
# A bridging day off ("Day off (substituted from …)") belongs to the festival nearest to it.
_BRIDGE_REACH = 4


@lru_cache(maxsize=256)
def _china_year(year: int) -> holidays_package.HolidayBase:
    return holidays_package.China(years=year, language="en_US")


def _holidays_code(day: dt.date) -> int:
    """The HOLIDAY_CODES code of `day` in the `holidays` China calendar (0: not a holiday)."""
    names = _china_year(day.year).get_list(day)
    if not names:
        return 0
    for name in names:
        base = name.removesuffix(" (observed)")
        if base in _HOLIDAYS_NAMES:
            return HOLIDAY_CODES[_HOLIDAYS_NAMES[base]]
    for distance in range(1, _BRIDGE_REACH + 1):  # a bridging day off: the nearest festival
        for near in (day - dt.timedelta(days=distance), day + dt.timedelta(days=distance)):
            for name in _china_year(near.year).get_list(near):
                base = name.removesuffix(" (observed)")
                if base in _HOLIDAYS_NAMES:
                    return HOLIDAY_CODES[_HOLIDAYS_NAMES[base]]
    return OTHER_HOLIDAY


def day_source(day: dt.date) -> str:
    """ "official" when `chinese_calendar` knows the day's year, otherwise "holidays"."""
    if chinese_calendar is not None:
        try:
            chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            return "holidays"
        return "official"
    return "holidays"  # pragma: no cover - chinesecalendar is a pinned dependency


@lru_cache(maxsize=8192)
def day_facts(day: dt.date) -> tuple[bool, bool, int, bool]:
    """(is day off, is public holiday, holiday code, is make-up working day) for one day."""
    weekend = day.weekday() >= 5
    if chinese_calendar is not None:
        try:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
            is_workday = chinese_calendar.is_workday(day)
        except NotImplementedError:
            pass
        else:
            public = bool(on_holiday and name is not None)
            code = HOLIDAY_CODES.get(name, OTHER_HOLIDAY) if public else 0
            return (not is_workday, public, code, bool(weekend and is_workday))
    code = _holidays_code(day)
    makeup = weekend and day in _china_year(day.year).weekend_workdays
    return ((weekend and not makeup) or code > 0, code > 0, code, bool(makeup))


def calendar_frame(first_day: dt.date, days: int) -> pd.DataFrame:
    """One row per day from `first_day`, with CALENDAR_COLUMNS.

    days_to_holiday / days_since_holiday count to the nearest public-holiday day ahead / behind
    (0 on the holiday itself), capped at WINDOW_CAP: the festival shopping windows.
    """
    margin = WINDOW_CAP
    all_days = [first_day + dt.timedelta(days=i) for i in range(-margin, days + margin)]
    facts = np.array([day_facts(day) for day in all_days], dtype=np.int64)
    public = facts[:, 1].astype(bool)
    n = len(all_days)
    to_next = np.full(n, WINDOW_CAP, dtype=np.int64)
    since_last = np.full(n, WINDOW_CAP, dtype=np.int64)
    next_seen = None
    for i in range(n - 1, -1, -1):
        if public[i]:
            next_seen = i
        if next_seen is not None:
            to_next[i] = min(next_seen - i, WINDOW_CAP)
    last_seen = None
    for i in range(n):
        if public[i]:
            last_seen = i
        if last_seen is not None:
            since_last[i] = min(i - last_seen, WINDOW_CAP)
    keep = slice(margin, margin + days)
    return pd.DataFrame(
        {
            "weekday": np.array([day.weekday() for day in all_days[keep]], dtype=np.int64),
            "is_day_off": facts[keep, 0],
            "is_public_holiday": facts[keep, 1],
            "holiday_code": facts[keep, 2],
            "is_makeup_workday": facts[keep, 3],
            "days_to_holiday": to_next[keep],
            "days_since_holiday": since_last[keep],
        },
        index=pd.date_range(first_day, periods=days, freq="D"),
    )
