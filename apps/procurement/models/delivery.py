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
        """The purchase order, the store and the product: what HQ and the supplier call the
        line by (follows three foreign keys: select `receipt__purchase_order`,
        `receipt__store` and `allocation__line__product` when listing many)."""
        return " · ".join(
            (
                self.receipt.purchase_order.number,
                self.receipt.store.code,
                self.allocation.line.product.name,
            )
        )

    @property
    def arrived_quantity(self) -> int:
        """What arrived at the store as it recorded it: received in good order + damaged
        (damaged units did arrive). What a supplier's dispute contradicts."""
        return self.received_quantity + self.damaged_quantity

    @property
    def shipped_quantity(self) -> int:
        """What the supplier was to deliver to the store on this line: the allocation less the
        store's part of the supplier's reported shortage, plus the shelf units as they stood
        when received. Load `allocation`."""
        return (
            self.allocated_quantity - self.allocation.reported_short_quantity + self.shelf_quantity
        )

    @property
    def may_be_disputed(self) -> bool:
        """Whether a supplier's dispute can claim anything here: only when the store recorded
        fewer than the supplier was to deliver (a dispute claims more than the store
        recorded, at most `shipped_quantity`). Load `allocation`."""
        return self.arrived_quantity < self.shipped_quantity


class ReceiptDispute(models.Model):
    """A supplier's disagreement with what a store recorded as delivered on one receipt line
    ("we delivered 40, the store says 36"), opened on the supplier's purchase-order page
    within `RECEIPT_DISPUTE_DAYS` of the receipt and answered by HQ in the admin
    (`services.disputes`). It changes neither the receipt nor the stock: HQ's answer says
    what follows (docs/delivery-and-receiving.md, "Disputes"). At most one open dispute per
    receipt line."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting HQ")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    receipt_line = models.ForeignKey(
        ReceiptLine,
        verbose_name=_("receipt line"),
        on_delete=models.PROTECT,
        related_name="disputes",
    )
    supplier = models.ForeignKey(
        "procurement.Supplier",
        verbose_name=_("supplier"),
        on_delete=models.PROTECT,
        related_name="receipt_disputes",
    )
    # What the store's receipt says arrived (received + damaged) when the dispute was opened,
    # and what the supplier says was delivered.
    recorded_quantity = models.PositiveIntegerField(_("delivered as recorded by the store"))
    claimed_quantity = models.PositiveIntegerField(_("delivered as the supplier says"))
    note = models.CharField(_("supplier's note"), max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("opened"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answer = models.CharField(_("HQ's answer"), max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("receipt dispute")
        verbose_name_plural = _("receipt disputes")
        ordering = ["-created_at", "-pk"]
        permissions = [("decide_receiptdispute", _("Can accept or reject receipt disputes"))]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["receipt_line"],
                condition=Q(status="open"),
                name="receipt_dispute_one_open_per_line",
            ),
            models.CheckConstraint(
                condition=~Q(claimed_quantity=F("recorded_quantity")),
                name="receipt_dispute_claims_a_difference",
            ),
            models.CheckConstraint(condition=~Q(note=""), name="receipt_dispute_has_note"),
            models.CheckConstraint(
                condition=Q(status="open") | (Q(resolved_at__isnull=False) & ~Q(answer="")),
                name="receipt_dispute_answered_when_resolved",
            ),
        ]

    def __str__(self) -> str:
        """The disputed receipt line's purchase order, store and product (see
        `ReceiptLine.__str__` for what to select when listing many)."""
        return str(self.receipt_line)
