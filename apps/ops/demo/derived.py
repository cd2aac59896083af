"""What the first night would compute, started right after the demo is loaded, so the first
login shows member profiles, trust levels and tags, and the decision pages fill without waiting
for 02:30 / 03:30.

Runs after the seed's transaction has committed, through the same services and task the nightly
jobs use: member profiles and tags at once (`member_profiles_recompute`, set-wise); today's
decision run either at once (`decisions_run` with the real planning sources; the default of
`seed_demo`, so the first login finds computed pages) or sent to the Celery worker
(`decisions_nightly_task`), where it runs as soon as a worker is up, with its progress in the
admin and on the owners' pages. See docs/demo-data.md ("Computed pages out of the box").
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
from apps.catalog.tasks import decisions_nightly_task
from apps.customers.services.profiles import member_profiles_recompute

Progress = Callable[[str], None]


DECISIONS_NOW = "now"
DECISIONS_WORKER = "worker"


@dataclass(frozen=True)
class DerivedSummary:
    profiles: int
    profiles_seconds: float
    decisions: str  # "now": computed (see decision_status), "worker": sent, "failed": not sent
    decision_status: str = ""
    decisions_seconds: float = 0.0
    warnings: tuple[str, ...] = ()


def demo_derived_compute(
    *, today: dt.date, decisions: str = DECISIONS_NOW, progress: Progress | None = None
) -> DerivedSummary:
    """Member profiles as of local midnight of `today`, and the decision run of `today` (lists
    from sales up to yesterday) for every store: computed here (`decisions="now"`) or sent to
    the worker (`"worker"`) with `force`, as HQ's "run now" does."""
    report = progress or (lambda _message: None)
    started = time.monotonic()
    as_of = dt.datetime.combine(today, dt.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))
    profiles = member_profiles_recompute(as_of=as_of)
    profiles_seconds = round(time.monotonic() - started, 1)
    report(f"member profiles and tags: {profiles.members} members ({profiles_seconds:.1f}s)")
    if decisions == DECISIONS_WORKER:
        try:
            decisions_nightly_task.apply_async(kwargs={"day": today.isoformat(), "force": True})
        except Exception as error:  # the broker is unreachable: say so, HQ can run it later
            report(f"decision run NOT sent to the worker: {type(error).__name__}: {error}")
            return DerivedSummary(profiles.members, profiles_seconds, "failed")
        report(f"decision run for {today} sent to the worker")
        return DerivedSummary(profiles.members, profiles_seconds, DECISIONS_WORKER)
    started = time.monotonic()
    run = decisions_run(day=today, progress=report, sources=planning_sources())
    decisions_seconds = round(time.monotonic() - started, 1)
    report(
        f"decision run #{run.pk} for {run.day}: {run.status}, {run.stores_done}/"
        f"{run.stores_total} stores ({decisions_seconds:.1f}s)"
    )
    return DerivedSummary(
        profiles=profiles.members,
        profiles_seconds=profiles_seconds,
        decisions=DECISIONS_NOW,
        decision_status=run.status,
        decisions_seconds=decisions_seconds,
        warnings=tuple((run.stats or {}).get("warnings") or ()),
    )
