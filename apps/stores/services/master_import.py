"""Region and store imports (CSV formats in docs/csv-formats.md): all rows or none, set-wise.

Both match rows to what exists by code, so re-importing a file changes nothing. Owners and
other staff are not created here: a store needs only its region (staff roles are given in the
admin, where the users are).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from apps.stores.models import Region, Store
from linli.imports.contract import (
    UNKNOWN_REGION,
    CellError,
    CodeCells,
    Column,
    ErrorLog,
    FirstSeen,
    ImportReport,
    KeyedRow,
    RowCells,
    Table,
    choices_with_labels,
    day_latest,
    duplicate_reason,
    header_check,
    import_transaction,
    in_chunks,
    rows_upsert,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

REGION_COLUMNS = (
    Column("code", required=True),
    Column("name", required=True),
    Column("city", required=True),
)
STORE_COLUMNS = (
    Column("code", required=True),
    Column("name", required=True),
    Column("region", required=True),
    Column("address"),
    Column("latitude"),
    Column("longitude"),
    Column("status"),
    Column("opened_on"),
)
STATUSES = choices_with_labels(
    Store.Status.choices,
    筹备="preparing",
    筹备中="preparing",
    营业="open",
    营业中="open",
    暂停="suspended",
    停业="suspended",
    关闭="closed",
    已关闭="closed",
)
# A store that is being prepared may have its planned opening day up to a year ahead.
OPENING_HORIZON = dt.timedelta(days=366)
COORDINATE_STEP = Decimal("0.000001")
STORE_FIELDS = (
    "name",
    "region_id",
    "address",
    "latitude",
    "longitude",
    "status",
    "opened_on",
)
WRITE_BATCH = 2000


def _coordinate(value: str, *, limit: int) -> Decimal:
    """A latitude (limit 90) or longitude (limit 180) in degrees, rounded to 6 decimals (about
    0.1 m: GPS exports often carry more)."""
    try:
        number = Decimal(value)
    except InvalidOperation as error:
        raise CellError(
            "invalid_number", _("“%(value)s” is not a number.") % {"value": value}
        ) from error
    if not number.is_finite():
        raise CellError("invalid_number", _("“%(value)s” is not a number.") % {"value": value})
    if number < -limit:
        raise CellError(
            "below_minimum",
            _("“%(value)s” is below the minimum of %(minimum)s.")
            % {"value": value, "minimum": -limit},
        )
    if number > limit:
        raise CellError(
            "above_maximum",
            _("“%(value)s” is above the maximum of %(maximum)d.")
            % {"value": value, "maximum": limit},
        )
    return number.quantize(COORDINATE_STEP, rounding=ROUND_HALF_UP)


# --- regions -----------------------------------------------------------------------------------


def regions_import(
    *, table: Table, dry_run: bool = False, by: AbstractBaseUser | None = None
) -> ImportReport:
    """Create or update regions by code; all rows or none."""
    report = ImportReport(kind="regions", dry_run=dry_run)
    log = ErrorLog()
    positions = header_check(table.header, REGION_COLUMNS, log)
    width = len(table.header)
    duplicates = FirstSeen()
    parsed: list[tuple[int, str, dict[str, str]]] = []
    for number, cells in table.rows:
        report.rows += 1
        row = RowCells(number, cells, positions, log, width=width)
        code = row.text("code", required=True, max_length=16)
        if code:
            first = duplicates.seen(code, number)
            if first is not None:
                row.error("code", "duplicate", duplicate_reason(value=code, first_row=first))
        values = {
            "name": row.text("name", required=True, max_length=60),
            "city": row.text("city", required=True, max_length=40),
        }
        if row.valid:
            parsed.append((number, code, values))
    if not log:
        with import_transaction(log):
            _regions_write(parsed=parsed, report=report, dry_run=dry_run)
    return report.finish(log)


def _regions_write(
    *, parsed: list[tuple[int, str, dict[str, str]]], report: ImportReport, dry_run: bool
) -> None:
    query = Region.objects.all() if dry_run else Region.objects.select_for_update().order_by("pk")
    existing = {region.code: region for region in in_chunks(query, "code", [r[1] for r in parsed])}
    rows_upsert(
        model=Region,
        rows=[KeyedRow(number=number, key=code, values=values) for number, code, values in parsed],
        existing=existing,
        key_fields=lambda code: {"code": code},
        fields=("name", "city"),
        report=report,
        dry_run=dry_run,
        batch_size=WRITE_BATCH,
    )


# --- stores ------------------------------------------------------------------------------------


@dataclass
class _StoreRow:
    number: int
    code: str
    region_code: str
    # Fields to set; None means "not given: keep what the store has (new: the default)".
    values: dict[str, Any]


def stores_import(
    *, table: Table, dry_run: bool = False, by: AbstractBaseUser | None = None
) -> ImportReport:
    """Create or update stores by code; all rows or none.

    The region is given by its code and must exist (import regions first). Empty optional
    cells keep what the store has; `opened_on` may lie up to a year ahead (a store being
    prepared).
    """
    report = ImportReport(kind="stores", dry_run=dry_run)
    log = ErrorLog()
    positions = header_check(table.header, STORE_COLUMNS, log)
    width = len(table.header)
    duplicates = FirstSeen()
    latest_opening = day_latest(tolerance=OPENING_HORIZON)
    region_cells = CodeCells("region", UNKNOWN_REGION)
    parsed: list[_StoreRow] = []
    for number, cells in table.rows:
        report.rows += 1
        row = RowCells(number, cells, positions, log, width=width)
        code = row.text("code", required=True, max_length=16)
        if code:
            first = duplicates.seen(code, number)
            if first is not None:
                row.error("code", "duplicate", duplicate_reason(value=code, first_row=first))
        values = {
            "name": row.text("name", required=True, max_length=80) or None,
            "address": row.text("address", max_length=200) or None,
            "latitude": row.parse("latitude", _coordinate, limit=90),
            "longitude": row.parse("longitude", _coordinate, limit=180),
            "status": row.choice("status", choices=STATUSES) or None,
            "opened_on": row.day("opened_on", latest=latest_opening),
        }
        region_code = row.text("region", required=True)
        region_cells.add(number, region_code)
        if row.valid:
            parsed.append(
                _StoreRow(number=number, code=code, region_code=region_code, values=values)
            )
    regions = region_cells.resolve(queryset=Region.objects.all(), field="code", log=log)
    if not log:
        with import_transaction(log):
            _stores_write(parsed=parsed, regions=regions, report=report, dry_run=dry_run)
    return report.finish(log)


def _stores_write(
    *, parsed: list[_StoreRow], regions: dict[str, int], report: ImportReport, dry_run: bool
) -> None:
    query = Store.objects.all() if dry_run else Store.objects.select_for_update().order_by("pk")
    existing = {store.code: store for store in in_chunks(query, "code", [r.code for r in parsed])}
    rows_upsert(
        model=Store,
        rows=[
            KeyedRow(
                number=row.number,
                key=row.code,
                values={**row.values, "region_id": regions[row.region_code]},
            )
            for row in parsed
        ],
        existing=existing,
        key_fields=lambda code: {"code": code},
        fields=STORE_FIELDS,
        report=report,
        dry_run=dry_run,
        batch_size=WRITE_BATCH,
    )
