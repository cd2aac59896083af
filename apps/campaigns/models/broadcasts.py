"""Live broadcasts (直播), their group-buy offers (接龙 / 成团), the members' joins and the
comments viewers leave.

Concurrency: an offer's `units_joined` and `participants` are kept in step with its joins inside
the join's transaction, by a conditional update that never passes `cap` (the constraint is the
last guard). Stock is taken by the group-buy order itself, through the order service.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _


class Broadcast(models.Model):
    """A confirmed store campaign's live broadcast: scheduled → live → ended."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", pgettext_lazy("broadcast status", "Scheduled")
        LIVE = "live", pgettext_lazy("broadcast status", "Live")
        ENDED = "ended", pgettext_lazy("broadcast status", "Ended")

    store_campaign = models.OneToOneField(
        "campaigns.StoreCampaign",
        verbose_name=_("store campaign"),
        on_delete=models.CASCADE,
        related_name="broadcast",
    )
    # Denormalised from the store campaign: access checks and live groups key on the store.
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED
    )
    scheduled_at = models.DateTimeField(_("scheduled for"))
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    # The stream's audience as the platform reports it (the viewers API); the live page's own
    # sockets are staff, not viewers. Null `viewers_reported_at`: no report yet, the count unknown.
    viewers = models.PositiveIntegerField(_("viewers now"), default=0)
    peak_viewers = models.PositiveIntegerField(_("peak viewers"), default=0)
    viewers_reported_at = models.DateTimeField(_("viewers reported"), null=True, blank=True)

    class Meta:
        verbose_name = _("broadcast")
        verbose_name_plural = _("broadcasts")
        ordering = ["-scheduled_at"]
        indexes = [models.Index(fields=["status", "scheduled_at"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="live") | Q(started_at__isnull=False),
                name="broadcast_live_has_start",
            ),
            models.CheckConstraint(
                condition=~Q(status="ended") | Q(ended_at__isnull=False),
                name="broadcast_ended_has_end",
            ),
        ]

    def __str__(self) -> str:
        # Names, not ids (admin columns, titles, messages); lists select the store.
        return f"{self.store.name} {timezone.localtime(self.scheduled_at):%Y-%m-%d %H:%M}"


class GroupBuyOffer(models.Model):
    """A group-buy offer during a broadcast: it forms (成团) when `threshold` units or
    participants have joined by `deadline`; never more than `cap` units are taken. A
    `presale` offer (以销定产) sells what the supplier will bring: its joins take no stock."""

    class ThresholdKind(models.TextChoices):
        UNITS = "units", _("Units")
        PARTICIPANTS = "participants", _("Participants")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("offer status", "Open")
        FORMED = "formed", pgettext_lazy("group buy", "Formed")
        FAILED = "failed", _("Not formed")
        CANCELLED = "cancelled", _("Cancelled")

    broadcast = models.ForeignKey(
        Broadcast, verbose_name=_("broadcast"), on_delete=models.CASCADE, related_name="offers"
    )
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+"
    )
    price = models.DecimalField(
        _("group-buy price (yuan)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.00"))],
    )
    threshold_kind = models.CharField(
        _("threshold counts"),
        max_length=12,
        choices=ThresholdKind.choices,
        default=ThresholdKind.UNITS,
    )
    threshold = models.PositiveIntegerField(
        _("group-buy threshold"), validators=[MinValueValidator(1)]
    )
    cap = models.PositiveIntegerField(_("cap (units)"), validators=[MinValueValidator(1)])
    presale = models.BooleanField(
        _("pre-order"),
        default=False,
        # Also in the database: the demo writes offers with raw INSERTs.
        db_default=False,
        help_text=_(
            "Sold before the goods are in: a join needs no stock at the store; the supplier's "
            "purchase order brings the goods after the group forms, and they are taken from "
            "stock when the order is ready for pickup. Otherwise each join takes a unit from "
            "the store's stock."
        ),
    )
    deadline = models.DateTimeField(_("deadline"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    units_joined = models.PositiveIntegerField(_("units joined"), default=0)
    participants = models.PositiveIntegerField(_("participants"), default=0)
    settled_at = models.DateTimeField(_("settled"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("group-buy offer")
        verbose_name_plural = _("group-buy offers")
        ordering = ["broadcast", "pk"]
        indexes = [models.Index(fields=["status", "deadline"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(units_joined__lte=models.F("cap")), name="offer_units_within_cap"
            ),
            models.CheckConstraint(condition=Q(cap__gte=1), name="offer_cap_positive"),
            models.CheckConstraint(condition=Q(threshold__gte=1), name="offer_threshold_positive"),
            models.CheckConstraint(condition=Q(price__gte=0), name="offer_price_not_negative"),
            models.CheckConstraint(
                condition=Q(status="open") | Q(settled_at__isnull=False),
                name="offer_settled_has_time",
            ),
            # Two open offers of one product in one broadcast make every 接龙 line naming it
            # ambiguous (docs/group-buys.md); settled and withdrawn offers do not count.
            models.UniqueConstraint(
                fields=["broadcast", "product"],
                condition=Q(status="open"),
                name="offer_one_open_per_product",
            ),
        ]

    def __str__(self) -> str:
        # "×10" read as a quantity ordered; the figure is the most units the offer takes.
        return gettext("%(product)s · cap %(cap)s") % {
            "product": self.product.name,
            "cap": self.cap,
        }

    @property
    def threshold_progress(self) -> int:
        """What counts toward the threshold: units joined, or participants."""
        if self.threshold_kind == self.ThresholdKind.UNITS:
            return self.units_joined
        return self.participants

    @property
    def threshold_reached(self) -> bool:
        """Enough joined to form (成团) at the deadline."""
        return self.threshold_progress >= self.threshold

    @property
    def at_threshold(self) -> bool:
        """What the live dashboard and the review call "threshold reached": settled formed, or
        still open with its progress at the threshold (it forms at its deadline). Formed is the
        settled status only; a failed or cancelled offer is not at threshold."""
        if self.status == self.Status.FORMED:
            return True
        return self.status == self.Status.OPEN and self.threshold_reached


class GroupBuyJoin(models.Model):
    """One member's (or one 接龙 line's) join of an offer, with the order it made."""

    class Source(models.TextChoices):
        API = "api", _("API (mini-program, chat bot)")
        JIELONG = "jielong", _("Pasted group-buy chat list line")
        PORTAL = "portal", _("Entered by the store")

    class Status(models.TextChoices):
        JOINED = "joined", pgettext_lazy("group-buy join status", "Joined")
        CONFIRMED = "confirmed", _("Confirmed")
        CANCELLED = "cancelled", _("Cancelled")

    offer = models.ForeignKey(
        GroupBuyOffer, verbose_name=_("offer"), on_delete=models.CASCADE, related_name="joins"
    )
    member = models.ForeignKey(
        "customers.Member",
        verbose_name=_("member"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    display_name = models.CharField(_("name in the chat"), max_length=60, blank=True, default="")
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.JOINED
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    order = models.OneToOneField(
        "stores.Order",
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="group_buy_join",
    )
    created_at = models.DateTimeField(
        pgettext_lazy("group-buy join time", "joined"), default=timezone.now
    )

    class Meta:
        verbose_name = _("group-buy join")
        verbose_name_plural = _("group-buy joins")
        ordering = ["offer", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["offer", "idempotency_key"], name="group_buy_join_key_unique"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="join_quantity_positive"),
            models.CheckConstraint(condition=~Q(idempotency_key=""), name="join_key_not_empty"),
        ]

    def __str__(self) -> str:
        # No chat name: it is member data, and titles show it to staff without member access.
        return f"{self.offer_id} #{self.pk} ×{self.quantity}"


class BroadcastComment(models.Model):
    """A viewer's comment during a broadcast (from the mini-program or chat bot API)."""

    broadcast = models.ForeignKey(
        Broadcast, verbose_name=_("broadcast"), on_delete=models.CASCADE, related_name="comments"
    )
    member = models.ForeignKey(
        "customers.Member",
        verbose_name=_("member"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    author = models.CharField(_("author"), max_length=60, blank=True, default="")
    text = models.CharField(_("text"), max_length=500)
    created_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("broadcast comment")
        verbose_name_plural = _("broadcast comments")
        ordering = ["broadcast", "-created_at"]
        indexes = [models.Index(fields=["broadcast", "created_at"])]

    def __str__(self) -> str:
        # No text: it is the member's own words, and titles show it to staff without member
        # access (docs/access.md).
        return f"{self.broadcast_id} #{self.pk}"
