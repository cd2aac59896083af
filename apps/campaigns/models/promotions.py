from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from linli.wording import bracketed


class Promotion(models.Model):
    """A price promotion (促销) or live broadcast (直播) HQ plans ahead for one product or one
    category (with its subcategories), over whole days `starts_on` … `ends_on` inclusive.

    Scope: the listed stores and every store of `region` (the union); no stores and no region
    means the whole network. Planned rows feed the demand forecast's promotion feature through
    `apps.campaigns.selectors.promotions.promotion_grid` and the next-product ranker's through
    `promotion_spans`; cancelled rows are kept for the record and
    ignored there.
    """

    class Kind(models.TextChoices):
        PRICE = "price", _("Price promotion")
        # A display or flyer feature (堆头 / 海报): no price change, more attention.
        FEATURE = "feature", _("Feature (display or flyer)")
        BROADCAST = "broadcast", _("Live broadcast")
        GROUP_BUY = "group_buy", _("Group buy")

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
    # Set when a confirmed store campaign planned this offer (its pack and review go with it).
    store_campaign = models.ForeignKey(
        "campaigns.StoreCampaign",
        verbose_name=_("store campaign"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="promotions",
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
        permissions = [
            ("import_promotion", _("Can import promotions")),
            ("export_promotion", _("Can export promotions")),
        ]
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
        return bracketed(
            f"{self.get_kind_display()} {self.name}", f"{self.starts_on} – {self.ends_on}"
        )
