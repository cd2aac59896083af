"""What the nightly jobs would compute, computed once right after the demo is loaded, so the
first login shows member profiles, trust levels, tags and the owners' decision pages instead
of empty pages until 02:30 / 03:30.

Runs after the seed's transaction has committed, through the same services the nightly tasks
call (`member_profiles_recompute`, then `decisions_run` with the real planning sources): the
rows are exactly the ones the night would write for the same day. See docs/demo-data.md
("Computed pages out of the box") for the cost.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings

from apps.catalog.services.nightly import decisions_run
from apps.catalog.sources import planning_sources
from apps.customers.services.profiles import member_profiles_recompute

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DerivedSummary:
    profiles: int
    decision_run_id: int
    decision_status: str
    profiles_seconds: float
    decisions_seconds: float
    warnings: tuple[str, ...]


def demo_derived_compute(*, today: dt.date, progress: Progress | None = None) -> DerivedSummary:
    """Member profiles as of local midnight of `today` and the decision run of `today` (lists
    from sales up to yesterday), for every store, as the nightly jobs of that night would."""
    report = progress or (lambda _message: None)
    started = time.monotonic()
    as_of = dt.datetime.combine(today, dt.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))
    profiles = member_profiles_recompute(as_of=as_of)
    profiles_seconds = time.monotonic() - started
    report(f"member profiles and tags: {profiles.members} members ({profiles_seconds:.1f}s)")
    started = time.monotonic()
    run = decisions_run(day=today, progress=report, sources=planning_sources())
    decisions_seconds = time.monotonic() - started
    warnings = tuple((run.stats or {}).get("warnings") or ())
    report(
        f"decision run #{run.pk} for {run.day}: {run.status}, {run.stores_done}/"
        f"{run.stores_total} stores ({decisions_seconds:.1f}s)"
    )
    return DerivedSummary(
        profiles=profiles.members,
        decision_run_id=run.pk,
        decision_status=run.status,
        profiles_seconds=round(profiles_seconds, 1),
        decisions_seconds=round(decisions_seconds, 1),
        warnings=warnings,
    )
