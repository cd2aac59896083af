"""Quantities with their product unit read right for one and for many, in both languages."""

from __future__ import annotations

from decimal import Decimal

from django.template import Context, Template
from django.utils import translation

from apps.catalog.models.master import quantity_with_unit


def test_english_takes_the_singular_for_one_and_the_plural_for_many() -> None:
    with translation.override("en"):
        assert quantity_with_unit(1, "box") == "1 box"
        assert quantity_with_unit(13, "box") == "13 boxes"
        assert quantity_with_unit(7, "piece") == "7 pieces"
        assert quantity_with_unit(Decimal("1.5"), "bag") == "1.5 bags"
        assert quantity_with_unit(2, "kg") == "2 kg"


def test_chinese_has_one_form() -> None:
    with translation.override("zh-hans"):
        assert quantity_with_unit(1, "box") == "1 盒"
        assert quantity_with_unit(13, "box") == "13 盒"


def test_the_template_filter_writes_the_same_phrase() -> None:
    template = Template("{% load units %}{{ n|with_unit:'bottle' }}")
    with translation.override("en"):
        assert template.render(Context({"n": 1})) == "1 bottle"
        assert template.render(Context({"n": 3})) == "3 bottles"
