"""Reads for inspections, and who may see what. Access always goes through `apps.stores.access`
and its named actions:

- VIEW_INSPECTIONS (owners, inspectors; HQ with `stores.view_inspection`, read-only in the portal:
  they review in the admin): a store's inspections, photos and rectification items.
- INSPECT (the store's inspectors): start, score, add photos, submit; they and HQ also see drafts.
- RECTIFY (owners): mark a rectification item done. Owners see an inspection once submitted
  (drafts stay private to the inspector).
- Anyone else (clerks, suppliers, other stores' owners, anonymous): nothing; unknown ids are
  refused the same way as forbidden ones.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from apps.stores.access import (
    INSPECT,
    RECTIFY,
    VIEW_INSPECTIONS,
    actions_at,
    hq_may,
    store_or_403,
    stores_for,
)
from apps.stores.inspections.models import score_passes
from apps.stores.models import (
    Inspection,
    InspectionItemResult,
    InspectionPhoto,
    InspectionSave,
    RectificationItem,
    Store,
)

Status = Inspection.Status


@dataclass(frozen=True)
class InspectionAccess:
    """What one user may do with inspections of one store."""

    can_view: bool  # VIEW_INSPECTIONS
    can_inspect: bool  # INSPECT
    can_rectify: bool  # RECTIFY
    sees_drafts: bool  # the store's inspectors and HQ; owners only once submitted

    def can_view_inspection(self, inspection: Inspection) -> bool:
        return self.can_view and (self.sees_drafts or inspection.status != Status.DRAFT)


def inspection_access(*, user: Any, store_id: int) -> InspectionAccess:
    allowed = actions_at(user, store_id)
    return InspectionAccess(
        can_view=VIEW_INSPECTIONS.name in allowed,
        can_inspect=INSPECT.name in allowed,
        can_rectify=RECTIFY.name in allowed,
        sees_drafts=INSPECT.name in allowed or hq_may(user, VIEW_INSPECTIONS),
    )


def store_for_inspections_or_403(*, user: Any, store_id: int) -> tuple[Store, InspectionAccess]:
    """The store if the user may VIEW_INSPECTIONS there (PermissionDenied otherwise, also for an
    unknown id), with what else they may do."""
    store = store_or_403(user, store_id, VIEW_INSPECTIONS)
    return store, inspection_access(user=user, store_id=store.pk)


def inspection_for_user_or_403(
    *, user: Any, inspection_id: int
) -> tuple[Inspection, InspectionAccess]:
    inspection = (
        Inspection.objects.select_related(
            "store", "store__region", "template", "inspector", "reviewed_by"
        )
        .filter(pk=inspection_id)
        .first()
    )
    if inspection is None:
        raise PermissionDenied
    access = inspection_access(user=user, store_id=inspection.store_id)
    if not access.can_view_inspection(inspection):
        raise PermissionDenied
    return inspection, access


def photo_for_user_or_403(*, user: Any, photo_id: int) -> InspectionPhoto:
    """The photo if this user may see its inspection; PermissionDenied otherwise (also for
    unknown ids)."""
    photo = InspectionPhoto.objects.select_related("inspection").filter(pk=photo_id).first()
    if photo is None:
        raise PermissionDenied
    access = inspection_access(user=user, store_id=photo.inspection.store_id)
    if not access.can_view_inspection(photo.inspection):
        raise PermissionDenied
    return photo


def inspection_results(*, inspection: Inspection) -> list[InspectionItemResult]:
    """Item results in checklist order, each with its photos (two queries in all)."""
    return list(
        InspectionItemResult.objects.filter(inspection=inspection)
        .select_related("item")
        .prefetch_related(
            Prefetch("photos", queryset=InspectionPhoto.objects.order_by("uploaded_at", "id"))
        )
        .order_by("order", "id")
    )


def inspection_save_by_key(*, inspection: Inspection, key: object) -> InspectionSave | None:
    """The save of the scoring page with this form key, if that page was saved."""
    return InspectionSave.objects.filter(inspection=inspection, key=key).first()


def inspection_general_photos(*, inspection: Inspection) -> list[InspectionPhoto]:
    """Photos of the inspection not tied to an item (and not a rectification photo)."""
    return list(
        InspectionPhoto.objects.filter(inspection=inspection, result__isnull=True)
        .exclude(
            pk__in=RectificationItem.objects.filter(
                inspection=inspection, done_photo__isnull=False
            ).values("done_photo")
        )
        .order_by("uploaded_at", "id")
    )


def inspection_rectifications(*, inspection: Inspection) -> list[RectificationItem]:
    return list(
        RectificationItem.objects.filter(inspection=inspection)
        .select_related("result", "done_by", "done_photo")
        .order_by("due_date", "id")
    )


def store_inspections(
    *, store: Store, access: InspectionAccess, limit: int = 30
) -> list[Inspection]:
    """The store's latest inspections this user may see (owners: not drafts)."""
    inspections = Inspection.objects.filter(store=store).select_related("inspector", "template")
    if not access.sees_drafts:
        inspections = inspections.exclude(status=Status.DRAFT)
    return list(inspections.order_by("-started_at", "-id")[:limit])


def store_open_rectifications(*, store: Store) -> list[RectificationItem]:
    """Open items of the store, the most urgent first (overdue ones come first by date)."""
    return list(
        RectificationItem.objects.filter(
            inspection__store=store, status=RectificationItem.Status.OPEN
        )
        .select_related("inspection", "result")
        .order_by("due_date", "id")
    )


@dataclass(frozen=True)
class ScorePoint:
    inspection_id: int
    submitted_at: dt.datetime
    score: Decimal

    @property
    def passed(self) -> bool | None:
        return score_passes(self.score)


def store_score_history(*, store: Store, limit: int = 24) -> list[ScorePoint]:
    """Scores of the store's submitted inspections, oldest first (the last `limit`)."""
    rows = (
        Inspection.objects.filter(store=store)
        .exclude(status=Status.DRAFT)
        .order_by("-submitted_at", "-id")
        .values_list("pk", "submitted_at", "score")[:limit]
    )
    return [ScorePoint(pk, submitted_at, score) for pk, submitted_at, score in reversed(rows)]


def rectifications_overdue(
    *, today: dt.date | None = None, store_ids: list[int] | None = None
) -> QuerySet[RectificationItem]:
    """Open items past their due date (overdue is derived, never stored)."""
    items = RectificationItem.objects.filter(
        status=RectificationItem.Status.OPEN, due_date__lt=today or timezone.localdate()
    )
    if store_ids is not None:
        items = items.filter(inspection__store_id__in=store_ids)
    return items


def rectifications_overdue_count(*, today: dt.date | None = None) -> int:
    return rectifications_overdue(today=today).count()


@dataclass(frozen=True)
class StoreInspectionSummary:
    store: Store
    is_inspector: bool  # may INSPECT at this store
    last_score: Decimal | None
    last_submitted_at: dt.datetime | None
    draft_id: int | None
    open_rectifications: int
    overdue_rectifications: int

    @property
    def last_passed(self) -> bool | None:
        return score_passes(self.last_score)


def inspection_overview(*, user: Any, limit: int = 200) -> list[StoreInspectionSummary]:
    """One row per store the user may open, with the latest score, the user's open draft and
    the open / overdue rectification counts. A fixed number of queries, whatever the row count."""
    latest = (
        Inspection.objects.filter(store=OuterRef("pk"))
        .exclude(status=Status.DRAFT)
        .order_by("-submitted_at", "-id")
    )
    stores = list(
        stores_for(user, VIEW_INSPECTIONS)
        .select_related("region")
        .annotate(
            last_score=Subquery(latest.values("score")[:1]),
            last_submitted_at=Subquery(latest.values("submitted_at")[:1]),
        )
        .order_by("code")[:limit]
    )
    store_ids = [store.pk for store in stores]
    inspected = set(stores_for(user, INSPECT).filter(pk__in=store_ids).values_list("pk", flat=True))
    drafts = dict(
        Inspection.objects.filter(
            store_id__in=store_ids, inspector=user, status=Status.DRAFT
        ).values_list("store_id", "pk")
    )
    today = timezone.localdate()
    counts = {
        row["inspection__store_id"]: row
        for row in RectificationItem.objects.filter(
            inspection__store_id__in=store_ids, status=RectificationItem.Status.OPEN
        )
        .values("inspection__store_id")
        .annotate(open=Count("pk"), overdue=Count("pk", filter=Q(due_date__lt=today)))
    }
    return [
        StoreInspectionSummary(
            store=store,
            is_inspector=store.pk in inspected,
            last_score=store.last_score,
            last_submitted_at=store.last_submitted_at,
            draft_id=drafts.get(store.pk),
            open_rectifications=counts.get(store.pk, {}).get("open", 0),
            overdue_rectifications=counts.get(store.pk, {}).get("overdue", 0),
        )
        for store in stores
    ]
