"""Regional delivery (集单配送) and store receiving (docs/fulfilment.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DeliveryPlan(models.Model):
    """One region's consolidated delivery for one day: the stores to drop at, in order, and what
    each receives (the allocations of the purchase orders due that day, computed, not copied).
    Made idempotently by `delivery_plans_build` (one per region and day)."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        DISPATCHED = "dispatched", _("Dispatched")
        COMPLETED = "completed", _("Completed")

    region = models.ForeignKey(
        "stores.Region",
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        related_name="delivery_plans",
    )
    delivery_date = models.DateField(_("delivery date"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PLANNED
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery plan")
        verbose_name_plural = _("delivery plans")
        ordering = ["-delivery_date", "region"]
        constraints = [
            models.UniqueConstraint(
                fields=["region", "delivery_date"], name="delivery_plan_one_per_region_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region} {self.delivery_date}"


class DeliveryStop(models.Model):
    """One store on a delivery plan, in drop order."""

    plan = models.ForeignKey(
        DeliveryPlan,
        verbose_name=_("delivery plan"),
        on_delete=models.CASCADE,
        related_name="stops",
    )
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    sequence = models.PositiveSmallIntegerField(_("drop order"))
    units = models.PositiveIntegerField(_("units"), default=0)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery stop")
        verbose_name_plural = _("delivery stops")
        ordering = ["plan", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "store"], name="delivery_stop_unique"),
            models.UniqueConstraint(fields=["plan", "sequence"], name="delivery_stop_sequence"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} #{self.sequence}: {self.store_id}"


class Receipt(models.Model):
    """A store's receiving of one purchase order: one per purchase order and store, written
    once (`receipt_record`), with a line per allocation."""

    purchase_order = models.ForeignKey(
        "procurement.PurchaseOrder",
        verbose_name=_("purchase order"),
        on_delete=models.PROTECT,
        related_name="receipts",
    )
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    note = models.CharField(_("note"), max_length=300, blank=True, default="")

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "store"], name="receipt_one_per_order_store"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purchase_order.number} → {self.store.name}"


class ReceiptLine(models.Model):
    """What arrived of one allocation: received + short + damaged = allocated + the store's
    shelf units of the line's rounding surplus (`shelf_quantity`, as they stood when
    received)."""

    receipt = models.ForeignKey(
        Receipt, verbose_name=_("receipt"), on_delete=models.CASCADE, related_name="lines"
    )
    allocation = models.OneToOneField(
        "procurement.PurchaseOrderAllocation",
        verbose_name=_("allocation"),
        on_delete=models.PROTECT,
        related_name="receipt_line",
    )
    allocated_quantity = models.PositiveIntegerField(_("allocated"))
    shelf_quantity = models.PositiveIntegerField(_("for the shelf"), default=0)
    received_quantity = models.PositiveIntegerField(pgettext_lazy("quantity", "received"))
    short_quantity = models.PositiveIntegerField(_("short"), default=0)
    damaged_quantity = models.PositiveIntegerField(_("damaged"), default=0)

    class Meta:
        verbose_name = _("receipt line")
        verbose_name_plural = _("receipt lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    allocated_quantity=F("received_quantity")
                    + F("short_quantity")
                    + F("damaged_quantity")
                    - F("shelf_quantity")
                ),
                name="receipt_line_accounts_for_allocation_and_shelf",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.allocation_id}: {self.received_quantity}/{self.allocated_quantity}"
