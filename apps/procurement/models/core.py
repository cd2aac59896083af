from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from linli.wording import bracketed, labelled


class Supplier(models.Model):
    class Kind(models.TextChoices):
        FARM = "farm", _("Farm / orchard")
        FACTORY = "factory", _("Factory")
        DISTRIBUTOR = "distributor", _("Distributor")

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    contact_name = models.CharField(_("contact"), max_length=40, blank=True, default="")
    phone = models.CharField(_("phone"), max_length=16, blank=True, default="")
    province = models.CharField(_("province"), max_length=20, blank=True, default="")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        ordering = ["code"]
        permissions = [
            ("import_supplier", _("Can import suppliers")),
            ("export_supplier", _("Can export suppliers")),
            # The explicit permission to see a supplier's contact phone whole (DESIGN: phones
            # are masked to everyone without one); HQ procurement and operations hold it.
            ("view_supplier_phone", _("Can see suppliers' contact phones")),
        ]

    def __str__(self) -> str:
        return self.name


# The largest minimum order and pack size an offer may have: the supplier CSV import's
# bounds, also checked on the admin's forms (`SupplierProduct.clean`). A larger number is a
# typing error that consolidation would order as typed (or, near the integer columns' limit,
# fail the whole night's run for every supplier).
OFFER_MIN_ORDER_MAX = 1_000_000
OFFER_PACK_SIZE_MAX = 100_000


class SupplierProduct(models.Model):
    """What a supplier sells us, at what cost, how fast and in what packs."""

    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.CASCADE, related_name="offers"
    )
    product = models.ForeignKey(
        "catalog.Product",
        verbose_name=_("product"),
        on_delete=models.CASCADE,
        related_name="supplier_offers",
    )
    cost = models.DecimalField(_("cost (yuan)"), max_digits=10, decimal_places=2)
    lead_time_days = models.PositiveSmallIntegerField(_("lead time (days)"), default=1)
    min_order_qty = models.PositiveIntegerField(_("minimum order"), default=1)
    pack_size = models.PositiveIntegerField(_("pack size"), default=1)
    is_preferred = models.BooleanField(_("preferred"), default=True)

    class Meta:
        verbose_name = _("supplier product")
        verbose_name_plural = _("supplier products")
        constraints = [
            models.UniqueConstraint(fields=["supplier", "product"], name="supplier_product_unique"),
            models.CheckConstraint(
                condition=Q(cost__gte=Decimal("0")),
                name="supplier_cost_not_negative",
                violation_error_message=_("The cost cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(pack_size__gte=1),
                name="supplier_pack_size_positive",
                violation_error_message=_("The pack size must be at least 1."),
            ),
            models.CheckConstraint(
                condition=Q(min_order_qty__gte=1),
                name="supplier_min_order_positive",
                violation_error_message=_("The minimum order must be at least 1."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supplier} · {self.product}"

    def clean(self) -> None:
        super().clean()
        errors = {}
        if self.min_order_qty is not None and self.min_order_qty > OFFER_MIN_ORDER_MAX:
            errors["min_order_qty"] = _("At most %(limit)s.") % {"limit": OFFER_MIN_ORDER_MAX}
        if self.pack_size is not None and self.pack_size > OFFER_PACK_SIZE_MAX:
            errors["pack_size"] = _("At most %(limit)s.") % {"limit": OFFER_PACK_SIZE_MAX}
        if errors:
            raise ValidationError(errors)


class SupplierUser(models.Model):
    """A login that acts for a supplier on the supplier pages."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="supplier_roles",
    )
    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.CASCADE, related_name="users"
    )

    class Meta:
        verbose_name = _("supplier user")
        verbose_name_plural = _("supplier users")
        constraints = [
            models.UniqueConstraint(fields=["user", "supplier"], name="supplier_user_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.supplier}"


# --- purchasing: consolidation runs and purchase orders (docs/purchasing.md) -----------------


class ConsolidationRun(models.Model):
    """One consolidation at one cut-off, claimed by exactly one worker.

    The unique cut-off means two workers (or a second beat) cannot both run the same cut-off;
    a run left `running` by a crashed worker is reclaimed once it is stale (see
    `purchase_orders_consolidate`). Counts describe what this run consolidated: the purchase
    orders it created, the open ones of earlier runs it added to, and the lines its demand
    went to (new lines and lines that grew).
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        FINISHED = "finished", _("Finished")
        FAILED = "failed", _("Failed")

    cutoff = models.DateTimeField(_("cut-off"), unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    source_line_count = models.PositiveIntegerField(_("order lines consolidated"), default=0)
    unsupplied_line_count = models.PositiveIntegerField(
        _("order lines without a preferred supplier"), default=0
    )
    purchase_order_count = models.PositiveIntegerField(_("purchase orders created"), default=0)
    purchase_order_updated_count = models.PositiveIntegerField(
        _("purchase orders added to"), default=0
    )
    purchase_order_line_count = models.PositiveIntegerField(
        _("purchase order lines created or added to"), default=0
    )
    error = models.CharField(_("error"), max_length=300, blank=True, default="")

    class Meta:
        verbose_name = _("consolidation run")
        verbose_name_plural = _("consolidation runs")
        ordering = ["-cutoff"]

    def __str__(self) -> str:
        return bracketed(
            f"{timezone.localtime(self.cutoff):%Y-%m-%d %H:%M}", self.get_status_display()
        )


class PurchaseOrder(models.Model):
    """What HQ orders from one supplier for one delivery date.

    Consolidated orders are made by a run and sent at once; `run` is the run that made one. A
    later run adds to the open (sent, not yet confirmed) consolidated order of the same supplier
    and delivery date instead of making another (`updated_at`, `revision`), so there is at
    most one open consolidated order per supplier and delivery date. Orders HQ makes by hand
    and replenishment drafts start as drafts (`run` empty).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SENT = "sent", _("Sent to supplier")
        CONFIRMED = "confirmed", _("Confirmed by supplier")
        SHIPPED = "shipped", _("Shipped")
        CANCELLED = "cancelled", pgettext_lazy("purchase order status", "Cancelled")

    number = models.CharField(_("number"), max_length=40, unique=True)
    supplier = models.ForeignKey(
        Supplier,
        verbose_name=_("supplier"),
        on_delete=models.PROTECT,
        related_name="purchase_orders",
    )
    run = models.ForeignKey(
        ConsolidationRun,
        verbose_name=_("consolidation run"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="purchase_orders",
    )
    delivery_date = models.DateField(_("delivery date"))
    # Set on drafts made from the decision engine's suggestions: the forecasts' issue day.
    replenishment_of = models.DateField(_("replenishment for"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    has_shortage = models.BooleanField(_("shortage reported"), default=False)
    shortage_note = models.CharField(_("shortage note"), max_length=300, blank=True, default="")
    ship_date = models.DateField(_("ship date"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    # Set when a later consolidation run added to this (still open) order.
    updated_at = models.DateTimeField(_("last updated"), null=True, blank=True)
    # One more each time a consolidation run adds to the order: the supplier's confirmation
    # names the revision it saw, so lines added after the page was opened are never
    # confirmed unseen.
    revision = models.PositiveIntegerField(_("revision"), default=1)
    acted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last acted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        ordering = ["-delivery_date", "-pk"]
        indexes = [models.Index(fields=["supplier", "delivery_date"])]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "delivery_date", "run"],
                condition=Q(run__isnull=False),
                name="purchase_order_one_per_run",
            ),
            # What a run adds to: the one open consolidated order of a supplier and day.
            models.UniqueConstraint(
                fields=["supplier", "delivery_date"],
                condition=Q(run__isnull=False, status="sent"),
                name="purchase_order_one_open_consolidation",
            ),
            models.UniqueConstraint(
                fields=["supplier", "delivery_date", "replenishment_of"],
                condition=Q(replenishment_of__isnull=False),
                name="purchase_order_one_replenishment_per_day",
            ),
            models.CheckConstraint(
                condition=Q(ship_date__isnull=True)
                | Q(status__in=["confirmed", "shipped", "cancelled"]),
                name="purchase_order_ship_date_when_confirmed",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["confirmed", "shipped"]) | Q(ship_date__isnull=False),
                name="purchase_order_confirmed_has_ship_date",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(sent_at__isnull=False) | Q(status="cancelled"),
                name="purchase_order_sent_has_sent_at",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class PurchaseOrderLine(models.Model):
    """One product on a purchase order: what the stores asked for (`demanded_quantity`) and
    what is ordered, rounded up to whole packs and at least the minimum order; the difference
    is the rounding surplus, which goes on the stores' shelves (`selectors.shelf`)."""

    purchase_order = models.ForeignKey(
        PurchaseOrder,
        verbose_name=_("purchase order"),
        on_delete=models.CASCADE,
        related_name="lines",
    )
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    demanded_quantity = models.PositiveIntegerField(_("demanded"))
    ordered_quantity = models.PositiveIntegerField(_("ordered"))
    surplus_quantity = models.PositiveIntegerField(_("rounding surplus"), default=0)
    shortage_quantity = models.PositiveIntegerField(_("short"), default=0)
    # Units the stores found damaged at receiving (beyond what the supplier reported short:
    # `receipt_record`), kept apart from `shortage_quantity` so that each unit counts once,
    # under its kind; a database default, as consolidation inserts lines with INSERT ... SELECT.
    damaged_quantity = models.PositiveIntegerField(_("damaged at receiving"), db_default=0)
    # The part of `shortage_quantity` that stores found at receiving beyond what the supplier
    # reported (`receipt_record`): the supplier's report is the rest. The shelf units are
    # computed from the report only, so what one store finds missing does not move another
    # store's shelf units. A database default, as consolidation inserts lines with INSERT ...
    # SELECT.
    receiving_short_quantity = models.PositiveIntegerField(
        _("short found at receiving"), db_default=0
    )
    pack_size = models.PositiveIntegerField(_("pack size"), default=1)
    min_order_qty = models.PositiveIntegerField(_("minimum order"), default=1)
    unit_cost = models.DecimalField(_("unit cost (yuan)"), max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = _("purchase order line")
        verbose_name_plural = _("purchase order lines")
        ordering = ["purchase_order", "product"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_order", "product"], name="purchase_order_line_unique"
            ),
            models.CheckConstraint(
                condition=Q(ordered_quantity__gte=models.F("demanded_quantity")),
                name="purchase_order_line_covers_demand",
            ),
            models.CheckConstraint(
                condition=Q(
                    surplus_quantity=models.F("ordered_quantity") - models.F("demanded_quantity")
                ),
                name="purchase_order_line_surplus",
            ),
            models.CheckConstraint(
                condition=Q(shortage_quantity__lte=models.F("ordered_quantity")),
                name="purchase_order_line_shortage_within_order",
            ),
            models.CheckConstraint(
                condition=Q(damaged_quantity__lte=models.F("ordered_quantity")),
                name="purchase_order_line_damaged_within_order",
            ),
            models.CheckConstraint(
                condition=Q(pack_size__gte=1) & Q(min_order_qty__gte=1),
                name="purchase_order_line_terms_positive",
            ),
            models.CheckConstraint(
                condition=Q(unit_cost__gte=Decimal("0")), name="purchase_order_line_cost"
            ),
        ]

    def __str__(self) -> str:
        return labelled(
            self.purchase_order.number, f"{self.product.name} × {self.ordered_quantity}"
        )

    # The line's money (docs/purchasing.md, "What the order is worth"): what was ordered, the
    # part of it that will not come (`shortage_quantity`: reported by the supplier and found
    # missing at receiving) and what is left to deliver and invoice. Damaged units did arrive
    # and stay in the amount to deliver; after-sales cases settle them.
    @property
    def amount(self) -> Decimal:
        return (self.ordered_quantity * self.unit_cost).quantize(Decimal("0.01"))

    @property
    def short_amount(self) -> Decimal:
        return (self.shortage_quantity * self.unit_cost).quantize(Decimal("0.01"))

    @property
    def to_deliver_quantity(self) -> int:
        return self.ordered_quantity - self.shortage_quantity

    @property
    def to_deliver_amount(self) -> Decimal:
        return (self.to_deliver_quantity * self.unit_cost).quantize(Decimal("0.01"))


class PurchaseOrderAllocation(models.Model):
    """How much of a purchase order line goes to one store (what its orders asked for), and
    how much of it will not come because the supplier reported the line short
    (`reported_short_quantity`, set by `services.allocations.allocations_short_update`)."""

    # No index of its own: the (line, store) unique constraint's index serves line lookups.
    line = models.ForeignKey(
        PurchaseOrderLine,
        verbose_name=_("purchase order line"),
        on_delete=models.CASCADE,
        related_name="allocations",
        db_index=False,
    )
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    # The store's part of the line's reported shortage beyond the rounding surplus; a database
    # default, as consolidation inserts these rows with INSERT ... SELECT.
    reported_short_quantity = models.PositiveIntegerField(
        _("short (reported by supplier)"), db_default=0
    )

    class Meta:
        verbose_name = _("purchase order allocation")
        verbose_name_plural = _("purchase order allocations")
        constraints = [
            models.UniqueConstraint(fields=["line", "store"], name="purchase_allocation_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="purchase_allocation_positive"
            ),
            models.CheckConstraint(
                condition=Q(reported_short_quantity__lte=models.F("quantity")),
                name="purchase_allocation_short_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line.product.name} → {self.store.name}: {self.quantity}"

    @property
    def to_ship_quantity(self) -> int:
        """What the supplier will actually deliver to the store for its member orders."""
        return self.quantity - self.reported_short_quantity

    # The store's share of the line's rounding surplus, for the shelf: not a column, computed
    # on every read and set by `selectors.shelf.shelf_quantities_attach` (0 until then).
    shelf_quantity = 0

    @property
    def delivered_quantity(self) -> int:
        """What the supplier will deliver to the store: for its member orders and for the
        shelf. Needs `shelf_quantities_attach`."""
        return self.to_ship_quantity + self.shelf_quantity

    @property
    def receipt_quantity(self) -> int:
        """What the store's receipt accounts for (received + short + damaged): the allocation
        and the shelf units. Needs `shelf_quantities_attach`."""
        return self.quantity + self.shelf_quantity


class PurchaseOrderSource(models.Model):
    """The link from a purchase order line back to one member order line.

    Unique per order line: a source line is consolidated exactly once (the idempotency guard of
    consolidation). `cancelled_at` is set when the member order was cancelled before the
    supplier confirmed and the line was reduced. The store is the order's (not copied here:
    one column and one foreign-key check less on each of the most-written rows).
    """

    line = models.ForeignKey(
        PurchaseOrderLine,
        verbose_name=_("purchase order line"),
        on_delete=models.CASCADE,
        related_name="sources",
    )
    # The order line is the primary key: one link per order line, and one index (and no id
    # sequence) less on the most-written rows of consolidation.
    order_line = models.OneToOneField(
        "stores.OrderLine",
        verbose_name=_("order line"),
        on_delete=models.PROTECT,
        related_name="purchase_source",
        primary_key=True,
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    # Set by store receiving when the allocation came short or damaged and this member order
    # line bears part of it (`receipt_record`); a database default, as consolidation inserts
    # these rows with INSERT ... SELECT.
    short_quantity = models.PositiveIntegerField(_("short at receiving"), db_default=0)
    # Of `short_quantity`, the units that arrived damaged (the rest did not arrive at all):
    # receiving opens a "damaged" after-sales case for these and a "missing" one for the rest.
    damaged_quantity = models.PositiveIntegerField(_("of which damaged at receiving"), db_default=0)

    class Meta:
        verbose_name = _("purchase order source line")
        verbose_name_plural = _("purchase order source lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="purchase_source_positive"),
            models.CheckConstraint(
                condition=Q(short_quantity__lte=models.F("quantity")),
                name="purchase_source_short_within_quantity",
                violation_error_message=_("The units short cannot exceed the line's units."),
            ),
            models.CheckConstraint(
                condition=Q(damaged_quantity__lte=models.F("short_quantity")),
                name="purchase_source_damaged_within_short",
                violation_error_message=_(
                    "The damaged units are part of the units short and cannot exceed them."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_line_id} → {self.line_id}"


class PurchaseOrderException(models.Model):
    """Something that could not be applied to a purchase order because the supplier had
    already confirmed it (a member order cancelled after confirmation), kept for HQ."""

    class Kind(models.TextChoices):
        CANCELLED_AFTER_CONFIRMATION = (
            "cancelled_after_confirmation",
            _("Cancelled after confirmation"),
        )

    purchase_order = models.ForeignKey(
        PurchaseOrder,
        verbose_name=_("purchase order"),
        on_delete=models.CASCADE,
        related_name="exceptions",
    )
    line = models.ForeignKey(
        PurchaseOrderLine,
        verbose_name=_("purchase order line"),
        on_delete=models.CASCADE,
        related_name="exceptions",
    )
    order_line = models.ForeignKey(
        "stores.OrderLine", verbose_name=_("order line"), on_delete=models.PROTECT, related_name="+"
    )
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    quantity = models.PositiveIntegerField(_("quantity"))
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("purchase order exception")
        verbose_name_plural = _("purchase order exceptions")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order_line", "kind"], name="purchase_exception_once_per_line"
            ),
        ]

    def __str__(self) -> str:
        return labelled(self.purchase_order_id, f"{self.get_kind_display()} {self.quantity}")
