"""Forms of the supplier pages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.procurement.models import PurchaseOrder, PurchaseOrderLine


class PurchaseOrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All"))]
        + [
            choice
            for choice in PurchaseOrder.Status.choices
            if choice[0] != PurchaseOrder.Status.DRAFT
        ],
    )
    date_from = forms.DateField(
        label=_("Delivery from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Delivery to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class ConfirmForm(forms.Form):
    ship_date = forms.DateField(
        label=_("Ship date"), widget=forms.DateInput(attrs={"type": "date"})
    )


class ShortageForm(forms.Form):
    """One "units short" field per line of the purchase order, and a note."""

    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args: object, lines: list[PurchaseOrderLine], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                label=line.product.name,
                min_value=0,
                max_value=line.ordered_quantity,
                initial=line.shortage_quantity,
                required=False,
            )

    def shortages(self) -> dict[int, int]:
        """{line id: units short} for the lines filled in."""
        return {
            line.pk: self.cleaned_data[f"line_{line.pk}"]
            for line in self.lines
            if self.cleaned_data.get(f"line_{line.pk}") is not None
        }

    def line_fields(self) -> list[tuple[PurchaseOrderLine, forms.BoundField]]:
        return [(line, self[f"line_{line.pk}"]) for line in self.lines]
