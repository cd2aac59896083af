"""Scenario templates, campaigns, each store's part in a campaign (with its pack) and the
target members snapshotted for it.

A campaign is HQ's (or an owner's, from an insight card) plan for a window of days; each store
taking part has a `StoreCampaign` that starts as a draft and that its owner confirms with one
click. Confirming generates the store's campaign pack (live script, chat copy, poster, target
list) and plans the offers as `Promotion` rows, so the forecast sees them.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

from linli.wording import bracketed


def months_parse(value: str) -> frozenset[int]:
    """The months in "6,7,8,9" — commas, full-width commas or 、 between them, as people type
    them in Chinese (empty: none). Raises ValueError on anything else."""
    months = frozenset(int(part) for part in re.split(r"[,，、\s]+", value) if part)
    if any(not 1 <= month <= 12 for month in months):
        raise ValueError(value)
    return months


def validate_months(value: str) -> None:
    try:
        months_parse(value)
    except ValueError:
        raise ValidationError(
            _("Give months 1–12 separated by commas, e.g. 6,7,8,9."), code="months"
        ) from None


class ScenarioTemplate(models.Model):
    """A reusable campaign scenario (周末家庭日, 开学季, 夏季水果季 …), edited by HQ.

    The text templates use Django template syntax; the pack generator documents the context
    they receive (store, campaign, products with price, stock and selling points, the hour).
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=60)
    description = models.TextField(_("description"), blank=True, default="")
    target_tags = models.ManyToManyField(
        "customers.Tag", verbose_name=_("target tags"), blank=True, related_name="+"
    )
    # PROTECT (as the campaign's): a deleted segment silently widened a template's targeting
    # to its tags, or to every member of the store; the delete page names the template instead.
    target_segment = models.ForeignKey(
        "customers.Segment",
        verbose_name=_("target segment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("When set, the target list is this segment; otherwise members with any tag."),
    )
    categories = models.ManyToManyField(
        "catalog.Category", verbose_name=_("product categories"), blank=True, related_name="+"
    )
    products = models.ManyToManyField(
        "catalog.Product",
        verbose_name=_("products"),
        blank=True,
        related_name="+",
        help_text=_(
            "What a launch offers when it lists no products (by name; the inactive ones are "
            "left out)."
        ),
    )
    suggested_hour = models.PositiveSmallIntegerField(
        _("suggested broadcast hour"), default=20, validators=[MaxValueValidator(23)]
    )
    duration_days = models.PositiveSmallIntegerField(
        _("duration (days)"), default=3, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    offer_hours = models.PositiveSmallIntegerField(
        _("group-buy window (hours)"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 14)],
        help_text=_("How long a group-buy offer stays open after the broadcast starts."),
    )
    default_discount_percent = models.PositiveSmallIntegerField(
        _("default discount (%)"), default=10, validators=[MaxValueValidator(90)]
    )
    live_script_template = models.TextField(_("live script template"), blank=True, default="")
    warmup_copy_template = models.TextField(_("warm-up chat copy"), blank=True, default="")
    jielong_copy_template = models.TextField(_("group-buy chat copy"), blank=True, default="")
    poster_headline_template = models.CharField(
        _("poster headline template"), max_length=200, blank=True, default=""
    )
    season_months = models.CharField(
        _("season (months)"),
        max_length=40,
        blank=True,
        default="",
        validators=[validate_months],
        help_text=_(
            "The months (1–12, comma-separated, e.g. 6,7,8,9) the template's copy fits. A "
            "campaign starting in another month gets neutral copy. Empty: all year."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("scenario template")
        verbose_name_plural = _("scenario templates")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(suggested_hour__lte=23),
                name="scenario_template_hour_range",
                violation_error_message=_("The suggested hour must be between 0 and 23."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def fits_day(self, day: datetime.date) -> bool:
        """Whether the template's copy fits a campaign starting on `day` (its season)."""
        months = months_parse(self.season_months)
        return not months or day.month in months


class Campaign(models.Model):
    """One campaign over whole days `starts_on` … `ends_on`, offered to one or more stores."""

    class Origin(models.TextChoices):
        HQ = "hq", _("Launched by HQ")
        INSIGHT = "insight", _("From an insight card")

    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("campaign status", "Active")
        CANCELLED = "cancelled", _("Cancelled")

    name = models.CharField(_("name"), max_length=120)
    template = models.ForeignKey(
        ScenarioTemplate,
        verbose_name=_("scenario template"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="campaigns",
    )
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    # PROTECT: a draft's target list is taken at confirmation from this segment; deleted, it
    # silently became the tags' or every store member (and the campaign lost whom it targeted).
    segment = models.ForeignKey(
        "customers.Segment",
        verbose_name=_("target segment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    target_tags = models.ManyToManyField(
        "customers.Tag", verbose_name=_("target tags"), blank=True, related_name="+"
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), help_text=_("The last day, inclusive."))
    broadcast_hour = models.PositiveSmallIntegerField(
        _("broadcast hour"), default=20, validators=[MaxValueValidator(23)]
    )
    discount_percent = models.PositiveSmallIntegerField(
        _("discount (%)"), default=10, validators=[MaxValueValidator(90)]
    )
    insight_card = models.ForeignKey(
        "catalog.InsightCard",
        verbose_name=_("insight card"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
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
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")),
                name="campaign_ends_after_start",
                violation_error_message=_("The campaign cannot end before it starts."),
            ),
            models.CheckConstraint(
                condition=Q(broadcast_hour__lte=23),
                name="campaign_hour_range",
                violation_error_message=_("The broadcast hour must be between 0 and 23."),
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__lte=90),
                name="campaign_discount_0_90",
                violation_error_message=_("The discount must be between 0 and 90%."),
            ),
        ]

    def __str__(self) -> str:
        return bracketed(self.name, f"{self.starts_on} – {self.ends_on}")

    def state_label(self, *, today: datetime.date) -> str:
        """The campaign's state as HQ reads it: cancelled, or — for an active one — upcoming,
        running or ended by its days. `status` alone says "active" for a campaign that ended
        weeks ago."""
        if self.status == self.Status.CANCELLED:
            return str(self.get_status_display())
        if today < self.starts_on:
            return pgettext("campaign state", "Upcoming")
        if today > self.ends_on:
            return pgettext("campaign state", "Ended")
        return pgettext("campaign state", "Running")


class CampaignProduct(models.Model):
    """A product a campaign offers, with its campaign price (the discount applies when empty)."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="products"
    )
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    price = models.DecimalField(
        _("campaign price (yuan)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.00"))],
    )
    suggested_stock = models.PositiveIntegerField(_("suggested stock per store"), default=0)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("campaign product")
        verbose_name_plural = _("campaign products")
        ordering = ["campaign", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "product"], name="campaign_product_unique"),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0),
                name="campaign_product_price_not_negative",
                violation_error_message=_("The price cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign.name} · {self.product.name}"


class StoreCampaign(models.Model):
    """One store's part in a campaign: a draft until its owner confirms, then its pack."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        CONFIRMED = "confirmed", _("Confirmed")
        DECLINED = "declined", _("Declined")
        CANCELLED = "cancelled", _("Cancelled")

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="stores"
    )
    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("store"),
        on_delete=models.CASCADE,
        related_name="store_campaigns",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The pack (filled when confirmed; regenerating replaces it).
    live_script = models.JSONField(
        _("live script"), default=list, blank=True, help_text=_("[{at, title, lines}] steps.")
    )
    warmup_copy = models.TextField(_("warm-up chat copy"), blank=True, default="")
    jielong_copy = models.TextField(_("group-buy chat copy"), blank=True, default="")
    poster = models.FileField(_("poster"), upload_to="campaigns/posters/", blank=True)
    pack_generated_at = models.DateTimeField(_("pack generated"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("store campaign")
        verbose_name_plural = _("store campaigns")
        ordering = ["-campaign__starts_on", "store"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "store"], name="store_campaign_unique"),
            models.CheckConstraint(
                condition=~Q(status="confirmed") | Q(confirmed_at__isnull=False),
                name="store_campaign_confirmed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign.name} @ {self.store.name}"


class CampaignTarget(models.Model):
    """A member on a store campaign's target list (a snapshot taken at confirmation)."""

    store_campaign = models.ForeignKey(
        StoreCampaign,
        verbose_name=_("store campaign"),
        on_delete=models.CASCADE,
        related_name="targets",
    )
    member = models.ForeignKey(
        "customers.Member", verbose_name=_("member"), on_delete=models.CASCADE, related_name="+"
    )
    reason = models.CharField(_("why targeted"), max_length=120, blank=True, default="")
    created_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        verbose_name = _("campaign target")
        verbose_name_plural = _("campaign targets")
        ordering = ["store_campaign", "member"]
        constraints = [
            models.UniqueConstraint(
                fields=["store_campaign", "member"], name="campaign_target_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_campaign_id} → {self.member_id}"
