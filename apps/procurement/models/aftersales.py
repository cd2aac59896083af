"""After-sales (无忧售后): cases, their photos and the compensation policy (docs/after-sales.md)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class CaseKind(models.TextChoices):
    QUALITY = "quality", _("Quality problem")
    MISSING = "missing", _("Missing item")
    DAMAGED = "damaged", _("Damaged")
    LATE = "late", _("Late")


class Remedy(models.TextChoices):
    REFUND = "refund", _("Refund")
    REPLACEMENT = "replacement", _("Replacement")
    COUPON = "coupon", _("Coupon")


class ChargedTo(models.TextChoices):
    STORE = "store", _("Store")
    HQ = "hq", _("Head office")
    SUPPLIER = "supplier", _("Supplier")


AMOUNT_POSITIVE_MESSAGE = _("Must be more than 0, or empty for any amount.")


class CompensationPolicy(models.Model):
    """A row of the compensation table: for a case kind up to an amount, the remedy proposed and
    who bears the cost. The proposal for a case is the row of its kind with the smallest
    `max_amount` that covers the case's amount (an empty `max_amount` covers any amount)."""

    kind = models.CharField(_("case kind"), max_length=12, choices=CaseKind.choices)
    max_amount = models.DecimalField(
        _("up to (yuan)"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: any amount."),
    )
    remedy = models.CharField(_("remedy"), max_length=12, choices=Remedy.choices)
    charged_to = models.CharField(_("cost charged to"), max_length=10, choices=ChargedTo.choices)
    needs_approval = models.BooleanField(_("needs HQ approval"), default=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("compensation policy")
        verbose_name_plural = _("compensation policies")
        ordering = ["kind", models.F("max_amount").asc(nulls_last=True)]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "max_amount"], name="compensation_policy_unique"
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(max_amount__isnull=True),
                name="compensation_policy_one_open_ended",
                violation_error_message=_(
                    "A case kind has at most one row for any amount (empty “up to”)."
                ),
            ),
            models.CheckConstraint(
                condition=Q(max_amount__isnull=True) | Q(max_amount__gt=Decimal("0")),
                name="compensation_policy_amount_positive",
                violation_error_message=AMOUNT_POSITIVE_MESSAGE,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ≤ {self.max_amount or '∞'}: {self.get_remedy_display()}"

    def clean(self) -> None:
        """A positive "up to", and the two unique constraints checked with the row's own kind:
        a form that edits only `max_amount` (the admin's editable list) does not hold `kind`,
        and Django validates a constraint only over the fields a form holds. The error is on
        `max_amount`, so Django's own constraint checks of that field are then skipped (no
        message twice). Another row changed in the same submission is the form set's to check
        (the admin's list does)."""
        if self.max_amount is not None and self.max_amount <= 0:
            # On the field (the constraint's own message would sit above the form).
            raise ValidationError({"max_amount": AMOUNT_POSITIVE_MESSAGE}, code="not_positive")
        if not self.kind:
            return
        taken = CompensationPolicy.objects.filter(kind=self.kind, max_amount=self.max_amount)
        if self.pk is not None:
            taken = taken.exclude(pk=self.pk)
        if taken.exists():
            raise ValidationError({"max_amount": self.taken_message()}, code="taken")

    def taken_message(self) -> str:
        """Why this row's (kind, up to) is refused when another row has it."""
        if self.max_amount is None:
            return _(
                "%(kind)s already has a row for any amount (empty “up to”); a kind has at "
                "most one: give this row an amount."
            ) % {"kind": self.get_kind_display()}
        return _("%(kind)s already has a row up to %(amount)s yuan.") % {
            "kind": self.get_kind_display(),
            "amount": Decimal(self.max_amount).quantize(Decimal("0.01")),
        }


class AfterSalesCase(models.Model):
    """A member's complaint about an order, opened by the store (or HQ), with photos — or a
    case the system opens at store receiving for units of a member's order line that did not
    arrive ("missing") or arrived damaged ("damaged") (`origin` receiving, with the receipt;
    at most one per order line and kind). The
    policy proposes a remedy when the case is opened; HQ approves or rejects it in the admin;
    the cost is charged to the store, HQ or the product's supplier as the policy says."""

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        RESOLVED = "resolved", _("Resolved")

    class Origin(models.TextChoices):
        STORE = "store", _("Opened by the store")
        RECEIVING = "receiving", _("Opened by the system at receiving")

    number = models.CharField(_("number"), max_length=32, unique=True)
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.PROTECT, related_name="+"
    )
    order = models.ForeignKey(
        "stores.Order",
        verbose_name=_("order"),
        on_delete=models.PROTECT,
        related_name="after_sales_cases",
    )
    order_line = models.ForeignKey(
        "stores.OrderLine",
        verbose_name=_("order line"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    member = models.ForeignKey(
        "customers.Member",
        verbose_name=_("member"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    supplier = models.ForeignKey(
        "procurement.Supplier",
        verbose_name=_("supplier"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="after_sales_cases",
    )
    kind = models.CharField(_("case kind"), max_length=12, choices=CaseKind.choices)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=10, decimal_places=2)
    description = models.TextField(_("description"), max_length=1000, blank=True, default="")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    policy = models.ForeignKey(
        CompensationPolicy,
        verbose_name=_("policy applied"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    proposed_remedy = models.CharField(
        _("proposed remedy"), max_length=12, choices=Remedy.choices, blank=True, default=""
    )
    remedy = models.CharField(
        _("remedy"), max_length=12, choices=Remedy.choices, blank=True, default=""
    )
    charged_to = models.CharField(
        _("cost charged to"), max_length=10, choices=ChargedTo.choices, blank=True, default=""
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    # The portal form's key (a fresh UUID per form page): a case is opened once per store and
    # key, so a double tap on "open" opens one case (docs/after-sales.md).
    form_key = models.UUIDField(_("form key"), null=True, blank=True, editable=False)
    origin = models.CharField(
        _("origin"), max_length=10, choices=Origin.choices, default=Origin.STORE
    )
    receipt = models.ForeignKey(
        "procurement.Receipt",
        verbose_name=_("receipt"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="after_sales_cases",
        help_text=_("The store receiving that found the units short (system-opened cases)."),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True, default="")
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("after-sales case")
        verbose_name_plural = _("after-sales cases")
        ordering = ["-opened_at"]
        permissions = [("decide_aftersalescase", _("Can approve or reject after-sales cases"))]
        indexes = [
            models.Index(fields=["store", "opened_at"]),
            models.Index(fields=["supplier", "opened_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=Decimal("0")), name="after_sales_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="after_sales_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(decided_at__isnull=False),
                name="after_sales_decided_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "resolved"])
                | (~Q(remedy="") & ~Q(charged_to="")),
                name="after_sales_approved_has_remedy",
            ),
            # Receiving opens a case on the units of a line found short (missing) and one on
            # those found damaged, once each: a rerun (or a second receipt of the same goods)
            # cannot open a second one of either kind.
            models.UniqueConstraint(
                fields=["order_line", "kind"],
                condition=Q(origin="receiving"),
                name="after_sales_one_receiving_case_per_line",
            ),
            models.UniqueConstraint(
                fields=["store", "form_key"],
                condition=Q(form_key__isnull=False),
                name="after_sales_once_per_form_key",
            ),
            models.CheckConstraint(
                condition=~Q(origin="receiving")
                | Q(order_line__isnull=False, receipt__isnull=False),
                name="after_sales_receiving_has_line_and_receipt",
            ),
        ]

    def __str__(self) -> str:
        return self.number


def case_photo_path(instance: AfterSalesPhoto, filename: str) -> str:
    """A random storage name; the client's file name is never used."""
    now = timezone.localtime()
    return f"after-sales/{now:%Y}/{now:%m}/{uuid.uuid4().hex}.jpg"


class AfterSalesPhoto(models.Model):
    """A photo of a case, re-encoded like inspection photos (JPEG, no metadata, random name)
    and served only through an access-checked view."""

    case = models.ForeignKey(
        AfterSalesCase, verbose_name=_("case"), on_delete=models.CASCADE, related_name="photos"
    )
    image = models.FileField(_("image"), upload_to=case_photo_path, max_length=200)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    size_bytes = models.PositiveIntegerField(_("size (bytes)"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("after-sales photo")
        verbose_name_plural = _("after-sales photos")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return f"{self.case_id}/{self.pk}"
