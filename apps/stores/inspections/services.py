"""Writes for inspections: checklists, the inspection lifecycle, photos, rectification.

Every status change locks the inspection row (`select_for_update`) and checks the status it
expects under that lock, so a double submit, two HQ reviewers or an owner and a reviewer acting
at once cannot move an inspection twice. Lock order is always inspection, then its rows.

Photos are validated and re-encoded (`images.photo_process`) before any row is written: a refused
upload leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext, pgettext

from apps.stores.access import INSPECT, RECTIFY, may
from apps.stores.inspections.images import PhotoRejected, ProcessedPhoto, photo_process
from apps.stores.inspections.models import ITEM_SCORE_MAX
from apps.stores.models import (
    ChecklistItem,
    ChecklistTemplate,
    Inspection,
    InspectionItemResult,
    InspectionPhoto,
    InspectionSave,
    RectificationItem,
    Store,
)
from linli.wording import status_in_sentence

SCORE_PLACES = Decimal("0.01")
DEFAULT_MAX_PHOTOS_PER_INSPECTION = 60

Status = Inspection.Status


# --- scores ---------------------------------------------------------------------------------


def score_weighted(pairs: Iterable[tuple[int, int]]) -> Decimal:
    """Weighted average of item scores, on 0–100 with two decimals (half up).

    `pairs` are (weight, score 0–10): score = Σ(weight × score) / Σ(weight) × 10.
    """
    pairs = list(pairs)
    total_weight = sum(weight for weight, _score in pairs)
    if total_weight <= 0:
        raise ValueError("score_weighted needs at least one item with a positive weight")
    weighted = sum(weight * score for weight, score in pairs)
    value = Decimal(weighted) * 100 / (Decimal(total_weight) * ITEM_SCORE_MAX)
    return value.quantize(SCORE_PLACES, rounding=ROUND_HALF_UP)


# --- checklists -----------------------------------------------------------------------------


DEFAULT_CHECKLIST_NAME = gettext_noop("Standard store inspection")
DEFAULT_CHECKLIST: tuple[tuple[str, str, str, int, bool], ...] = (
    # section, title, guidance, weight, requires_photo
    (
        ChecklistItem.Section.SHELF_DISPLAY,
        gettext_noop("Shelves full and faced"),
        gettext_noop("Front rows filled, labels facing out, no gaps on the hot list."),
        3,
        True,
    ),
    (
        ChecklistItem.Section.FRESHNESS,
        gettext_noop("Fruit and vegetables fresh"),
        gettext_noop("No bruised or mouldy produce on display; yesterday's stock marked down."),
        3,
        True,
    ),
    (
        ChecklistItem.Section.FRESHNESS,
        gettext_noop("No expired packaged goods"),
        gettext_noop("Check ten random items for their best-before date."),
        2,
        False,
    ),
    (
        ChecklistItem.Section.HYGIENE,
        gettext_noop("Floor, counters and scales clean"),
        "",
        2,
        True,
    ),
    (
        ChecklistItem.Section.COLD_CHAIN,
        gettext_noop("Chillers at 0–8 °C, freezers at −18 °C or colder"),
        gettext_noop("Read the thermometer of every unit; doors close by themselves."),
        3,
        True,
    ),
    (
        ChecklistItem.Section.PRICE_TAGS,
        gettext_noop("Price tags match the till"),
        gettext_noop("Scan five tagged items and compare."),
        2,
        False,
    ),
    (
        ChecklistItem.Section.OTHER,
        gettext_noop("Staff in uniform, greeting customers"),
        "",
        1,
        False,
    ),
)


def checklist_template_ensure_default() -> ChecklistTemplate | None:
    """Create and activate a standard checklist if there is no checklist at all (for fresh
    installs and demo data). Idempotent: returns None and changes nothing once any exists."""
    with transaction.atomic():
        if ChecklistTemplate.objects.exists():
            return None
        # Stored in the language active when it is created (zh-hans by default); from then on
        # it is HQ's own text.
        template = ChecklistTemplate.objects.create(
            name=_(DEFAULT_CHECKLIST_NAME), version=1, active=True
        )
        ChecklistItem.objects.bulk_create(
            ChecklistItem(
                template=template,
                section=section,
                title=_(title),
                guidance=_(guidance) if guidance else "",
                weight=weight,
                requires_photo=requires_photo,
                order=(index + 1) * 10,
            )
            for index, (section, title, guidance, weight, requires_photo) in enumerate(
                DEFAULT_CHECKLIST
            )
        )
    return template


def checklist_template_activate(*, template: ChecklistTemplate) -> ChecklistTemplate:
    """Make `template` the one active checklist (the previous one is deactivated)."""
    if not template.items.exists():
        raise ValidationError(_("A checklist without items cannot be activated."))
    with transaction.atomic():
        ChecklistTemplate.objects.filter(active=True).exclude(pk=template.pk).update(active=False)
        ChecklistTemplate.objects.filter(pk=template.pk).update(active=True)
    template.refresh_from_db()
    return template


def checklist_template_new_version(*, template: ChecklistTemplate) -> ChecklistTemplate:
    """Copy a checklist with its items into the next version (inactive), for HQ to edit while
    inspections keep pointing at the version they used."""
    with transaction.atomic():
        # Lock the versions of this name so two copies cannot take the same number.
        list(ChecklistTemplate.objects.select_for_update().filter(name=template.name))
        latest = ChecklistTemplate.objects.filter(name=template.name).aggregate(
            latest=Max("version")
        )["latest"]
        copy = ChecklistTemplate.objects.create(
            name=template.name, version=(latest or 0) + 1, active=False
        )
        ChecklistItem.objects.bulk_create(
            ChecklistItem(
                template=copy,
                section=item.section,
                title=item.title,
                guidance=item.guidance,
                weight=item.weight,
                requires_photo=item.requires_photo,
                order=item.order,
            )
            for item in template.items.all()
        )
    return copy


# --- inspections ----------------------------------------------------------------------------


def _locked(inspection: Inspection) -> Inspection:
    return Inspection.objects.select_for_update().get(pk=inspection.pk)


def _require_draft_of(inspection: Inspection, *, by: Any) -> None:
    if inspection.inspector_id != by.pk:
        raise PermissionDenied(_("Only the inspector who started this inspection can change it."))
    if inspection.status != Status.DRAFT:
        raise ValidationError(
            _("This inspection has been submitted and can no longer be changed."), code="locked"
        )


def inspection_start(*, store: Store, inspector: Any) -> tuple[Inspection, bool]:
    """Start an inspection of `store` from the active checklist, or return the inspector's open
    draft for that store (a double tap starts nothing new). Returns (inspection, created).

    Only an inspector assigned to the store may start one (PermissionDenied otherwise).
    """
    if not may(inspector, INSPECT, store.pk):
        raise PermissionDenied(_("You are not an inspector of this store."))
    existing = Inspection.objects.filter(
        store=store, inspector=inspector, status=Status.DRAFT
    ).first()
    if existing is not None:
        return existing, False
    template = ChecklistTemplate.objects.filter(active=True).first()
    if template is None:
        raise ValidationError(_("There is no active checklist yet. Ask HQ to activate one."))
    items = list(template.items.all())
    if not items:
        raise ValidationError(_("The active checklist has no items. Ask HQ to add some."))
    try:
        with transaction.atomic():
            inspection = Inspection.objects.create(
                store=store, template=template, inspector=inspector, started_at=timezone.now()
            )
            InspectionItemResult.objects.bulk_create(
                InspectionItemResult(
                    inspection=inspection,
                    item=item,
                    section=item.section,
                    title=item.title,
                    weight=item.weight,
                    requires_photo=item.requires_photo,
                    order=item.order,
                )
                for item in items
            )
    except IntegrityError:
        # Lost a race with a concurrent start: the draft it made is ours too.
        return Inspection.objects.get(store=store, inspector=inspector, status=Status.DRAFT), False
    return inspection, True


def inspection_result_save(
    *,
    result: InspectionItemResult,
    by: Any,
    score: int | None,
    note: str = "",
    upload: IO[bytes] | Any | None = None,
) -> InspectionPhoto | None:
    """Score one item (0–10, or None to clear) with a note and optionally one photo, while the
    inspection is a draft of `by`. The photo is validated before anything is written, so a
    refused photo (PhotoRejected) leaves the score unchanged too. Returns the new photo, if any.
    """
    if score is not None and not 0 <= score <= ITEM_SCORE_MAX:
        raise ValidationError(
            _("A score is a whole number from 0 to %(max)d.") % {"max": ITEM_SCORE_MAX},
            code="score_range",
        )
    processed = photo_process(upload) if upload is not None else None
    with _files_removed_on_error() as written, transaction.atomic():
        inspection = _locked(result.inspection)
        _require_draft_of(inspection, by=by)
        InspectionItemResult.objects.filter(pk=result.pk, inspection=inspection).update(
            score=score, note=note.strip(), updated_at=timezone.now()
        )
        photo = None
        if processed is not None:
            _require_photo_room(inspection)
            photo = _photo_store(
                inspection=inspection, processed=processed, by=by, written=written, result=result
            )
    result.refresh_from_db()
    return photo


@dataclass(frozen=True)
class ResultEntry:
    """What the scoring page sent for one item: its score (None = not scored), note and an
    optional new photo."""

    result_id: int
    score: int | None
    note: str = ""
    upload: IO[bytes] | Any | None = None


@dataclass(frozen=True)
class ResultsSaved:
    """What `inspection_results_save` changed, for the page to say."""

    changed: list[str]  # titles of the items whose score or note changed, in checklist order
    photos_added: int
    photos_removed: int
    scored: int  # items with a score after the save
    total: int

    @property
    def anything(self) -> bool:
        return bool(self.changed or self.photos_added or self.photos_removed)


class PhotosRejected(ValidationError):
    """One or more photos of a save were refused; nothing was written. `by_result` maps the
    item's result id (None: the photo for the inspection as a whole) to the reason."""

    def __init__(self, by_result: dict[int | None, PhotoRejected]) -> None:
        super().__init__(list(by_result.values()))
        self.by_result = by_result


class InspectionSaveRepeated(Exception):
    """The scoring page's key was already used on this inspection: that page was saved before
    (`save`) and nothing was written now."""

    def __init__(self, save: InspectionSave) -> None:
        super().__init__(f"inspection page {save.key} already saved")
        self.save = save


def inspection_results_save(
    *,
    inspection: Inspection,
    by: Any,
    entries: Sequence[ResultEntry],
    other_upload: IO[bytes] | Any | None = None,
    remove_photo_ids: Iterable[int] = (),
    key: uuid.UUID | None = None,
) -> ResultsSaved:
    """Save everything the scoring page sent in one go: every item's score and note, a new photo
    per item, a photo for the inspection as a whole, and photos to remove, while the inspection
    is a draft of `by`.

    All or nothing: every photo is validated before anything is written (PhotosRejected names
    each refused one), and the writes share one transaction under the inspection's row lock.
    Only items whose score or note differ from what is stored are written, so a page sending back
    unchanged values rewrites nothing. Photo ids of another inspection are ignored.

    With `key` (a UUID, the page's) the save is written **once per inspection and key**: an
    `InspectionSave` row is inserted first in the transaction, under the inspection's lock, so a
    second submit of the same page — a double tap, even one sent while the first is still open,
    which waits for the lock — raises InspectionSaveRepeated and writes nothing (no photo is
    added twice). A refused save rolls its key back with it.
    """
    for entry in entries:
        if entry.score is not None and not 0 <= entry.score <= ITEM_SCORE_MAX:
            raise ValidationError(
                _("A score is a whole number from 0 to %(max)d.") % {"max": ITEM_SCORE_MAX},
                code="score_range",
            )
    uploads: dict[int | None, IO[bytes] | Any] = {
        entry.result_id: entry.upload for entry in entries if entry.upload is not None
    }
    if other_upload is not None:
        uploads[None] = other_upload
    processed: dict[int | None, ProcessedPhoto] = {}
    rejected: dict[int | None, PhotoRejected] = {}
    for slot, upload in uploads.items():
        try:
            processed[slot] = photo_process(upload)
        except PhotoRejected as error:
            rejected[slot] = error
    if rejected:
        raise PhotosRejected(rejected)

    with _files_removed_on_error() as written, transaction.atomic():
        locked = _locked(inspection)
        if key is not None:
            _save_claim(inspection=locked, key=key, by=by)
        _require_draft_of(locked, by=by)
        results = {
            result.pk: result
            for result in InspectionItemResult.objects.filter(inspection=locked).order_by(
                "order", "id"
            )
        }
        unknown = [entry.result_id for entry in entries if entry.result_id not in results]
        if unknown:
            raise ValidationError(_("That item belongs to another inspection."), code="unknown")
        now = timezone.now()
        changed: list[InspectionItemResult] = []
        for entry in entries:
            result = results[entry.result_id]
            note = entry.note.strip()
            if (result.score, result.note) != (entry.score, note):
                result.score, result.note, result.updated_at = entry.score, note, now
                changed.append(result)
        InspectionItemResult.objects.bulk_update(changed, ["score", "note", "updated_at"])

        removed = _photos_delete(
            InspectionPhoto.objects.filter(inspection=locked, pk__in=list(remove_photo_ids))
        )
        if processed:
            _require_photo_room(locked, adding=len(processed))
        for slot, photo in processed.items():
            _photo_store(
                inspection=locked,
                processed=photo,
                by=by,
                written=written,
                result=None if slot is None else results[slot],
            )
    changed_ids = {result.pk for result in changed}
    return ResultsSaved(
        changed=[result.title for result in results.values() if result.pk in changed_ids],
        photos_added=len(processed),
        photos_removed=removed,
        scored=sum(1 for result in results.values() if result.score is not None),
        total=len(results),
    )


def _save_claim(*, inspection: Inspection, key: uuid.UUID, by: Any) -> None:
    """Insert the page's InspectionSave row; InspectionSaveRepeated when the key was used on
    this inspection. Call inside the save's transaction, with the inspection locked."""
    try:
        with transaction.atomic():
            InspectionSave.objects.create(inspection=inspection, key=key, saved_by=by)
    except IntegrityError:
        raise InspectionSaveRepeated(
            InspectionSave.objects.get(inspection=inspection, key=key)
        ) from None


@contextmanager
def _files_removed_on_error() -> Iterator[list[str]]:
    """Collects names of files written inside the block; if the block fails (so its transaction
    rolls back) they are deleted, leaving no file without a row. A file left behind by an outer
    transaction that rolls back later is unreachable: photos are served only through their row."""
    written: list[str] = []
    try:
        yield written
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise


def _photo_store(
    *,
    inspection: Inspection,
    processed: ProcessedPhoto,
    by: Any,
    written: list[str],
    result: InspectionItemResult | None = None,
) -> InspectionPhoto:
    """Write the file (random name from `upload_to`, the client's name is never used) and its
    row. Call inside the caller's transaction and `_files_removed_on_error` block."""
    photo = InspectionPhoto(
        inspection=inspection,
        result=result,
        width=processed.width,
        height=processed.height,
        content_type=processed.content_type,
        size_bytes=len(processed.content),
        source_format=processed.source_format,
        uploaded_by=by,
        uploaded_at=timezone.now(),
    )
    photo.image.save(f"photo.{processed.extension}", ContentFile(processed.content), save=False)
    written.append(photo.image.name)
    photo.save()
    return photo


def _max_photos() -> int:
    return int(
        getattr(settings, "INSPECTION_MAX_PHOTOS_PER_INSPECTION", DEFAULT_MAX_PHOTOS_PER_INSPECTION)
    )


def _require_photo_room(inspection: Inspection, *, adding: int = 1) -> None:
    """Call with the inspection row locked, so concurrent uploads cannot pass the cap together."""
    count = InspectionPhoto.objects.filter(inspection=inspection).count()
    if count >= _max_photos():
        raise ValidationError(
            _("This inspection already has %(count)d photos, the most allowed.")
            % {"count": _max_photos()},
            code="too_many_photos",
        )
    if count + adding > _max_photos():
        raise ValidationError(
            _(
                "An inspection can have at most %(max)d photos: this one has %(count)d, so "
                "add at most %(room)d more."
            )
            % {"max": _max_photos(), "count": count, "room": _max_photos() - count},
            code="too_many_photos",
        )


def inspection_photo_add(
    *,
    inspection: Inspection,
    by: Any,
    upload: IO[bytes] | Any,
    result: InspectionItemResult | None = None,
) -> InspectionPhoto:
    """Attach a photo (to one item, or to the inspection as a whole) while it is a draft of
    `by`. The upload is validated and re-encoded first (PhotoRejected: nothing is written)."""
    if result is not None and result.inspection_id != inspection.pk:
        raise ValidationError(_("That item belongs to another inspection."))
    processed = photo_process(upload)
    with _files_removed_on_error() as written, transaction.atomic():
        locked = _locked(inspection)
        _require_draft_of(locked, by=by)
        _require_photo_room(locked)
        return _photo_store(
            inspection=locked, processed=processed, by=by, written=written, result=result
        )


def _photos_delete(photos: QuerySet[InspectionPhoto]) -> int:
    """Delete the rows now and their files once the deletion has committed. Call inside the
    caller's transaction, with the inspection locked."""
    names = list(photos.values_list("image", flat=True))
    deleted, _rows = photos.delete()
    for name in names:
        transaction.on_commit(lambda name=name: default_storage.delete(name))
    return deleted


def inspection_photo_delete(*, photo: InspectionPhoto, by: Any) -> None:
    """Remove a photo from a draft of `by`. The file goes once the deletion has committed."""
    with transaction.atomic():
        inspection = _locked(photo.inspection)
        _require_draft_of(inspection, by=by)
        _photos_delete(InspectionPhoto.objects.filter(pk=photo.pk))


def inspection_submit(*, inspection: Inspection, by: Any) -> Inspection:
    """Submit a draft for HQ review: every item scored, every photo-required item has a photo.
    Computes the weighted score. A second submit finds no draft and changes nothing."""
    with transaction.atomic():
        locked = _locked(inspection)
        _require_draft_of(locked, by=by)
        results = list(
            InspectionItemResult.objects.filter(inspection=locked)
            .annotate(photo_count=Count("photos"))
            .order_by("order", "id")
        )
        unscored = [result.title for result in results if result.score is None]
        if unscored:
            raise ValidationError(
                _("Score every item before submitting. Not scored yet: %(items)s.")
                % {"items": pgettext("list separator", ", ").join(unscored)},
                code="unscored",
            )
        missing_photo = [
            result.title for result in results if result.requires_photo and not result.photo_count
        ]
        if missing_photo:
            raise ValidationError(
                _("These items need a photo: %(items)s.")
                % {"items": pgettext("list separator", ", ").join(missing_photo)},
                code="photo_required",
            )
        score = score_weighted((result.weight, result.score) for result in results)
        now = timezone.now()
        Inspection.objects.filter(pk=locked.pk, status=Status.DRAFT).update(
            status=Status.SUBMITTED, submitted_at=now, score=score
        )
    inspection.refresh_from_db()
    return inspection


# --- HQ review ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RectificationRequest:
    description: str
    due_date: dt.date
    result: InspectionItemResult | None = None


def inspection_approve(*, inspection: Inspection, by: Any, note: str = "") -> Inspection:
    """HQ approves. A submitted inspection becomes `approved`; a rectified one (every item done)
    becomes `closed`. Refused while rectification items are still open."""
    with transaction.atomic():
        locked = _locked(inspection)
        next_status = {
            Status.SUBMITTED: Status.APPROVED,
            Status.RECTIFIED: Status.CLOSED,
        }.get(locked.status)
        if next_status is None:
            if locked.status == Status.RECTIFICATION_REQUESTED:
                open_count = locked.rectifications.filter(
                    status=RectificationItem.Status.OPEN
                ).count()
                raise ValidationError(
                    ngettext(
                        "%(count)d rectification item is still open.",
                        "%(count)d rectification items are still open.",
                        open_count,
                    )
                    % {"count": open_count},
                    code="rectification_open",
                )
            if locked.status == Status.DRAFT:
                raise ValidationError(_("The inspection has not been submitted yet."))
            raise ValidationError(_("The inspection has already been approved."))
        Inspection.objects.filter(pk=locked.pk, status=locked.status).update(
            status=next_status,
            reviewed_by=by,
            reviewed_at=timezone.now(),
            review_note=note.strip() or locked.review_note,
        )
    inspection.refresh_from_db()
    return inspection


def inspection_request_rectification(
    *,
    inspection: Inspection,
    by: Any,
    items: Sequence[RectificationRequest],
    note: str = "",
    today: dt.date | None = None,
) -> list[RectificationItem]:
    """HQ asks the store to fix `items` by their due dates. Allowed on a submitted inspection, and
    again on one already in rectification (more items) or rectified (the fix was not enough).
    All items are checked before any is written."""
    today = today or timezone.localdate()
    if not items:
        raise ValidationError(_("Add at least one item to fix."), code="no_items")
    errors: list[str] = []
    for number, item in enumerate(items, start=1):
        if not item.description.strip():
            errors.append(_("Item %(number)d: describe what to fix.") % {"number": number})
        if item.due_date < today:
            errors.append(
                _("Item %(number)d: the due date %(date)s is in the past.")
                % {"number": number, "date": item.due_date.isoformat()}
            )
        if item.result is not None and item.result.inspection_id != inspection.pk:
            errors.append(
                _("Item %(number)d: that checklist item belongs to another inspection.")
                % {"number": number}
            )
    if errors:
        raise ValidationError(errors, code="invalid_items")
    allowed = (Status.SUBMITTED, Status.RECTIFICATION_REQUESTED, Status.RECTIFIED)
    with transaction.atomic():
        locked = _locked(inspection)
        if locked.status not in allowed:
            raise ValidationError(
                _("Rectification cannot be requested for an inspection that is %(status)s.")
                % {"status": status_in_sentence(locked.get_status_display())},
                code="wrong_status",
            )
        now = timezone.now()
        created = RectificationItem.objects.bulk_create(
            RectificationItem(
                inspection=locked,
                result=item.result,
                description=item.description.strip(),
                due_date=item.due_date,
                created_by=by,
                created_at=now,
            )
            for item in items
        )
        Inspection.objects.filter(pk=locked.pk).update(
            status=Status.RECTIFICATION_REQUESTED,
            reviewed_by=by,
            reviewed_at=now,
            review_note=note.strip() or locked.review_note,
        )
    inspection.refresh_from_db()
    return created


# --- owner: rectification -------------------------------------------------------------------


def rectification_mark_done(
    *, rectification: RectificationItem, by: Any, note: str, upload: IO[bytes] | Any
) -> RectificationItem:
    """The store's owner marks an item fixed, with a note and a photo of the fix. When no item of
    the inspection is open any more, the inspection becomes `rectified` (HQ then approves it).
    Marking an item twice changes nothing the second time (ValidationError)."""
    if not note.strip():
        raise ValidationError(_("Say what was done."), code="note_required")
    inspection = rectification.inspection
    if not may(by, RECTIFY, inspection.store_id):
        raise PermissionDenied(_("Only the store's owner can mark rectification items done."))
    processed = photo_process(upload)
    with _files_removed_on_error() as written, transaction.atomic():
        locked = _locked(inspection)
        item = RectificationItem.objects.select_for_update().get(pk=rectification.pk)
        if item.status != RectificationItem.Status.OPEN:
            raise ValidationError(_("This item is already done."), code="already_done")
        if locked.status != Status.RECTIFICATION_REQUESTED:
            raise ValidationError(
                _("This inspection is not waiting for rectification."), code="wrong_status"
            )
        photo = _photo_store(
            inspection=locked, processed=processed, by=by, written=written, result=item.result
        )
        changed = RectificationItem.objects.filter(
            pk=item.pk, status=RectificationItem.Status.OPEN
        ).update(
            status=RectificationItem.Status.DONE,
            done_at=timezone.now(),
            done_by=by,
            done_note=note.strip(),
            done_photo=photo,
        )
        if changed != 1:  # pragma: no cover - the row lock above makes this unreachable
            raise ValidationError(_("This item is already done."), code="already_done")
        still_open = RectificationItem.objects.filter(
            inspection=locked, status=RectificationItem.Status.OPEN
        ).exists()
        if not still_open:
            Inspection.objects.filter(pk=locked.pk, status=Status.RECTIFICATION_REQUESTED).update(
                status=Status.RECTIFIED
            )
    rectification.refresh_from_db()
    return rectification
