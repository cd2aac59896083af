"""Forms of the supplier pages and of the store's supply pages (after-sales cases)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.catalog.models.master import quantity_with_unit
from apps.procurement.models import CaseKind, PurchaseOrder, PurchaseOrderLine
from apps.procurement.selectors.aftersales import order_line_units_amount, order_lines_short
from apps.stores.models import LossReason, Order, OrderLine, StockLevel, Store
from apps.stores.selectors import store_stocked_products
from apps.stores.services.loss import NOTE_MAX_LENGTH, QUANTITY_MAX, LossInput
from linli.widgets import NativeDateInput


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
    date_from = forms.DateField(label=_("Delivery from"), required=False, widget=NativeDateInput())
    date_to = forms.DateField(label=_("Delivery to"), required=False, widget=NativeDateInput())

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error(
                "date_to", _("The “to” date is before the “from” date: no delivery is in between.")
            )
        return cleaned


class ConfirmForm(forms.Form):
    ship_date = forms.DateField(label=_("Ship date"), widget=NativeDateInput())
    # The revision of the purchase order on the page: a consolidation run that added to the
    # order since makes the confirmation a refusal, not a confirmation of unseen lines.
    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)


class ShipForm(forms.Form):
    """Marking shipped cannot be undone: the supplier ticks that the goods have left (a plain
    required checkbox, so it works on any phone without JavaScript)."""

    shipped = forms.BooleanField(
        label=_("The goods have left: I cannot undo this."),
        error_messages={"required": _("Tick the box to confirm the goods have left.")},
    )


class ShortageForm(forms.Form):
    """One "units short" field per line of the purchase order, and a note."""

    note = forms.CharField(label=_("Note"), max_length=300, required=False)
    # The revision of the purchase order on the page, as in `ConfirmForm`: lines a
    # consolidation run added since make the report a refusal. (Its own id: the confirm
    # form's revision is on the same page.)
    revision = forms.IntegerField(
        widget=forms.HiddenInput(attrs={"id": "id_shortage_revision"}),
        min_value=1,
        required=False,
    )

    def __init__(self, *args: object, lines: list[PurchaseOrderLine], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            # Each error names the product and the bounds: the page may show it away from the
            # field (the messages at the top), and an order has many lines.
            out_of_range = _(
                "%(product)s: the units short must be between 0 and %(ordered)d (what is ordered)."
            ) % {"product": line.product.name, "ordered": line.ordered_quantity}
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                label=line.product.name,
                min_value=0,
                max_value=line.ordered_quantity,
                initial=line.shortage_quantity,
                required=False,
                error_messages={
                    "min_value": out_of_range,
                    "max_value": out_of_range,
                    "invalid": _("%(product)s: enter a whole number of units.")
                    % {"product": line.product.name},
                },
            )

    def shortages(self) -> dict[int, int]:
        """{line id: units short} for the lines filled in."""
        return {
            line.pk: self.cleaned_data[f"line_{line.pk}"]
            for line in self.lines
            if self.cleaned_data.get(f"line_{line.pk}") is not None
        }

    def line_errors(self) -> list[str]:
        """Every line's errors, in the order of the lines (each names its product)."""
        return [
            str(error) for line in self.lines for error in self.errors.get(f"line_{line.pk}", [])
        ]

    def line_fields(self) -> list[tuple[PurchaseOrderLine, forms.BoundField]]:
        return [(line, self[f"line_{line.pk}"]) for line in self.lines]


# --- after-sales cases (store portal) ----------------------------------------------------------


class CaseOrderFindForm(forms.Form):
    """Step one of opening a case: find the member's order."""

    find = forms.CharField(
        label=_("Order number, reference, member number or phone"),
        max_length=64,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )


class MultiplePhotoInput(forms.ClearableFileInput):
    """Several photos at once, from the phone's back camera or its gallery. `accept` is only a
    hint to the phone: the server decides by the content."""

    allow_multiple_selected = True

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            {"accept": "image/*", "capture": "environment", "multiple": True, **(attrs or {})}
        )


class MultiplePhotoField(forms.FileField):
    """A list of uploads (possibly empty). A plain FileField on purpose: Django's ImageField
    would open the upload with Pillow without our limits; `photo_process` validates."""

    widget = MultiplePhotoInput

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        uploads = data if isinstance(data, list | tuple) else [data]
        cleaned = []
        for item in uploads:
            if item:
                cleaned.append(super().clean(item, initial))
        return cleaned


class CaseOpenForm(forms.Form):
    """Step two: the case on the order found (or one of its lines)."""

    order_line = forms.ChoiceField(label=_("What is it about"), required=False)
    kind = forms.ChoiceField(label=_("Problem"), choices=CaseKind.choices)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=100_000, initial=1)
    amount = forms.DecimalField(
        label=_("Amount (yuan)"), min_value=Decimal("0"), max_digits=10, decimal_places=2
    )
    description = forms.CharField(
        label=_("What happened"),
        # HQ deciders read it without member data: only the member's own name, number and
        # phones can be masked in it (docs/access.md).
        help_text=_("Describe the goods and the fault, not the customer: no names or phones."),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photos = MultiplePhotoField(label=_("Photos"))

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.order = order
        self.lines = {line.pk: line for line in order.lines.all()}
        self.short = order_lines_short(order=order)
        self.fields["order_line"].choices = [("", _("The whole order"))] + [
            (str(line.pk), self._line_label(line)) for line in self.lines.values()
        ]
        if self.short and not self.is_bound:
            # Goods that did not arrive (recorded at receiving): the case the owner opens for
            # them, proposed — one short line is filled in whole, with its units' price.
            self.fields["kind"].initial = CaseKind.MISSING
            if len(self.short) == 1:
                [(line_id, units)] = self.short.items()
                line = self.lines[line_id]
                self.fields["order_line"].initial = str(line_id)
                self.fields["quantity"].initial = units
                self.fields["amount"].initial = order_line_units_amount(line=line, units=units)

    def _line_label(self, line: OrderLine) -> str:
        label = f"{line.product.name} × {line.quantity} · ¥{line.line_total}"
        if self.short.get(line.pk):
            label += str(_(" (%(units)d short)") % {"units": self.short[line.pk]})
        return label

    def clean_order_line(self) -> OrderLine | None:
        value = self.cleaned_data["order_line"]
        return self.lines[int(value)] if value else None


class LossForm(forms.Form):
    """One loss: the product must be one the store has units of (another store's stock, or a
    product sold out here, is an invalid choice)."""

    product = forms.ModelChoiceField(queryset=None, label=_("Product"))
    quantity = forms.IntegerField(label=_("Quantity lost"), min_value=1, max_value=QUANTITY_MAX)
    reason = forms.ChoiceField(label=_("Reason"), choices=LossReason.choices)
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX_LENGTH, required=False, strip=True)

    def __init__(self, *args: Any, store: Store, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = store_stocked_products(store=store)


# -- several losses at once (the closing count; docs/loss.md "Several at once") --

LOSS_BATCH_EMPTY_ROWS = 5  # the rows a page without JavaScript offers
LOSS_BATCH_MAX_ROWS = 40
# A product picked from the list reads "name · SKU": a name alone may be shared.
PRODUCT_SKU_SEPARATOR = " · "


def loss_product_text(product: Any) -> str:
    """What a row's product field holds once the product is picked from the list."""
    return f"{product.name}{PRODUCT_SKU_SEPARATOR}{product.sku}"


class LossStock:
    """The store's products with units on hand, looked up by what a row's product field may
    hold: the picked "name · SKU", a scanned barcode, a typed SKU or an exact name."""

    def __init__(self, levels: Sequence[StockLevel]) -> None:
        self.levels = list(levels)
        self._by_sku = {level.product.sku.casefold(): level for level in self.levels}
        self._by_barcode = {
            level.product.barcode: level for level in self.levels if level.product.barcode
        }
        self._by_name: dict[str, list[StockLevel]] = {}
        for level in self.levels:
            self._by_name.setdefault(level.product.name.casefold(), []).append(level)

    def find(self, text: str) -> StockLevel:
        """The level `text` names; ValidationError when none or several do."""
        picked = text.rpartition(PRODUCT_SKU_SEPARATOR)[2].strip()
        level = (
            self._by_sku.get(picked.casefold())
            or self._by_barcode.get(text)
            or self._by_sku.get(text.casefold())
        )
        if level is not None:
            return level
        named = self._by_name.get(text.casefold(), [])
        if len(named) == 1:
            return named[0]
        if named:
            raise ValidationError(
                _("Several products are called “%(text)s”: pick one from the list."),
                code="ambiguous",
                params={"text": text},
            )
        raise ValidationError(
            _("No product with units on hand here matches “%(text)s”: pick one from the list."),
            code="unknown",
            params={"text": text},
        )


class LossRowForm(forms.Form):
    """One row of the batch: a product the store has units of, how many were lost (at most
    what is on hand), why, and a note."""

    product = forms.CharField(
        label=_("Product"),
        max_length=200,
        widget=forms.TextInput(attrs={"list": "loss-products", "autocomplete": "off"}),
    )
    quantity = forms.IntegerField(
        label=_("Quantity lost"),
        min_value=1,
        max_value=QUANTITY_MAX,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    reason = forms.ChoiceField(
        label=_("Reason"), choices=[("", pgettext_lazy("no choice", "—")), *LossReason.choices]
    )
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX_LENGTH, required=False, strip=True)

    def __init__(self, *args: Any, stock: LossStock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stock = stock
        self.level: StockLevel | None = None

    def clean_product(self) -> Any:
        self.level = self.stock.find(self.cleaned_data["product"])
        return self.level.product

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        quantity = data.get("quantity")
        if self.level is not None and quantity is not None and quantity > self.level.on_hand:
            self.add_error(
                "quantity",
                ValidationError(
                    _("Only %(on_hand)s on hand."),
                    code="stock",
                    params={
                        "on_hand": quantity_with_unit(self.level.on_hand, self.level.product.unit)
                    },
                ),
            )
        return data


class BaseLossRowFormSet(forms.BaseFormSet):
    """The batch's rows: empty rows are skipped, a product on two rows is refused on the
    later one, and at least one row must be filled in."""

    def clean(self) -> None:
        self._check_products_once()
        if not any(self.errors) and not self.filled_forms():
            raise ValidationError(_("Fill in at least one row."), code="empty")

    def _check_products_once(self) -> None:
        seen: set[int] = set()
        for form in self.forms:
            if form.level is None or "product" not in form.cleaned_data:
                continue
            if form.level.product_id in seen:
                form.add_error(
                    "product",
                    ValidationError(
                        _(
                            "%(product)s is already on a row above: put all its lost units "
                            "on one row."
                        ),
                        code="repeated",
                        params={"product": form.level.product.name},
                    ),
                )
            seen.add(form.level.product_id)

    def filled_forms(self) -> list[LossRowForm]:
        return [form for form in self.forms if form.has_changed()]

    def loss_rows(self) -> list[tuple[LossRowForm, LossInput]]:
        """(form, row for `losses_record`) of every filled-in row, in the page's order; call
        once the formset is valid."""
        return [
            (
                form,
                LossInput(
                    product=form.cleaned_data["product"],
                    quantity=form.cleaned_data["quantity"],
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                ),
            )
            for form in self.filled_forms()
        ]


LossRowFormSet = forms.formset_factory(
    LossRowForm,
    formset=BaseLossRowFormSet,
    extra=LOSS_BATCH_EMPTY_ROWS,
    max_num=LOSS_BATCH_MAX_ROWS,
    absolute_max=LOSS_BATCH_MAX_ROWS,
    validate_max=True,
)


class ReceiptDisputeForm(forms.Form):
    """The supplier's dispute of one store's receipt of one line: the units they say were
    delivered and why (the service checks the numbers against the receipt)."""

    claimed_quantity = forms.IntegerField(
        label=_("Units you delivered"),
        min_value=0,
        max_value=1_000_000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    note = forms.CharField(
        label=_("Why you disagree"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        # Named under its label ("Why you disagree") on the page and at the top: the
        # service's standalone "Say why you disagree: …" would say it twice.
        error_messages={"required": _("A note is required.")},
    )
