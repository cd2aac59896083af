"""Supplier and supplier-product imports (CSV formats in docs/csv-formats.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.catalog.models import Product
from apps.procurement.models import Supplier, SupplierProduct
from apps.procurement.models.core import OFFER_MIN_ORDER_MAX, OFFER_PACK_SIZE_MAX
from linli.imports.contract import (
    UNKNOWN_SKU,
    CodeCells,
    Column,
    ErrorLog,
    FirstSeen,
    ImportReport,
    KeyedRow,
    RowCells,
    Table,
    UnknownCode,
    choices_with_labels,
    duplicate_reason,
    header_check,
    import_transaction,
    in_chunks,
    rows_upsert,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

SUPPLIER_COLUMNS = (
    Column("code", required=True),
    Column("name", required=True),
    Column("kind", required=True),
    Column("contact_name"),
    Column("phone"),
    Column("province"),
    Column("is_active"),
)
SUPPLIER_PRODUCT_COLUMNS = (
    Column("supplier_code", required=True),
    Column("sku", required=True),
    Column("cost", required=True),
    Column("lead_time_days"),
    Column("min_order_qty"),
    Column("pack_size"),
    Column("is_preferred"),
)
UNKNOWN_SUPPLIER = UnknownCode(
    "unknown_supplier", gettext_lazy("Unknown supplier code “%(code)s”.")
)
KINDS = choices_with_labels(
    Supplier.Kind.choices,
    farm="farm",
    果园="farm",
    农场="farm",
    工厂="factory",
    经销商="distributor",
)


def suppliers_import(
    *, table: Table, dry_run: bool = False, by: AbstractBaseUser | None = None
) -> ImportReport:
    """Create or update suppliers by code; all rows or none. Phones are validated and stored
    normalised (+86…); empty optional cells keep the stored value."""
    report = ImportReport(kind="suppliers", dry_run=dry_run)
    log = ErrorLog()
    positions = header_check(table.header, SUPPLIER_COLUMNS, log)
    width = len(table.header)
    duplicates = FirstSeen()
    parsed: list[KeyedRow] = []
    for number, cells in table.rows:
        report.rows += 1
        row = RowCells(number, cells, positions, log, width=width)
        code = row.text("code", required=True, max_length=16)
        first = duplicates.seen(code, number) if code else None
        if first is not None:
            row.error("code", "duplicate", duplicate_reason(value=code, first_row=first))
        values = {
            "name": row.text("name", required=True, max_length=100) or None,
            "kind": row.choice("kind", required=True, choices=KINDS) or None,
            "contact_name": row.text("contact_name", max_length=40) or None,
            "phone": row.phone("phone") or None,
            "province": row.text("province", max_length=20) or None,
            "is_active": row.boolean("is_active"),
        }
        if row.valid:
            parsed.append(KeyedRow(number=number, key=code, values=values))
    with import_transaction(log):
        query = Supplier.objects.all()
        if not dry_run:
            query = query.select_for_update().order_by("pk")
        existing = {s.code: s for s in in_chunks(query, "code", [r.key for r in parsed])}
        rows_upsert(
            model=Supplier,
            rows=parsed,
            existing=existing,
            key_fields=lambda code: {"code": code},
            fields=["name", "kind", "contact_name", "phone", "province", "is_active"],
            report=report,
            dry_run=dry_run or bool(log),
        )
    return report.finish(log)


def supplier_products_import(
    *, table: Table, dry_run: bool = False, by: AbstractBaseUser | None = None
) -> ImportReport:
    """Create or update what suppliers sell us, keyed by (supplier code, SKU); all or none."""
    report = ImportReport(kind="supplier_products", dry_run=dry_run)
    log = ErrorLog()
    positions = header_check(table.header, SUPPLIER_PRODUCT_COLUMNS, log)
    width = len(table.header)
    duplicates = FirstSeen()
    # The codes of every row, bad rows included, so unknown ones are reported with the rest.
    supplier_cells = CodeCells("supplier_code", UNKNOWN_SUPPLIER)
    sku_cells = CodeCells("sku", UNKNOWN_SKU)
    parsed: list[KeyedRow] = []
    for number, cells in table.rows:
        report.rows += 1
        row = RowCells(number, cells, positions, log, width=width)
        supplier_code = row.text("supplier_code", required=True)
        sku = row.text("sku", required=True)
        supplier_cells.add(number, supplier_code)
        sku_cells.add(number, sku)
        first = duplicates.seen((supplier_code, sku), number) if supplier_code and sku else None
        if first is not None:
            row.error(
                "sku",
                "duplicate",
                _("Supplier %(supplier)s and SKU %(sku)s already appear on row %(row)d.")
                % {"supplier": supplier_code, "sku": sku, "row": first},
            )
        values = {
            "cost": row.decimal("cost", required=True, max_digits=10),
            "lead_time_days": row.integer("lead_time_days", minimum=0, maximum=365),
            "min_order_qty": row.integer("min_order_qty", minimum=1, maximum=OFFER_MIN_ORDER_MAX),
            "pack_size": row.integer("pack_size", minimum=1, maximum=OFFER_PACK_SIZE_MAX),
            "is_preferred": row.boolean("is_preferred"),
        }
        if row.valid:
            parsed.append(KeyedRow(number=number, key=(supplier_code, sku), values=values))
    suppliers = supplier_cells.resolve(queryset=Supplier.objects.all(), field="code", log=log)
    products = sku_cells.resolve(queryset=Product.objects.all(), field="sku", log=log)
    if log:
        return report.finish(log)
    ids = {row.key: (suppliers[row.key[0]], products[row.key[1]]) for row in parsed}
    with import_transaction(log):
        query = SupplierProduct.objects.filter(
            supplier_id__in={pair[0] for pair in ids.values()},
            product_id__in={pair[1] for pair in ids.values()},
        )
        if not dry_run:
            query = query.select_for_update().order_by("pk")
        by_ids = {(offer.supplier_id, offer.product_id): offer for offer in query}
        existing = {key: by_ids[pair] for key, pair in ids.items() if pair in by_ids}
        rows_upsert(
            model=SupplierProduct,
            rows=parsed,
            existing=existing,
            key_fields=lambda key: {"supplier_id": ids[key][0], "product_id": ids[key][1]},
            fields=["cost", "lead_time_days", "min_order_qty", "pack_size", "is_preferred"],
            report=report,
            dry_run=dry_run,
        )
    return report.finish(log)
