"""The forecast calendar past the years chinese_calendar ships (1.11: through 2026).

The reference for 2027 is written out here from the lunar calendar (Spring Festival 2027 is
Saturday 6 February; its eve Friday 5 February) and the fixed-date New Year's Day, independently
of the `holidays` package the code uses.
"""

from __future__ import annotations

import datetime as dt
import logging
import warnings

import pytest

from apps.catalog.analytics.calendar import (
    HOLIDAY_CODES,
    WINDOW_CAP,
    calendar_frame,
    day_facts,
    day_source,
)
from apps.catalog.analytics.forecast import HORIZON
from apps.ops.demo.seasonality import calendar_known, day_kind

SPRING = HOLIDAY_CODES["Spring Festival"]
NEW_YEAR = HOLIDAY_CODES["New Year's Day"]


def test_2027_comes_from_the_every_year_source_and_2026_from_the_official_schedule() -> None:
    assert day_source(dt.date(2026, 12, 31)) == "official"
    assert day_source(dt.date(2027, 1, 1)) == "holidays"


def test_new_year_2027_is_a_public_holiday_and_the_window_before_it_is_counted() -> None:
    frame = calendar_frame(dt.date(2026, 12, 20), 20)
    new_year = frame.loc["2027-01-01"]
    assert (new_year["is_public_holiday"], new_year["holiday_code"], new_year["is_day_off"]) == (
        1,
        NEW_YEAR,
        1,
    )
    # From 20 December the days count down to 1 January across the year boundary.
    assert frame.loc["2026-12-20", "days_to_holiday"] == 12
    assert frame.loc["2026-12-31", "days_to_holiday"] == 1
    assert frame.loc["2027-01-04", "days_since_holiday"] == 3


def test_spring_festival_2027_window() -> None:
    frame = calendar_frame(dt.date(2027, 1, 20), 40)
    festival = frame.loc["2027-02-06"]
    assert (festival["is_public_holiday"], festival["holiday_code"]) == (1, SPRING)
    assert frame.loc["2027-02-05", "holiday_code"] == SPRING  # the eve
    # Not a holiday the week before; the window counts down to the eve (5 February).
    assert frame.loc["2027-01-29", "is_public_holiday"] == 0
    assert frame.loc["2027-01-29", "days_to_holiday"] == 7
    assert frame.loc["2027-01-21", "days_to_holiday"] == WINDOW_CAP
    # The statutory days (6-8 Feb) and the eve are days off, whatever the weekday.
    for day in ("2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08"):
        assert frame.loc[day, "is_day_off"] == 1, day
    # Back to work by mid-February: a Monday after the block is a working day.
    assert frame.loc["2027-02-15", "is_day_off"] == 0
    assert frame.loc["2027-02-15", "days_since_holiday"] < WINDOW_CAP
    # Mid-January has no festival flag.
    assert day_facts(dt.date(2027, 1, 20)) == (False, False, 0, False)  # a Wednesday


def test_official_make_up_working_days_where_published() -> None:
    # Saturday 14 February 2026 is an official make-up working day before the Spring Festival.
    assert day_facts(dt.date(2026, 2, 14)) == (False, False, 0, True)


@pytest.mark.parametrize(
    ("year", "spring_festival"),
    [(2027, dt.date(2027, 2, 6)), (2028, dt.date(2028, 1, 26)), (2030, dt.date(2030, 2, 3))],
)
def test_lunar_new_year_in_later_years(year: int, spring_festival: dt.date) -> None:
    assert day_facts(spring_festival)[1:3] == (True, SPRING)
    assert day_facts(dt.date(year, 10, 1))[1:3] == (True, HOLIDAY_CODES["National Day"])


def test_no_calendar_fallback_warning_for_a_horizon_reaching_2027(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Mid-December 2026: the 14-day horizon reaches into 2027. No warning, no weekend-only
    fallback: the demo's calendar knows every day and gives New Year's Day its holiday factor."""
    days = [dt.date(2026, 12, 18) + dt.timedelta(days=i) for i in range(HORIZON + 50)]
    with caplog.at_level(logging.WARNING), warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = calendar_frame(days[0], len(days))
        assert calendar_known(days)
        kinds = [day_kind(day) for day in days]
    assert not caplog.records
    assert frame["is_public_holiday"].sum() >= 5  # New Year's Day and the Spring Festival block
    by_day = {kind.day: kind for kind in kinds}
    assert by_day[dt.date(2027, 1, 1)].label.startswith("holiday:")
    assert by_day[dt.date(2027, 2, 6)].label == "holiday:Spring Festival"
    assert by_day[dt.date(2027, 2, 4)].label == "eve"
