"""Mobile store inspections (移动巡检): checklists, inspections, photos, rectification items.

Flow: an inspector assigned to a store starts a `draft` from the active checklist, scores every
item 0–10 and attaches photos, then submits. HQ reviews: approve, or request rectification with
items and due dates; the owner marks each item done with a note and a photo; when none is open
the inspection is `rectified` and HQ approves it, which closes it.

    draft → submitted → approved
                      → rectification_requested → rectified → closed
                                    ↑______________________|   (HQ may ask again)
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from linli.wording import labelled

ITEM_SCORE_MAX = 10
DEFAULT_PASS_SCORE = Decimal(80)


def pass_score() -> Decimal:
    """The pass line on the 0–100 inspection score (setting `INSPECTION_PASS_SCORE`)."""
    return Decimal(getattr(settings, "INSPECTION_PASS_SCORE", DEFAULT_PASS_SCORE))


def score_passes(score: Decimal | None) -> bool | None:
    """True when a score reaches the pass line (at the line passes), False below it, None when
    there is no score yet. Derived at read time, never stored: the label follows the setting."""
    if score is None:
        return None
    return Decimal(score) >= pass_score()


class ChecklistTemplate(models.Model):
    """A checklist edited by HQ. Exactly one template is active: new inspections use it.

    A template that inspections already use is not edited (its items are frozen in the admin);
    HQ makes a new version instead, so old scores keep meaning what they meant.
    """

    name = models.CharField(_("name"), max_length=80)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    active = models.BooleanField(
        _("active"), default=False, help_text=_("New inspections use the active checklist.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="checklist_name_version"),
            models.UniqueConstraint(
                fields=["active"], condition=Q(active=True), name="checklist_one_active"
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1),
                name="checklist_version_positive",
                violation_error_message=_("The version must be at least 1."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class ChecklistItem(models.Model):
    class Section(models.TextChoices):
        SHELF_DISPLAY = "shelf_display", _("Shelf display")
        FRESHNESS = "freshness", _("Freshness")
        HYGIENE = "hygiene", _("Hygiene")
        COLD_CHAIN = "cold_chain", _("Cold chain")
        PRICE_TAGS = "price_tags", _("Price tags")
        OTHER = "other", _("Other")

    template = models.ForeignKey(
        ChecklistTemplate,
        verbose_name=_("checklist"),
        on_delete=models.CASCADE,
        related_name="items",
    )
    section = models.CharField(_("section"), max_length=16, choices=Section.choices)
    title = models.CharField(_("title"), max_length=120)
    guidance = models.TextField(_("guidance"), blank=True, default="")
    weight = models.PositiveSmallIntegerField(
        _("weight"), default=1, help_text=_("How much this item counts in the score (1 or more).")
    )
    requires_photo = models.BooleanField(_("photo required"), default=False)
    order = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight__gte=1),
                name="checklist_item_weight_positive",
                violation_error_message=_("The weight must be at least 1."),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Inspection(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        # Approved by HQ's review, which says nothing about the score: in Chinese not "已通过"
        # (passed), which read as a pass next to a score below the pass line.
        APPROVED = "approved", pgettext_lazy("inspection status", "Approved")
        RECTIFICATION_REQUESTED = "rectification_requested", _("Rectification requested")
        RECTIFIED = "rectified", _("Rectified")
        CLOSED = "closed", _("Closed")

    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        related_name="inspections",
    )
    template = models.ForeignKey(
        ChecklistTemplate,
        verbose_name=_("checklist"),
        on_delete=models.PROTECT,
        related_name="inspections",
    )
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("inspector"),
        on_delete=models.PROTECT,
        related_name="inspections",
    )
    status = models.CharField(
        _("status"), max_length=24, choices=Status.choices, default=Status.DRAFT
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    score = models.DecimalField(
        _("score"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Weighted average of the item scores, 0–100."),
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True, default="")

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["store", "submitted_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=100),
                name="inspection_score_range",
            ),
            # Everything past the draft has been submitted and scored.
            models.CheckConstraint(
                condition=Q(status="draft") | Q(submitted_at__isnull=False, score__isnull=False),
                name="inspection_submitted_has_score",
            ),
            # A double tap on "start" reuses the open draft instead of making a second one.
            models.UniqueConstraint(
                fields=["store", "inspector"],
                condition=Q(status="draft"),
                name="inspection_one_draft_per_store_inspector",
            ),
        ]

    def __str__(self) -> str:
        started = timezone.localtime(self.started_at)
        return f"{self.store.name} {started:%Y-%m-%d} {self.get_status_display()}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def passed(self) -> bool | None:
        """Whether the score reaches the pass line (None before it is scored). Independent of
        the review status: HQ approving an inspection does not make a low score pass."""
        return score_passes(self.score)


class InspectionItemResult(models.Model):
    """One checklist item scored in one inspection: 0 (fails completely) to 10 (perfect).

    Title, section and weight are copied from the checklist item when the inspection starts, so
    later edits to the checklist do not change what an old inspection meant.
    """

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="results"
    )
    item = models.ForeignKey(
        ChecklistItem, verbose_name=_("checklist item"), on_delete=models.PROTECT, related_name="+"
    )
    section = models.CharField(_("section"), max_length=16, choices=ChecklistItem.Section.choices)
    title = models.CharField(_("title"), max_length=120)
    weight = models.PositiveSmallIntegerField(_("weight"))
    requires_photo = models.BooleanField(_("photo required"), default=False)
    order = models.PositiveSmallIntegerField(_("position"), default=0)
    score = models.PositiveSmallIntegerField(_("score (0–10)"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True, default="")
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("inspection item result")
        verbose_name_plural = _("inspection item results")
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["inspection", "item"], name="inspection_result_unique"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=ITEM_SCORE_MAX),
                name="inspection_result_score_range",
            ),
            models.CheckConstraint(
                condition=Q(weight__gte=1), name="inspection_result_weight_positive"
            ),
        ]

    def __str__(self) -> str:
        return labelled(self.title, self.score if self.score is not None else "—")


def inspection_photo_path(instance: InspectionPhoto, filename: str) -> str:
    """A random storage name; the client's file name is never used (not even its extension)."""
    now = timezone.localtime()
    return f"inspections/{now:%Y}/{now:%m}/{uuid.uuid4().hex}.jpg"


class InspectionPhoto(models.Model):
    """A photo re-encoded by `apps.stores.inspections.images`: JPEG, no metadata, random name.

    Never served from MEDIA_URL: only through the access-checked photo view.
    """

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="photos"
    )
    result = models.ForeignKey(
        InspectionItemResult,
        verbose_name=_("item"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="photos",
    )
    image = models.FileField(_("image"), upload_to=inspection_photo_path, max_length=200)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    content_type = models.CharField(_("content type"), max_length=32)
    size_bytes = models.PositiveIntegerField(_("size (bytes)"))
    source_format = models.CharField(
        _("uploaded format"), max_length=8, help_text=_("What the upload was: JPEG, PNG or WEBP.")
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("inspection photo")
        verbose_name_plural = _("inspection photos")
        ordering = ["uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(width__gte=1, height__gte=1), name="inspection_photo_has_size"
            ),
            models.CheckConstraint(
                condition=Q(content_type__in=["image/jpeg", "image/png", "image/webp"]),
                name="inspection_photo_content_type",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inspection_id}/{self.pk} {self.width}×{self.height}"


class InspectionSave(models.Model):
    """One save of the scoring page (`inspection_results_save` with the form's key): the key
    may be used once per inspection, so a second submit of the same page (a double tap, a
    resent form, the back button) saves nothing again and adds no photo twice
    (docs/inspections.md). Inserted first in the save's transaction, under the inspection's
    row lock; a refused save rolls it back, leaving the key to the corrected form."""

    inspection = models.ForeignKey(
        Inspection, verbose_name=_("inspection"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.UUIDField(_("form key"))
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("saved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    saved_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("inspection page save")
        verbose_name_plural = _("inspection page saves")
        constraints = [
            models.UniqueConstraint(
                fields=["inspection", "key"], name="inspection_save_key_once_per_inspection"
            )
        ]

    def __str__(self) -> str:
        return f"{self.inspection_id} {self.saved_at:%Y-%m-%d %H:%M}"


class RectificationItem(models.Model):
    """Something HQ asks the store to fix by a due date. Overdue = open and past the due date
    (derived, never stored, so it cannot go stale)."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("rectification status", "Open")
        DONE = "done", _("Done")

    inspection = models.ForeignKey(
        Inspection,
        verbose_name=_("inspection"),
        on_delete=models.CASCADE,
        related_name="rectifications",
    )
    result = models.ForeignKey(
        InspectionItemResult,
        verbose_name=_("item"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rectifications",
    )
    description = models.TextField(_("what to fix"))
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    done_note = models.TextField(_("what was done"), blank=True, default="")
    done_photo = models.ForeignKey(
        InspectionPhoto,
        verbose_name=_("photo of the fix"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("rectification item")
        verbose_name_plural = _("rectification items")
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["status", "due_date"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", done_at__isnull=True)
                | Q(status="done", done_at__isnull=False),
                name="rectification_done_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(description=""), name="rectification_description_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return self.description[:40]

    def is_overdue_on(self, day: dt.date) -> bool:
        return self.status == self.Status.OPEN and self.due_date < day

    @property
    def is_overdue(self) -> bool:
        return self.is_overdue_on(timezone.localdate())
