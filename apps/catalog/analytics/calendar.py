"""Chinese calendar features per day: weekday, days off, public holidays, festival windows.

`chinese_calendar` knows the official schedule (holidays and make-up working days) for the years
it ships; outside them we fall back to weekends plus the fixed-date holidays (New Year's Day,
Labour Day 1–5 May, National Day 1–7 October), so lunar festivals of an unknown year are not
flagged (documented in docs/decisions.md).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

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


@lru_cache(maxsize=4096)
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
    fixed = {(1, 1): 1, **{(5, d): 4 for d in range(1, 6)}, **{(10, d): 6 for d in range(1, 8)}}
    code = fixed.get((day.month, day.day), 0)
    return (weekend or code > 0, code > 0, code, False)


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
