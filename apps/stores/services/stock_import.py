"""Stock level import (a stock count): counted on-hand per store and SKU, through the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.catalog.models import Product
from apps.stores.models import StockLevel, StockMovement, Store
from linli.imports.contract import (
    ACTION_NEW,
    ACTION_SKIP,
    ACTION_UPDATE,
    UNKNOWN_SKU,
    UNKNOWN_STORE,
    CodeCells,
    Column,
    ErrorLog,
    FirstSeen,
    ImportReport,
    RowCells,
    Table,
    header_check,
    import_transaction,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

STOCK_COLUMNS = (
    Column("store_code", required=True),
    Column("sku", required=True),
    Column("on_hand", required=True),
    Column("note"),
)
MAX_ON_HAND = 2_147_483_647
WRITE_BATCH = 2000


@dataclass
class _StockRow:
    number: int
    store_code: str
    sku: str
    on_hand: int
    note: str


def stock_levels_import(
    *, table: Table, dry_run: bool = False, by: AbstractBaseUser | None = None
) -> ImportReport:
    """Set on-hand to the counted quantities; all rows or none.

    Each change is one ADJUSTMENT movement of (counted − current) in the stock ledger, written
    in the same transaction as the new on-hand, so on-hand keeps equal to the ledger. Existing
    levels are locked (`select_for_update`, in primary-key order) before they are read, so a
    sale that runs concurrently either lands before the count is applied or waits for it.
    A row whose count equals on-hand writes nothing.
    """
    report = ImportReport(kind="stock_levels", dry_run=dry_run)
    log = ErrorLog()
    positions = header_check(table.header, STOCK_COLUMNS, log)
    width = len(table.header)
    duplicates = FirstSeen()
    # The codes of every row, bad rows included, so unknown ones are reported with the rest.
    store_cells = CodeCells("store_code", UNKNOWN_STORE)
    sku_cells = CodeCells("sku", UNKNOWN_SKU)
    parsed: list[_StockRow] = []
    for number, cells in table.rows:
        report.rows += 1
        row = RowCells(number, cells, positions, log, width=width)
        store_code = row.text("store_code", required=True)
        sku = row.text("sku", required=True)
        store_cells.add(number, store_code)
        sku_cells.add(number, sku)
        on_hand = row.integer("on_hand", required=True, minimum=0, maximum=MAX_ON_HAND)
        note = row.text("note", max_length=200)
        if store_code and sku:
            first = duplicates.seen((store_code, sku), number)
            if first is not None:
                row.error(
                    "sku",
                    "duplicate",
                    _("Store %(store)s and SKU %(sku)s already appear on row %(row)d.")
                    % {"store": store_code, "sku": sku, "row": first},
                )
        if row.valid:
            parsed.append(
                _StockRow(number=number, store_code=store_code, sku=sku, on_hand=on_hand, note=note)
            )
    with import_transaction(log):
        _stock_write(
            parsed=parsed,
            store_cells=store_cells,
            sku_cells=sku_cells,
            report=report,
            log=log,
            dry_run=dry_run,
            by=by,
        )
    return report.finish(log)


def _stock_write(
    *,
    parsed: list[_StockRow],
    store_cells: CodeCells,
    sku_cells: CodeCells,
    report: ImportReport,
    log: ErrorLog,
    dry_run: bool,
    by: AbstractBaseUser | None,
) -> None:
    stores = store_cells.resolve(queryset=Store.objects.all(), field="code", log=log)
    products = sku_cells.resolve(queryset=Product.objects.all(), field="sku", log=log)
    if log or not parsed:
        return
    levels: dict[tuple[int, int], StockLevel] = {}
    query = StockLevel.objects.all() if dry_run else StockLevel.objects.select_for_update()
    pairs = [(stores[row.store_code], products[row.sku]) for row in parsed]
    for start in range(0, len(pairs), WRITE_BATCH):
        chunk = Q()
        for store_id, product_id in pairs[start : start + WRITE_BATCH]:
            chunk |= Q(store_id=store_id, product_id=product_id)
        for level in query.filter(chunk).order_by("pk"):
            levels[(level.store_id, level.product_id)] = level

    now = timezone.now()
    created: list[StockLevel] = []
    changed: list[StockLevel] = []
    movements: list[StockMovement] = []
    for row, (store_id, product_id) in zip(parsed, pairs, strict=True):
        level = levels.get((store_id, product_id))
        current = level.on_hand if level is not None else 0
        if level is None:
            created.append(
                StockLevel(store_id=store_id, product_id=product_id, on_hand=row.on_hand)
            )
            report.created += 1
            report.row_actions[row.number] = ACTION_NEW
        elif current != row.on_hand:
            level.on_hand = row.on_hand
            level.updated_at = now
            changed.append(level)
            report.updated += 1
            report.row_actions[row.number] = ACTION_UPDATE
        else:
            report.unchanged += 1
            report.row_actions[row.number] = ACTION_SKIP
        if row.on_hand != current:
            movements.append(
                StockMovement(
                    store_id=store_id,
                    product_id=product_id,
                    kind=StockMovement.Kind.ADJUSTMENT,
                    quantity=row.on_hand - current,
                    note=row.note or _("Stock count import"),
                    created_by=by,
                    created_at=now,
                )
            )
    if dry_run:
        return
    StockLevel.objects.bulk_create(created, batch_size=WRITE_BATCH)
    StockLevel.objects.bulk_update(
        changed, fields=["on_hand", "updated_at"], batch_size=WRITE_BATCH
    )
    StockMovement.objects.bulk_create(movements, batch_size=WRITE_BATCH)
