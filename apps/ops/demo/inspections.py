"""Demo inspection history: every store inspected once a calendar month of the history (some
twice), on the active checklist, each item scored, submitted and approved by HQ inspection, so
the inspection score KPI has its source for every month (docs/kpis.md).

Stores differ (a steady store-level quality plus per-item noise), so the ranking and the
"repeated inspection failures" training rule have something to tell apart. Scores are the
checklist's weighted average (`score_weighted`, as `inspection_submit` computes them). The
history carries no photos: the photo-required items were approved as they stood.

Set-wise and deterministic (its own random stream mixed with the demo's seed): inspections with
`bulk_create` (ids needed), their item results with `rows_insert`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.contrib.auth import get_user_model

from apps.ops.demo.bulk import rows_insert
from apps.ops.demo.orders import TZ
from apps.stores.inspections.models import (
    ITEM_SCORE_MAX,
    ChecklistTemplate,
    Inspection,
    InspectionItemResult,
)
from apps.stores.inspections.services import score_weighted
from apps.stores.models import Store, StoreStaff

STREAM = 1_157  # "insp": the stream of this part, mixed with the demo's seed
SECOND_VISIT_SHARE = 0.3
ITEM_MEAN, ITEM_SPREAD, STORE_SPREAD = 8.3, 1.3, 0.7
VISIT_HOURS = (9, 17)
VISIT_MINUTES = (25, 70)
REVIEW_DELAY = dt.timedelta(hours=2)


def demo_inspections_seed(*, stores: list[Store], days: list[dt.date], seed: int) -> int:
    """Write the history's inspections and their scored items; return the number of
    inspections. Precondition: the demo accounts (`inspector`, `hq_inspect`) and the active
    checklist exist; without them nothing is written."""
    template = ChecklistTemplate.objects.filter(active=True).first()
    users = {
        user.username: user
        for user in get_user_model().objects.filter(username__in=["inspector", "hq_inspect"])
    }
    if template is None or "hq_inspect" not in users or not stores:
        return 0
    items = list(template.items.order_by("order", "pk"))
    if not items:
        return 0
    assigned = set(
        StoreStaff.objects.filter(
            user=users.get("inspector"), role=StoreStaff.Role.INSPECTOR
        ).values_list("store_id", flat=True)
    )
    rng = np.random.default_rng(np.random.SeedSequence([seed, STREAM]))
    quality = rng.normal(0, STORE_SPREAD, len(stores))
    months: dict[dt.date, list[dt.date]] = {}
    for day in days:
        months.setdefault(day.replace(day=1), []).append(day)

    inspections: list[Inspection] = []
    item_scores: list[list[int]] = []
    for month_days in months.values():
        for store_index, store in enumerate(stores):
            visits = min(1 + int(rng.random() < SECOND_VISIT_SHARE), len(month_days))
            for day_index in sorted(rng.choice(len(month_days), visits, replace=False)):
                mean = ITEM_MEAN + quality[store_index]
                drawn = np.rint(rng.normal(mean, ITEM_SPREAD, len(items)))
                scores = np.clip(drawn, 0, ITEM_SCORE_MAX).astype(int).tolist()
                started = dt.datetime.combine(
                    month_days[int(day_index)],
                    dt.time(int(rng.integers(*VISIT_HOURS)), int(rng.integers(0, 60))),
                    tzinfo=TZ,
                )
                submitted = started + dt.timedelta(minutes=int(rng.integers(*VISIT_MINUTES)))
                inspector = users["inspector"] if store.pk in assigned else users["hq_inspect"]
                inspections.append(
                    Inspection(
                        store=store,
                        template=template,
                        inspector=inspector,
                        status=Inspection.Status.APPROVED,
                        started_at=started,
                        submitted_at=submitted,
                        score=score_weighted(
                            (item.weight, score) for item, score in zip(items, scores, strict=True)
                        ),
                        reviewed_by=users["hq_inspect"],
                        reviewed_at=submitted + REVIEW_DELAY,
                    )
                )
                item_scores.append(scores)
    inspections = Inspection.objects.bulk_create(inspections, batch_size=2000)
    rows_insert(
        InspectionItemResult,
        (
            "inspection_id",
            "item_id",
            "section",
            "title",
            "weight",
            "requires_photo",
            "order",
            "score",
            "note",
            "updated_at",
        ),
        (
            (
                inspection.pk,
                item.pk,
                item.section,
                item.title,
                item.weight,
                item.requires_photo,
                item.order,
                score,
                "",
                inspection.submitted_at,
            )
            for inspection, scores in zip(inspections, item_scores, strict=True)
            for item, score in zip(items, scores, strict=True)
        ),
    )
    return len(inspections)
