"""Product import (CSV format in docs/csv-formats.md): all rows or none, set-wise."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from apps.catalog.models import Category, Product
from linli.imports.contract import (
    ACTION_NEW,
    ACTION_SKIP,
    ACTION_UPDATE,
    Column,
    ErrorLog,
    FirstSeen,
    ImportReport,
    RowCells,
    Table,
    choices_with_labels,
    duplicate_reason,
    header_check,
    import_transaction,
    in_chunks,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

PRODUCT_COLUMNS = (
    Column("sku", required=True),
    Column("name", required=True),
    Column("category", required=True),
    Column("price", required=True),
    Column("unit"),
    Column("cost"),
    Column("barcode"),
    Column("shelf_life_days"),
    Column("is_new"),
    Column("is_high_value"),
    Column("is_active"),
)
UNITS = choices_with_labels(
    Product.Unit.choices,
    个="piece",
    件="piece",
    盒="box",
    袋="bag",
    瓶="bottle",
    公斤="kg",
    包="pack",
)
# Fields an import may set (besides sku); bulk_update writes exactly these.
PRODUCT_FIELDS = (
    "name",
    "category_id",
    "price",
    "unit",
    "cost",
    "barcode",
    "shelf_life_days",
    "is_new",
    "is_high_value",
    "is_active",
)
WRITE_BATCH = 2000


@dataclass
class _ProductRow:
    number: int
    sku: str
    category_code: str
    values: dict[str, Any]


def products_import(
    *, table: Table, dry_run: bool = False, by: AbstractBaseUser | None = None
) -> ImportReport:
    """Create or update products by SKU; all rows or none.

    Given cells overwrite, empty optional cells leave the product as it is (new products get
    the model defaults). The category is given by its code and must exist; a barcode must not
    belong to another product.
    """
    report = ImportReport(kind="products", dry_run=dry_run)
    log = ErrorLog()
    positions = header_check(table.header, PRODUCT_COLUMNS, log)
    width = len(table.header)
    duplicates = {"sku": FirstSeen(), "barcode": FirstSeen()}
    parsed: list[_ProductRow] = []
    for number, cells in table.rows:
        report.rows += 1
        row = RowCells(number, cells, positions, log, width=width)
        sku = row.text("sku", required=True, max_length=32)
        barcode = row.text("barcode", max_length=32)
        for column, key in (("sku", sku), ("barcode", barcode)):
            first = duplicates[column].seen(key, number) if key else None
            if first is not None:
                row.error(column, "duplicate", duplicate_reason(value=key, first_row=first))
        values = {
            "name": row.text("name", required=True, max_length=120) or None,
            "price": row.decimal("price", required=True, max_digits=10),
            "unit": row.choice("unit", choices=UNITS) or None,
            "cost": row.decimal("cost", max_digits=10),
            "barcode": barcode or None,
            "shelf_life_days": row.integer("shelf_life_days", minimum=0, maximum=36500),
            "is_new": row.boolean("is_new"),
            "is_high_value": row.boolean("is_high_value"),
            "is_active": row.boolean("is_active"),
        }
        category_code = row.text("category", required=True)
        if row.valid:
            parsed.append(
                _ProductRow(number=number, sku=sku, category_code=category_code, values=values)
            )
    with import_transaction(log):
        _products_write(parsed=parsed, report=report, log=log, dry_run=dry_run)
    return report.finish(log)


def _products_write(
    *, parsed: list[_ProductRow], report: ImportReport, log: ErrorLog, dry_run: bool
) -> None:
    categories = dict(
        in_chunks(
            Category.objects.values_list("code", "pk"),
            "code",
            {row.category_code for row in parsed},
        )
    )
    query = Product.objects.all() if dry_run else Product.objects.select_for_update().order_by("pk")
    existing = {
        product.sku: product for product in in_chunks(query, "sku", [r.sku for r in parsed])
    }
    barcode_owner = dict(
        in_chunks(
            Product.objects.values_list("barcode", "sku"),
            "barcode",
            [row.values["barcode"] for row in parsed if row.values["barcode"]],
        )
    )
    for row in parsed:
        if row.category_code not in categories:
            log.add(
                row.number,
                "category",
                "unknown_category",
                _("Unknown category code “%(code)s”.") % {"code": row.category_code},
            )
        barcode = row.values["barcode"]
        if barcode and barcode_owner.get(barcode, row.sku) != row.sku:
            log.add(
                row.number,
                "barcode",
                "conflict",
                _("Barcode “%(barcode)s” belongs to product %(sku)s.")
                % {"barcode": barcode, "sku": barcode_owner[barcode]},
            )
    if log:
        return
    created: list[Product] = []
    changed: list[Product] = []
    for row in parsed:
        values = {key: value for key, value in row.values.items() if value is not None}
        values["category_id"] = categories[row.category_code]
        product = existing.get(row.sku)
        if product is None:
            values.setdefault("cost", Decimal("0.00"))
            created.append(Product(sku=row.sku, **values))
            report.created += 1
            report.row_actions[row.number] = ACTION_NEW
            continue
        differs = {key for key, value in values.items() if getattr(product, key) != value}
        for key in differs:
            setattr(product, key, values[key])
        if differs:
            changed.append(product)
            report.updated += 1
            report.row_actions[row.number] = ACTION_UPDATE
        else:
            report.unchanged += 1
            report.row_actions[row.number] = ACTION_SKIP
    if dry_run:
        return
    Product.objects.bulk_update(changed, fields=list(PRODUCT_FIELDS), batch_size=WRITE_BATCH)
    Product.objects.bulk_create(created, batch_size=WRITE_BATCH)
