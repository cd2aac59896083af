"""Tracking events (exposure → click → order) for a store campaign's funnel and review."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TrackingEvent(models.Model):
    """One exposure, click or order event. `event_id` is the sender's id for it within its
    store campaign (so within one store): a batch sent twice records each event once, and one
    store's ids never collide with another's."""

    class Kind(models.TextChoices):
        EXPOSURE = "exposure", _("Exposure")
        CLICK = "click", _("Click")
        ORDER = "order", pgettext_lazy("customer order", "Order")

    event_id = models.CharField(_("event id"), max_length=64)
    store_campaign = models.ForeignKey(
        "campaigns.StoreCampaign",
        verbose_name=_("store campaign"),
        on_delete=models.CASCADE,
        related_name="events",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    member = models.ForeignKey(
        "customers.Member",
        verbose_name=_("member"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    product = models.ForeignKey(
        "catalog.Product",
        verbose_name=_("product"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    order = models.ForeignKey(
        "stores.Order",
        verbose_name=_("order"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    occurred_at = models.DateTimeField(_("occurred"))
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["store_campaign", "kind"])]
        constraints = [
            models.CheckConstraint(condition=~Q(event_id=""), name="tracking_event_id_not_empty"),
            # event_id first: the index also serves the admin's exact search by event id.
            models.UniqueConstraint(
                fields=["event_id", "store_campaign"], name="tracking_event_once_per_campaign"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"
