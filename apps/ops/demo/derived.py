"""What the first night would compute, started right after the demo is loaded, so the first
login shows member profiles, trust levels and tags, and the decision pages fill without waiting
for 02:30 / 03:30.

Runs after the seed's transaction has committed, through the same services and task the nightly
jobs use: member profiles and tags at once (`member_profiles_recompute`, set-wise); today's
decision run in one of three ways:

- `split` (the default of `seed_demo`): the stores a demo login sees in the portal (the stores
  with staff: the owners' and the inspector's) are computed at once, by a `decisions_run` over
  those stores whose rules cover the network, their region and those stores, and whose forecast
  model (and backtest) samples all open stores, as the whole run's does; then the whole run is
  sent to the Celery worker (`decisions_nightly_task`, `force`), which skips the rule scopes
  already computed and computes every store, the first ones again with the same model and in
  the same block of stores (`decisions_pools`), so to the same figures. The other stores'
  pages say they come with the next run, then show its progress; HQ sees both runs in the
  admin.
- `now`: the whole run at once (`decisions_run` with the real planning sources).
- `worker`: the whole run sent to the worker, where it runs as soon as a worker is up.

See docs/demo-data.md ("Computed pages out of the box").
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings

from apps.catalog.services.forecasts import open_store_ids
from apps.catalog.services.nightly import decisions_run
from apps.catalog.sources import planning_sources
from apps.catalog.tasks import decisions_nightly_task
from apps.customers.services.profiles import member_profiles_recompute
from apps.stores.models import StoreStaff

Progress = Callable[[str], None]


# The forecast model's row budget in the demo's first decision run (the nightly default is
# 200 000). Why: the three fits of a cold start (two backtest origins and the model) scale
# with it and were the largest part of `make run` before the first page; 100 000 rows still
# sample every training origin of the 40 sampled stores. The whole run the worker finishes
# uses the same budget, so the first stores' figures do not change when it reaches them; the
# nightly runs use the default (though the backtest recorded here, at this budget, picks the
# categories' serving methods until it is 7 days old, as any backtest does). The run's stats
# and the admin show the rows trained on.
DEMO_MODEL_MAX_ROWS = 100_000

DECISIONS_SPLIT = "split"
DECISIONS_NOW = "now"
DECISIONS_WORKER = "worker"


@dataclass(frozen=True)
class DerivedSummary:
    profiles: int
    profiles_seconds: float
    # "now": computed (see decision_status), "split": the login stores computed (see
    # decision_status) and the whole run sent to the worker unless `rest_sent` is False,
    # "worker": sent, "failed": not sent
    decisions: str
    decision_status: str = ""
    decisions_seconds: float = 0.0
    # As the run stores them (codes and parameters): the caller words them in its language
    # (`run_warning_text`).
    warnings: tuple[object, ...] = ()
    stores_now: int = 0
    stores_total: int = 0
    rest_sent: bool | None = None  # split only: None when no store was left for the worker


def login_store_ids() -> list[int]:
    """The open stores someone logs in to in the portal (owners, inspectors, staff)."""
    open_ids = set(open_store_ids())
    staffed = StoreStaff.objects.values_list("store_id", flat=True).distinct()
    return sorted(pk for pk in staffed if pk in open_ids)


def _send_whole_run(today: dt.date, report: Progress, **options: int) -> bool:
    try:
        decisions_nightly_task.apply_async(
            kwargs={"day": today.isoformat(), "force": True, **options}
        )
    except Exception as error:  # the broker is unreachable: say so, HQ can run it later
        report(f"decision run NOT sent to the worker: {type(error).__name__}: {error}")
        return False
    report(f"decision run for {today} sent to the worker")
    return True


def demo_derived_compute(
    *, today: dt.date, decisions: str = DECISIONS_SPLIT, progress: Progress | None = None
) -> DerivedSummary:
    """Member profiles as of local midnight of `today`, and the decision run of `today` (lists
    from sales up to yesterday): for the login stores now and every store in the worker
    (`decisions="split"`), for every store now (`"now"`), or for every store in the worker
    (`"worker"`), sent with `force` as HQ's "run now" does."""
    report = progress or (lambda _message: None)
    started = time.monotonic()
    as_of = dt.datetime.combine(today, dt.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))
    profiles = member_profiles_recompute(as_of=as_of)
    profiles_seconds = round(time.monotonic() - started, 1)
    report(f"member profiles and tags: {profiles.members} members ({profiles_seconds:.1f}s)")
    if decisions == DECISIONS_WORKER:
        sent = _send_whole_run(today, report)
        return DerivedSummary(
            profiles.members, profiles_seconds, DECISIONS_WORKER if sent else "failed"
        )
    every_store = open_store_ids()
    first = login_store_ids() if decisions == DECISIONS_SPLIT else every_store
    started = time.monotonic()
    split = decisions == DECISIONS_SPLIT
    run = decisions_run(
        day=today,
        store_ids=first,
        model_store_ids=every_store,
        progress=report,
        sources=planning_sources(),
        **({"max_rows": DEMO_MODEL_MAX_ROWS} if split else {}),
    )
    decisions_seconds = round(time.monotonic() - started, 1)
    report(
        f"decision run #{run.pk} for {run.day}: {run.status}, {run.stores_done}/"
        f"{run.stores_total} stores ({decisions_seconds:.1f}s)"
    )
    rest_sent = None
    if split and set(first) != set(every_store):
        rest_sent = _send_whole_run(today, report, max_rows=DEMO_MODEL_MAX_ROWS)
    return DerivedSummary(
        profiles=profiles.members,
        profiles_seconds=profiles_seconds,
        decisions=decisions,
        decision_status=run.status,
        decisions_seconds=decisions_seconds,
        warnings=tuple((run.stats or {}).get("warnings") or ()),
        stores_now=run.stores_done,
        stores_total=len(every_store),
        rest_sent=rest_sent,
    )
