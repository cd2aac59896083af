"""Which training a store needs, from its weak metrics (pure: no ORM, no gettext).

Rules (docs/training.md):

- live broadcast conversion below the peer 25th percentile → live selling;
- loss rate worse than the peer 25th percentile of performance (for a lower-is-better KPI that
  is the 75th percentile of the raw values: "above the peer 75th percentile") → fresh-goods
  handling;
- an inspection checklist section failed (an item in it scored below `FAIL_BELOW` of 10) in at
  least `MIN_FAILURES` of the store's last `WINDOW` submitted inspections → the course that
  teaches that section's standard.

Each recommendation carries the figure and the peer figure that triggered it, so the page can
say "直播转化率 1.2%，低于同行 25 分位 2.5%".

KPI figures follow the shape of the KPI snapshots (`peer_p25` is direction-aware: the value of a
store at the 25th percentile of *performance*); `KpiFigureLike` is all this module reads. Each
figure says its unit (the KPI definition's, `apps.stores.kpis.definitions`): the rules compare
figures with their peers in whatever unit they come, and only `metric_display` reads the unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

LIVE_CONVERSION = "live_conversion"
LOSS_RATE = "loss_rate"
INSPECTION_SCORE = "inspection_score"

FAIL_BELOW = 5  # an item scored 0–4 of 10 fails
MIN_FAILURES = 2
WINDOW = 3


# Units `metric_display` knows. PERCENT is the KPI definitions' unit of a rate: the KPI pack
# keeps 12.3 for 12.3 %. FRACTION is a rate as a share of one (0.123 for 12.3 %), the unit of
# the stand-in `KpiFigure`. Any other unit is shown as a plain number.
PERCENT = "%"
FRACTION = "fraction"


class KpiFigureLike(Protocol):
    code: str
    value: Decimal | None
    percentile: Decimal | None  # 0–100, higher is better whatever the KPI's direction
    peer_p25: Decimal | None
    peer_median: Decimal | None

    @property
    def unit(self) -> str: ...


@dataclass(frozen=True)
class KpiFigure:
    """A store's figure for one KPI with where its peers stand: a stand-in for the KPI pack's
    figures (`apps.stores.kpis.selectors.KpiFigure`), for tests and callers without the pack.
    Its rates are fractions unless `unit` says otherwise (`unit=""` for a score)."""

    code: str
    value: Decimal | None
    percentile: Decimal | None = None
    peer_p25: Decimal | None = None
    peer_median: Decimal | None = None
    unit: str = FRACTION


@dataclass(frozen=True)
class MetricRule:
    code: str
    skill: str
    higher_is_better: bool


METRIC_RULES: tuple[MetricRule, ...] = (
    MetricRule(LIVE_CONVERSION, "live_selling", higher_is_better=True),
    MetricRule(LOSS_RATE, "fresh_goods", higher_is_better=False),
)


@dataclass(frozen=True)
class SectionFailures:
    """An inspection section that failed repeatedly: in `failures` of the last `inspections`
    inspections, its worst item score being `lowest` (of 10)."""

    section: str
    failures: int
    inspections: int
    lowest: int


@dataclass(frozen=True)
class Recommendation:
    skill: str
    metric_code: str
    value: Decimal | None = None
    peer_value: Decimal | None = None
    higher_is_better: bool = True
    unit: str = ""  # of value and peer_value (`metric_display`)
    section: str = ""  # inspection rule only
    failures: int = 0
    inspections: int = 0
    lowest: int = 0


def metric_is_weak(rule: MetricRule, figure: KpiFigureLike | None) -> bool:
    """True when the figure is worse than the peers' 25th percentile of performance."""
    if figure is None or figure.value is None or figure.peer_p25 is None:
        return False
    if rule.higher_is_better:
        return figure.value < figure.peer_p25
    return figure.value > figure.peer_p25


def repeated_section_failures(
    inspections: Sequence[Sequence[tuple[str, int | None]]],
    *,
    fail_below: int = FAIL_BELOW,
    min_failures: int = MIN_FAILURES,
    window: int = WINDOW,
) -> list[SectionFailures]:
    """Sections failed in at least `min_failures` of the first `window` inspections (newest
    first; each a list of (section, item score 0–10 or None)), in section order of first
    appearance."""
    recent = list(inspections)[:window]
    failures: dict[str, int] = {}
    lowest: dict[str, int] = {}
    for results in recent:
        failed_here: set[str] = set()
        for section, score in results:
            if score is not None and score < fail_below:
                failed_here.add(section)
                lowest[section] = min(lowest.get(section, score), score)
        for section in failed_here:
            failures[section] = failures.get(section, 0) + 1
    ordered = list(dict.fromkeys(section for results in recent for section, _score in results))
    return [
        SectionFailures(section, failures[section], len(recent), lowest[section])
        for section in ordered
        if failures.get(section, 0) >= min_failures
    ]


def recommendations(
    figures: Mapping[str, KpiFigureLike],
    section_failures: Sequence[SectionFailures] = (),
) -> list[Recommendation]:
    """Every rule that fires, metric rules first (in METRIC_RULES order), then inspection
    sections."""
    found = [
        Recommendation(
            skill=rule.skill,
            metric_code=rule.code,
            value=figures[rule.code].value,
            peer_value=figures[rule.code].peer_p25,
            higher_is_better=rule.higher_is_better,
            unit=figures[rule.code].unit,
        )
        for rule in METRIC_RULES
        if metric_is_weak(rule, figures.get(rule.code))
    ]
    found.extend(
        Recommendation(
            skill="inspection",
            metric_code=INSPECTION_SCORE,
            value=figures[INSPECTION_SCORE].value if INSPECTION_SCORE in figures else None,
            peer_value=(
                figures[INSPECTION_SCORE].peer_median if INSPECTION_SCORE in figures else None
            ),
            unit=figures[INSPECTION_SCORE].unit if INSPECTION_SCORE in figures else "",
            section=failure.section,
            failures=failure.failures,
            inspections=failure.inspections,
            lowest=failure.lowest,
        )
        for failure in section_failures
    )
    return found


def metric_display(value: Decimal | None, *, unit: str) -> str:
    """'1.2%' for a rate (1.2 in PERCENT, 0.012 in FRACTION), '67.1' for anything else; '—'
    when unknown."""
    if value is None:
        return "—"
    if unit == FRACTION:
        value = Decimal(value) * 100
    if unit in (PERCENT, FRACTION):
        return f"{Decimal(value).quantize(Decimal('0.1'))}%"
    return f"{Decimal(value).quantize(Decimal('0.1'))}"
