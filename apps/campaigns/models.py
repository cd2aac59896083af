from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """The notification outbox: one row per message to one recipient on one channel.

    Writers go through `apps.campaigns.services.notification_enqueue` (or the bulk variant),
    which is idempotent by `dedupe_key`: the same event enqueued twice is one row.
    Portal notifications are delivered by being written (the owner's inbox reads them), so they
    are stored as sent; SMS / WeChat rows stay pending until a gateway dispatcher sends them.
    """

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Portal")
        SMS = "sms", _("SMS")
        WECHAT = "wechat", _("WeChat")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("store"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    member = models.ForeignKey(
        "customers.Member",
        verbose_name=_("member"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.PORTAL
    )
    kind = models.CharField(_("kind"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True, default="")
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    dedupe_key = models.CharField(_("dedupe key"), max_length=200, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["recipient", "store", "created_at"]),
            models.Index(fields=["channel", "status"]),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(dedupe_key=""), name="notification_key_not_empty"),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="notification_sent_has_time",
            ),
            models.CheckConstraint(
                condition=Q(recipient__isnull=False) | Q(member__isnull=False),
                name="notification_has_recipient_or_member",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.kind}: {self.title}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class Promotion(models.Model):
    """A price promotion (促销) or live broadcast (直播) HQ plans ahead for one product or one
    category (with its subcategories), over whole days `starts_on` … `ends_on` inclusive.

    Scope: the listed stores and every store of `region` (the union); no stores and no region
    means the whole network. Planned rows feed the demand forecast's promotion feature through
    `apps.campaigns.selectors.promotion_grid`; cancelled rows are kept for the record and
    ignored there.
    """

    class Kind(models.TextChoices):
        PRICE = "price", _("Price promotion")
        BROADCAST = "broadcast", _("Live broadcast")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PRICE)
    product = models.ForeignKey(
        "catalog.Product",
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="promotions",
    )
    category = models.ForeignKey(
        "catalog.Category",
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="promotions",
        help_text=_("Covers the products of this category and of every category below it."),
    )
    stores = models.ManyToManyField(
        "stores.Store",
        verbose_name=_("stores"),
        blank=True,
        related_name="promotions",
        help_text=_("Leave empty, with no region, for the whole network."),
    )
    region = models.ForeignKey(
        "stores.Region",
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="promotions",
        help_text=_("Every store of the region takes part, as well as the stores listed."),
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), help_text=_("The last day, inclusive."))
    discount_percent = models.PositiveSmallIntegerField(
        _("discount (%)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(90)],
        help_text=_("0–90; required for a price promotion, optional for a broadcast."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        ordering = ["-starts_on", "pk"]
        indexes = [models.Index(fields=["status", "ends_on", "starts_on"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(product__isnull=False, category__isnull=True)
                | Q(product__isnull=True, category__isnull=False),
                name="promotion_product_xor_category",
                violation_error_message=_("Choose either a product or a category, not both."),
            ),
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")),
                name="promotion_ends_after_start",
                violation_error_message=_("The promotion cannot end before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__isnull=True)
                | Q(discount_percent__gte=0, discount_percent__lte=90),
                name="promotion_discount_0_90",
                violation_error_message=_("The discount must be between 0 and 90 per cent."),
            ),
            models.CheckConstraint(
                condition=~Q(kind="price") | Q(discount_percent__isnull=False),
                name="promotion_price_has_discount",
                violation_error_message=_("A price promotion needs a discount."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.name} ({self.starts_on} – {self.ends_on})"
