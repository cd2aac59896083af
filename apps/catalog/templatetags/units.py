"""`{{ quantity|with_unit:product.unit }}`: a quantity with its product unit, plural-aware in
English ("1 box", "13 boxes"), "13 盒" in Chinese."""

from __future__ import annotations

from decimal import Decimal

from django import template

from apps.catalog.models.master import quantity_with_unit

register = template.Library()


@register.filter
def with_unit(quantity: int | Decimal | float | str, unit: str) -> str:
    return quantity_with_unit(quantity, unit)
