"""Energy spike detection: the last hour against the device's own baseline."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class EnergyVerdict:
    recent_wh: float
    baseline_median_wh: float | None
    baseline_hours: int
    limit_wh: float | None

    @property
    def has_baseline(self) -> bool:
        return self.limit_wh is not None

    @property
    def is_spike(self) -> bool:
        return self.limit_wh is not None and self.recent_wh > self.limit_wh


def energy_verdict(
    *, recent_wh: float, baseline_hourly_wh: Sequence[float], factor: float, min_hours: int
) -> EnergyVerdict:
    """Compare the last hour's energy with `factor` × the median of the baseline hours.

    No verdict (no limit) when there are fewer than `min_hours` baseline hours, or when the
    median is zero (a device that is usually off has no meaningful multiple).
    """
    hours = len(baseline_hourly_wh)
    if hours < min_hours:
        return EnergyVerdict(recent_wh, None, hours, None)
    median = float(statistics.median(baseline_hourly_wh))
    if median <= 0:
        return EnergyVerdict(recent_wh, median, hours, None)
    return EnergyVerdict(recent_wh, median, hours, median * factor)
