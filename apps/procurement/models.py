from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


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
        ]

    def __str__(self) -> str:
        return self.name


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
                condition=Q(cost__gte=Decimal("0")), name="supplier_cost_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(pack_size__gte=1), name="supplier_pack_size_positive"
            ),
            models.CheckConstraint(
                condition=Q(min_order_qty__gte=1), name="supplier_min_order_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supplier} · {self.product}"


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
