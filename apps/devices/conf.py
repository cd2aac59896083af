"""Device settings: read from Django settings when the project sets them, else from the
environment, with safe defaults. (Read at call time, so tests can override them.)"""

from __future__ import annotations

import environ
from django.conf import settings

_env = environ.Env()


def _setting_int(name: str, default: int, *, minimum: int = 1) -> int:
    value = getattr(settings, name, None)
    if value is None:
        value = _env.int(name, default=default)
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def reading_retention_days() -> int:
    """Days raw readings are kept (`DEVICE_READING_RETENTION_DAYS`, default 14)."""
    return _setting_int("DEVICE_READING_RETENTION_DAYS", 14)


def readings_max_batch() -> int:
    """Most readings accepted in one request (`DEVICE_READINGS_MAX_BATCH`, default 5000)."""
    return _setting_int("DEVICE_READINGS_MAX_BATCH", 5000)


def rollup_lookback_hours() -> int:
    """The hourly rollup re-aggregates every hour that received readings in this many past
    hours (`DEVICE_ROLLUP_LOOKBACK_HOURS`, default 3), so late readings are included."""
    return _setting_int("DEVICE_ROLLUP_LOOKBACK_HOURS", 3)


FUTURE_TOLERANCE_MINUTES = 5
