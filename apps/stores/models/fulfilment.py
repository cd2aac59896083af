"""How a member order reaches the member: a pickup code for store pickup, a delivery status for
same-city delivery (docs/fulfilment.md). One row per order that is not settled at the till."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from linli.wording import bracketed, labelled

# Pages show this many trailing digits of a pickup code; the whole code is the member's to bring.
CODE_HINT_DIGITS = 2


def pickup_code_hint(code: str) -> str:
    """The code masked but for its last CODE_HINT_DIGITS digits: "123402" → "••••02"."""
    return "•" * max(len(code) - CODE_HINT_DIGITS, 0) + code[-CODE_HINT_DIGITS:]


class OrderFulfilment(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting for goods")
        READY = "ready", pgettext_lazy("fulfilment status", "Ready")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        COLLECTED = "collected", _("Collected")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Delivery failed")
        CANCELLED = "cancelled", pgettext_lazy("fulfilment status", "Cancelled")

    order = models.OneToOneField(
        "stores.Order",
        verbose_name=_("order"),
        on_delete=models.CASCADE,
        related_name="fulfilment_record",
        primary_key=True,
    )
    # Denormalised from the order: codes are unique per store among the orders still open.
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+"
    )
    pickup_code = models.CharField(_("pickup code"), max_length=8)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.WAITING
    )
    ready_at = models.DateTimeField(_("ready"), null=True, blank=True)
    ready_notified_at = models.DateTimeField(_("member notified"), null=True, blank=True)
    completed_at = models.DateTimeField(_("handed over"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handed over by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    delivery_note = models.CharField(_("delivery note"), max_length=200, blank=True, default="")
    # Where a same-city delivery goes and whom to ask for, as the member gave them when
    # ordering (the mini-program, docs/pickup.md); empty for pickup orders. Member data.
    delivery_address = models.CharField(
        _("delivery address"), max_length=200, blank=True, default=""
    )
    delivery_contact = models.CharField(
        _("delivery contact"), max_length=60, blank=True, default=""
    )
    # Normalised (+86…), shown masked to staff without member data.
    delivery_phone = models.CharField(_("delivery phone"), max_length=20, blank=True, default="")
    # The member's note with the order ("please ring twice"). Member data.
    member_note = models.CharField(_("member's note"), max_length=200, blank=True, default="")
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("order fulfilment")
        verbose_name_plural = _("order fulfilments")
        indexes = [models.Index(fields=["store", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "pickup_code"],
                condition=Q(status__in=["waiting", "ready", "out_for_delivery"]),
                name="fulfilment_open_code_unique",
            ),
            models.CheckConstraint(
                condition=Q(pickup_code__regex=r"^[0-9]{6}$"), name="fulfilment_code_six_digits"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["collected", "delivered"]) | Q(completed_at__isnull=False),
                name="fulfilment_completed_has_time",
            ),
        ]

    def __str__(self) -> str:
        # Titles, breadcrumbs and the admin history show only the hint, never the whole code.
        return labelled(self.order_id, bracketed(self.pickup_code_hint, self.get_status_display()))

    @property
    def pickup_code_hint(self) -> str:
        return pickup_code_hint(self.pickup_code)
