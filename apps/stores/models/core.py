from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from linli.wording import bracketed, labelled


class Region(models.Model):
    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=60)
    city = models.CharField(_("city"), max_length=40)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]
        permissions = [
            ("import_region", _("Can import regions")),
            ("export_region", _("Can export regions")),
        ]

    def __str__(self) -> str:
        return f"{self.city} {self.name}"


class StoreQuerySet(models.QuerySet["Store"]):
    def trading(self) -> StoreQuerySet:
        """The stores open for trade: the query form of `Store.is_trading`, the one check."""
        return self.filter(status=Store.Status.OPEN)


class Store(models.Model):
    class Status(models.TextChoices):
        PREPARING = "preparing", _("Preparing")
        OPEN = "open", pgettext_lazy("store status", "Open")
        SUSPENDED = "suspended", _("Suspended")
        CLOSED = "closed", _("Closed")

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=80)
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="stores"
    )
    address = models.CharField(_("address"), max_length=200, blank=True, default="")
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN
    )
    opened_on = models.DateField(_("opened on"), null=True, blank=True)

    objects = StoreQuerySet.as_manager()

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["code"]
        permissions = [
            ("import_store", _("Can import stores")),
            ("export_store", _("Can export stores")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="store_latitude_range",
                violation_error_message=_("The latitude must be between -90 and 90."),
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="store_longitude_range",
                violation_error_message=_("The longitude must be between -180 and 180."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def is_trading(self) -> bool:
        """Open for trade: only an open store sells, takes group-buy joins or gets campaigns
        (campaigns and forecasts take open stores only). A preparing store has not opened,
        a suspended one is shut for now, a closed one for good; their terminals may read but
        not write (apps.stores.terminal_auth), and their insight cards are neither made nor
        accepted (docs/decisions.md). `Store.objects.trading()` is the same check in a query."""
        return self.status == self.Status.OPEN


class StoreStaff(models.Model):
    """Who works for a store: its owner(s), clerks, and the inspectors assigned to it."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        CLERK = "clerk", _("Clerk")
        INSPECTOR = "inspector", _("Inspector")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="store_roles",
    )
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="staff"
    )
    role = models.CharField(_("role"), max_length=12, choices=Role.choices)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("store staff")
        verbose_name_plural = _("store staff")
        constraints = [
            models.UniqueConstraint(fields=["user", "store", "role"], name="store_staff_unique"),
        ]

    def __str__(self) -> str:
        return bracketed(f"{self.user} @ {self.store.code}", self.get_role_display())


class StockLevel(models.Model):
    """On-hand quantity of a product in a store, kept in step with the ledger."""

    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="stock_levels"
    )
    product = models.ForeignKey(
        "catalog.Product",
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        related_name="stock_levels",
    )
    on_hand = models.IntegerField(_("on hand"), default=0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        permissions = [
            ("import_stocklevel", _("Can import stock levels")),
            ("export_stocklevel", _("Can export stock levels")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["store", "product"], name="stock_level_unique"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
        ]

    def __str__(self) -> str:
        return labelled(f"{self.store} · {self.product}", self.on_hand)


class LossReason(models.TextChoices):
    EXPIRED = "expired", _("Expired")
    SPOILED = "spoiled", _("Spoiled")
    DAMAGED = "damaged", _("Damaged")
    RECEIVING = "receiving", _("Damaged on arrival")
    THEFT = "theft", _("Theft / missing")
    OTHER = "other", pgettext_lazy("loss reason", "Other")


class StockMovement(models.Model):
    """The stock ledger: every change of on-hand is one signed row."""

    class Kind(models.TextChoices):
        SALE = "sale", _("Sale")
        RECEIPT = "receipt", _("Receipt")
        LOSS = "loss", _("Loss")
        ADJUSTMENT = "adjustment", _("Adjustment")
        RETURN = "return", _("Returned to stock")

    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="stock_movements"
    )
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    quantity = models.IntegerField(
        _("quantity"), help_text=_("Positive adds stock, negative removes it.")
    )
    order = models.ForeignKey(
        "stores.Order",
        verbose_name=_("order"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stock_movements",
    )
    # Why stock was lost (loss rows only; "" otherwise). A database default: the demo seed
    # and the stock import write movements with COPY / bulk inserts of their own columns.
    reason = models.CharField(
        _("loss reason"), max_length=12, choices=LossReason.choices, blank=True, db_default=""
    )
    note = models.CharField(_("note"), max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        indexes = [
            models.Index(fields=["store", "product", "created_at"]),
            # Newest first with ties by id: the admin's ledger list (one stock count or the
            # demo's opening receipts write thousands of rows with the same time).
            models.Index(fields=["created_at", "id"], name="movement_created_at_id_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="movement_quantity_not_zero"),
            models.CheckConstraint(
                condition=(
                    Q(kind="sale", quantity__lt=0)
                    | Q(kind="loss", quantity__lt=0)
                    | Q(kind="receipt", quantity__gt=0)
                    | Q(kind="return", quantity__gt=0)
                    | Q(kind="adjustment")
                ),
                name="movement_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind="loss") | Q(reason=""), name="movement_reason_only_for_loss"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity:+d}"


class LossBatch(models.Model):
    """One list of losses recorded at once from the portal (`losses_record` with a key), or one
    loss from the single form (`loss_record` with a key, a list of one): the form's key may be
    used once per store, so a second submit of the same form (a double tap, a resent form, the
    back button) records nothing again (docs/loss.md)."""

    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.UUIDField(_("form key"))
    loss_count = models.PositiveIntegerField(_("losses"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("loss list")
        verbose_name_plural = _("loss lists")
        constraints = [
            models.UniqueConstraint(fields=["store", "key"], name="loss_batch_key_once_per_store")
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.recorded_at:%Y-%m-%d %H:%M} ({self.loss_count})"


# Idempotency keys of orders written by the sales-history import (`import:<order ref>`); no
# other writer may use the prefix, so that the import's per-file lock covers every such key.
IMPORTED_ORDER_KEY_PREFIX = "import:"


class Order(models.Model):
    class Channel(models.TextChoices):
        POS = "pos", _("POS")
        GROUP_BUY = "group_buy", _("Group buy")
        MINI_PROGRAM = "mini_program", _("Mini-program")

    class Fulfilment(models.TextChoices):
        IN_STORE = "in_store", _("In store")
        PICKUP = "pickup", _("Pickup")
        DELIVERY = "delivery", _("Delivery")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        PAID = "paid", _("Paid")
        READY = "ready", _("Ready for pickup")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")
        REFUNDED = "refunded", _("Refunded")

    # An order in one of these no longer waits for goods (nor bears a supplier's shortage).
    SETTLED_STATUSES = (Status.CANCELLED, Status.REFUNDED)
    # An order in one of these is not a sale: every sales figure (the KPIs, the store page's
    # days, the decision engine's sales history, campaign reviews, group-buy figures) reads
    # the other orders only, the "counted orders" (docs/kpis.md).
    VOID_STATUSES = (Status.CANCELLED, Status.REFUNDED)

    # No single-column indexes on store and member: the (store, idempotency key) constraint
    # and the (store, placed) and (member, placed) indexes below serve those lookups, and
    # every index is paid for on each of the millions of imported orders.
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,
    )
    member = models.ForeignKey(
        "customers.Member",
        verbose_name=_("member"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        db_index=False,
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    fulfilment = models.CharField(
        _("fulfilment"), max_length=12, choices=Fulfilment.choices, default=Fulfilment.IN_STORE
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PENDING
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    reference = models.CharField(_("reference"), max_length=64, blank=True, default="")
    total = models.DecimalField(
        _("total (yuan)"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    discount_total = models.DecimalField(
        _("discount (yuan)"), max_digits=12, decimal_places=2, default=Decimal("0.00")
    )
    placed_at = models.DateTimeField(_("placed"), default=timezone.now)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-placed_at"]
        # The admin's sales-history CSV import (orders are otherwise read-only there).
        permissions = [("import_order", _("Can import sales history"))]
        indexes = [
            models.Index(fields=["store", "placed_at"]),
            models.Index(fields=["member", "placed_at"]),
            # The admin's list: newest first, ties by id (a backward scan reads 100 rows),
            # and its exact search by reference.
            models.Index(fields=["placed_at", "id"], name="order_placed_at_id_idx"),
            models.Index(fields=["reference"], name="order_reference_idx"),
            # The admin's status filter: rare statuses (paid, ready, refunded) are counted
            # and paged from the index instead of reading every order.
            models.Index(fields=["status", "placed_at"], name="order_status_placed_at_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "idempotency_key"], name="order_idempotency_key_unique"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(discount_total__gte=0), name="order_discount_not_negative"
            ),
            models.CheckConstraint(condition=~Q(idempotency_key=""), name="order_key_not_empty"),
        ]

    def __str__(self) -> str:
        return self.reference or f"#{self.pk}"


class OrderLine(models.Model):
    order = models.ForeignKey(
        Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="lines"
    )
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    discount = models.DecimalField(
        _("discount"), max_digits=10, decimal_places=2, default=Decimal("0.00")
    )
    line_total = models.DecimalField(_("line total"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="order_line_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(discount__gte=0), name="order_line_discount_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(line_total__gte=0), name="order_line_total_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.name} × {self.quantity}"


class StoreKpiSnapshot(models.Model):
    """One store's numbers for one day, computed by the nightly beat task."""

    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="kpi_snapshots"
    )
    day = models.DateField(_("day"))
    order_count = models.PositiveIntegerField(_("orders"), default=0)
    revenue = models.DecimalField(_("revenue (yuan)"), max_digits=14, decimal_places=2, default=0)
    member_count = models.PositiveIntegerField(_("members who bought"), default=0)
    average_basket = models.DecimalField(
        _("average basket (yuan)"), max_digits=12, decimal_places=2, default=0
    )
    # Stock lost that day (loss movements), valued at the product's price.
    loss_value = models.DecimalField(_("loss (yuan)"), max_digits=14, decimal_places=2, default=0)
    computed_at = models.DateTimeField(_("computed"), default=timezone.now)

    class Meta:
        verbose_name = _("store KPI snapshot")
        verbose_name_plural = _("store KPI snapshots")
        ordering = ["-day"]
        # The admin's list, newest day first (the unique (store, day) index leads by store).
        indexes = [models.Index(fields=["-day", "store"], name="kpi_snapshot_day_store_idx")]
        constraints = [
            models.UniqueConstraint(fields=["store", "day"], name="kpi_snapshot_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.day}"


class StoreTerminal(models.Model):
    """A POS till (or other machine) that posts for exactly one store with its own token.

    The token is shown once when issued; only its SHA-256 hash is stored. Revoking sets
    `revoked_at`; a revoked token authenticates nothing.
    """

    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="terminals"
    )
    name = models.CharField(_("name"), max_length=60)
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(_("token prefix"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("store terminal")
        verbose_name_plural = _("store terminals")
        # Issuing (adding a terminal, re-issuing) and revoking tokens is HQ IT / operations
        # work: `change_storeterminal` alone (renaming a till) does not give it.
        permissions = [("issue_terminal_token", _("Can issue and revoke terminal tokens"))]

    def __str__(self) -> str:
        return bracketed(f"{self.store_id} {self.name}", f"{self.token_prefix}…")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
