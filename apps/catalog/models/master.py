from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy


class Category(models.Model):
    """A node of the product category tree (水果 → 浆果 …)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=60)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    is_fresh = models.BooleanField(
        _("fresh"), default=False, help_text=_("Perishable goods: forecasts and loss matter most.")
    )

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["code"]
        permissions = [
            ("import_category", _("Can import categories")),
            ("export_category", _("Can export categories")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("pk")),
                name="category_not_own_parent",
                violation_error_message=_("A category cannot be its own parent."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The parent is neither the category itself nor one of its descendants. The database
        refuses only the first (`category_not_own_parent`, whose message Django puts above
        the form); a loop through descendants was saved (a tree with no root above it,
        which the import refuses). Both are refused here on the parent field. A loop further
        up the tree (the data's, not this form's) stops the walk. The same rules as the
        categories import, with its wording; one query per level of the tree."""
        if self.parent_id is None or self.pk is None:
            return
        if self.parent_id == self.pk:
            raise ValidationError(
                {"parent": _("A category cannot be its own parent.")}, code="parent_cycle"
            )
        seen = {self.pk}
        ancestor = self.parent_id
        while ancestor is not None and ancestor not in seen:
            seen.add(ancestor)
            ancestor = (
                Category.objects.filter(pk=ancestor).values_list("parent_id", flat=True).first()
            )
        if ancestor == self.pk:
            raise ValidationError(
                {
                    "parent": _(
                        "“%(code)s” would end up below itself (its parents lead back to it)."
                    )
                    % {"code": self.code}
                },
                code="parent_cycle",
            )


# A quantity with its unit, one entry per `Product.Unit`: English says "1 box" but "7 boxes"
# (Chinese has the one form, "7 盒"). Lazy and keyed on "count", the integer the plural rule
# chooses by, so "amount" (what is shown) may be a fraction.
_QUANTITY_WITH_UNIT = {
    "piece": ngettext_lazy("%(amount)s piece", "%(amount)s pieces", "count"),
    "box": ngettext_lazy("%(amount)s box", "%(amount)s boxes", "count"),
    "bag": ngettext_lazy("%(amount)s bag", "%(amount)s bags", "count"),
    "bottle": ngettext_lazy("%(amount)s bottle", "%(amount)s bottles", "count"),
    "kg": ngettext_lazy("%(amount)s kg", "%(amount)s kg", "count"),
    "pack": ngettext_lazy("%(amount)s pack", "%(amount)s packs", "count"),
}


def quantity_with_unit(quantity: int | Decimal | float | str, unit: str) -> str:
    """The quantity and the product unit as one phrase in the active language, plural-aware:
    "1 box", "13 boxes", "2.5 kg"; "13 盒" in Chinese. A fractional quantity takes the form of
    2, as English does ("1.5 boxes"). An unknown unit code is shown as stored."""
    forms = _QUANTITY_WITH_UNIT.get(unit)
    if forms is None:
        return f"{quantity} {unit}"
    try:
        number = Decimal(str(quantity))
    except ArithmeticError:
        return f"{quantity} {unit}"
    count = int(number) if number == number.to_integral_value() else 2
    return str(forms % {"count": count, "amount": quantity})


class Product(models.Model):
    class Unit(models.TextChoices):
        PIECE = "piece", _("piece")
        BOX = "box", _("box")
        BAG = "bag", _("bag")
        BOTTLE = "bottle", _("bottle")
        KG = "kg", _("kg")
        PACK = "pack", _("pack")

    sku = models.CharField(_("SKU"), max_length=32, unique=True)
    barcode = models.CharField(_("barcode"), max_length=32, null=True, blank=True, unique=True)
    name = models.CharField(_("name"), max_length=120)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="products"
    )
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices, default=Unit.PIECE)
    price = models.DecimalField(_("price (yuan)"), max_digits=10, decimal_places=2)
    cost = models.DecimalField(
        _("cost (yuan)"), max_digits=10, decimal_places=2, default=Decimal("0.00")
    )
    shelf_life_days = models.PositiveIntegerField(_("shelf life (days)"), null=True, blank=True)
    selling_points = models.TextField(
        _("selling points"),
        blank=True,
        default="",
        help_text=_("One per line; used in live scripts and as talking points."),
    )
    is_new = models.BooleanField(_("new product"), default=False)
    is_high_value = models.BooleanField(_("high-value product"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["sku"]
        permissions = [
            ("import_product", _("Can import products")),
            ("export_product", _("Can export products")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=0),
                name="product_price_not_negative",
                violation_error_message=_("The price cannot be negative."),
            ),
            models.CheckConstraint(
                condition=Q(cost__gte=0),
                name="product_cost_not_negative",
                violation_error_message=_("The cost cannot be negative."),
            ),
            models.CheckConstraint(
                condition=~Q(sku=""),
                name="product_sku_not_empty",
                violation_error_message=_("The SKU cannot be empty."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class WeatherObservation(models.Model):
    """Daily weather per city: observed, or forecast (issued on a given day).

    Filled by CSV import, an API adapter, or the demo generator; read by demand forecasts.
    """

    class Kind(models.TextChoices):
        OBSERVED = "observed", _("Observed")
        FORECAST = "forecast", _("Forecast")

    city = models.CharField(_("city"), max_length=40)
    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.OBSERVED)
    temp_max_c = models.DecimalField(_("max temperature (°C)"), max_digits=4, decimal_places=1)
    temp_min_c = models.DecimalField(_("min temperature (°C)"), max_digits=4, decimal_places=1)
    precipitation_mm = models.DecimalField(
        _("precipitation (mm)"), max_digits=6, decimal_places=1, default=Decimal("0")
    )
    condition = models.CharField(_("condition"), max_length=20, blank=True, default="")
    issued_on = models.DateField(_("issued on"), null=True, blank=True)

    class Meta:
        verbose_name = _("weather")
        verbose_name_plural = _("weather")
        ordering = ["city", "day"]
        permissions = [
            ("import_weatherobservation", _("Can import weather")),
            ("export_weatherobservation", _("Can export weather")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["city", "day", "kind"], name="weather_unique"),
            models.CheckConstraint(
                condition=Q(temp_min_c__lte=models.F("temp_max_c")),
                name="weather_min_below_max",
                violation_error_message=_("The lowest temperature cannot be above the highest."),
            ),
            models.CheckConstraint(
                condition=Q(precipitation_mm__gte=0),
                name="weather_precipitation_not_negative",
                violation_error_message=_("The precipitation cannot be negative."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.city} {self.day} {self.temp_max_c}°C"
