"""Text put together from translated parts. The punctuation that joins them is translated too,
so Chinese gets its full-width "：" where English keeps ": " (templates use the same
"label separator" msgid: `{% translate ": " context "label separator" %}`)."""

from __future__ import annotations

from django.utils.translation import gettext


def labelled(label: object, value: object) -> str:
    """The label and its value joined by the translated separator: "Supplier: Yunnan Berry
    Farm" in English, "供应商：云南蓝莓果园" in Chinese."""
    return gettext("%(label)s: %(value)s") % {"label": label, "value": value}
