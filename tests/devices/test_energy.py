"""The pure energy-spike verdict (`apps.devices.analytics.energy`): limits and boundaries."""

from __future__ import annotations

from apps.devices.analytics.energy import EnergyVerdict, energy_verdict


def test_energy_exactly_at_the_limit_is_not_a_spike():
    # docs/devices.md: a spike is energy *above* factor × median; at the limit it is not one.
    verdict = energy_verdict(
        recent_wh=300.0, baseline_hourly_wh=[100.0] * 24, factor=3.0, min_hours=24
    )
    assert verdict == EnergyVerdict(300.0, 100.0, 24, 300.0)
    assert (verdict.has_baseline, verdict.is_spike) == (True, False)


def test_energy_just_above_the_limit_is_a_spike():
    verdict = energy_verdict(
        recent_wh=300.5, baseline_hourly_wh=[100.0] * 24, factor=3.0, min_hours=24
    )
    assert verdict == EnergyVerdict(300.5, 100.0, 24, 300.0)
    assert verdict.is_spike is True


def test_exactly_min_hours_of_baseline_gives_a_verdict():
    verdict = energy_verdict(
        recent_wh=50.0, baseline_hourly_wh=[10.0, 20.0, 30.0], factor=2.0, min_hours=3
    )
    assert verdict == EnergyVerdict(50.0, 20.0, 3, 40.0)
    assert verdict.is_spike is True


def test_one_hour_short_of_min_hours_gives_no_verdict():
    verdict = energy_verdict(
        recent_wh=500.0, baseline_hourly_wh=[10.0, 20.0], factor=2.0, min_hours=3
    )
    assert verdict == EnergyVerdict(500.0, None, 2, None)
    assert (verdict.has_baseline, verdict.is_spike) == (False, False)


def test_a_device_usually_at_zero_is_not_judged():
    verdict = energy_verdict(
        recent_wh=500.0, baseline_hourly_wh=[0.0, 0.0, 0.0, 5.0], factor=3.0, min_hours=4
    )
    assert verdict == EnergyVerdict(500.0, 0.0, 4, None)
    assert (verdict.has_baseline, verdict.is_spike) == (False, False)


def test_a_median_below_one_watt_hour_is_still_judged():
    verdict = energy_verdict(
        recent_wh=1.0, baseline_hourly_wh=[0.0, 0.5, 0.5], factor=3.0, min_hours=3
    )
    assert verdict == EnergyVerdict(1.0, 0.5, 3, 1.5)
    assert verdict.is_spike is False


def test_median_of_an_even_count_is_the_mean_of_the_middle_two():
    verdict = energy_verdict(
        recent_wh=0.0, baseline_hourly_wh=[40.0, 10.0, 30.0, 20.0], factor=2.0, min_hours=4
    )
    assert verdict == EnergyVerdict(0.0, 25.0, 4, 50.0)
