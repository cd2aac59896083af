"""Product, category and weather imports (CSV formats in docs/csv-formats.md): all rows or
none, set-wise."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from apps.catalog.models import Category, Product, WeatherObservation
from linli.imports.contract import (
    ACTION_NEW,
    UNKNOWN_CATEGORY,
    WRITE_BATCH,
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
    duplicate_reason,
    header_check,
    import_transaction,
    in_chunks,
    instance_update_counted,
    parse_decimal,
    rows_upsert,
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
    category_cells = CodeCells("category", UNKNOWN_CATEGORY)
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
        category_cells.add(number, category_code)
        if row.valid:
            parsed.append(
                _ProductRow(number=number, sku=sku, category_code=category_code, values=values)
            )
    with import_transaction(log):
        _products_write(
            parsed=parsed, category_cells=category_cells, report=report, log=log, dry_run=dry_run
        )
    return report.finish(log)


def _products_write(
    *,
    parsed: list[_ProductRow],
    category_cells: CodeCells,
    report: ImportReport,
    log: ErrorLog,
    dry_run: bool,
) -> None:
    categories = category_cells.resolve(queryset=Category.objects.all(), field="code", log=log)
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
    rows_upsert(
        model=Product,
        rows=[
            KeyedRow(
                number=row.number,
                key=row.sku,
                values={**row.values, "category_id": categories[row.category_code]},
            )
            for row in parsed
        ],
        existing=existing,
        key_fields=lambda sku: {"sku": sku},
        fields=PRODUCT_FIELDS,
        report=report,
        dry_run=dry_run,
        defaults={"cost": Decimal("0.00")},
    )


# --- categories --------------------------------------------------------------------------------

CATEGORY_COLUMNS = (
    Column("code", required=True),
    Column("name", required=True),
    Column("parent"),
    Column("is_fresh"),
)


@dataclass
class _CategoryRow:
    number: int
    code: str
    parent_code: str
    # Fields to set; None means "not given: keep (new: the default)".
    values: dict[str, Any]


def categories_import(
    *, table: Table, dry_run: bool = False, by: AbstractBaseUser | None = None
) -> ImportReport:
    """Create or update categories by code; all rows or none.

    `parent` is a category code that exists or is a row of the same file, in any order (a
    parent may come after its children). A parent chain that returns to where it started
    (a category below itself) is refused on every row of the loop. An empty `parent` keeps
    the category's parent (an import never clears it).
    """
    report = ImportReport(kind="categories", dry_run=dry_run)
    log = ErrorLog()
    positions = header_check(table.header, CATEGORY_COLUMNS, log)
    width = len(table.header)
    duplicates = FirstSeen()
    # Every code the file gives and every parent it names, bad rows included, so an unknown
    # parent is reported with the rest of its row's errors.
    in_file: set[str] = set()
    parent_cells = CodeCells("parent", UNKNOWN_CATEGORY)
    parsed: list[_CategoryRow] = []
    for number, cells in table.rows:
        report.rows += 1
        row = RowCells(number, cells, positions, log, width=width)
        code = row.text("code", required=True, max_length=32)
        if code:
            first = duplicates.seen(code, number)
            if first is not None:
                row.error("code", "duplicate", duplicate_reason(value=code, first_row=first))
            in_file.add(code)
        parent_code = row.text("parent", max_length=32)
        parent_cells.add(number, parent_code)
        if code and parent_code == code:
            row.error(
                "parent",
                "parent_cycle",
                _("A category cannot be its own parent (“%(code)s”).") % {"code": code},
            )
        values = {
            "name": row.text("name", required=True, max_length=60) or None,
            "is_fresh": row.boolean("is_fresh"),
        }
        if row.valid:
            parsed.append(
                _CategoryRow(number=number, code=code, parent_code=parent_code, values=values)
            )
    with import_transaction(log):
        _categories_write(
            parsed=parsed,
            in_file=in_file,
            parent_cells=parent_cells,
            report=report,
            log=log,
            dry_run=dry_run,
        )
    return report.finish(log)


def _categories_write(
    *,
    parsed: list[_CategoryRow],
    in_file: set[str],
    parent_cells: CodeCells,
    report: ImportReport,
    log: ErrorLog,
    dry_run: bool,
) -> None:
    query = (
        Category.objects.all() if dry_run else Category.objects.select_for_update().order_by("pk")
    )
    codes = {row.code for row in parsed} | parent_cells.codes()
    existing = {category.code: category for category in in_chunks(query, "code", codes)}
    parent_cells.unknown_report(log, known=in_file | existing.keys())
    # The tree after the import, as code → parent code, for the categories this file touches
    # and every ancestor of them already stored.
    parent_of: dict[str, str | None] = {}
    code_of = {category.pk: code for code, category in existing.items()}
    missing = {category.parent_id for category in existing.values() if category.parent_id}
    while missing:
        ancestors = list(in_chunks(Category.objects.all(), "pk", missing))
        for category in ancestors:
            existing.setdefault(category.code, category)
            code_of[category.pk] = category.code
        missing = {c.parent_id for c in ancestors if c.parent_id} - code_of.keys()
    for code, category in existing.items():
        parent_of[code] = code_of.get(category.parent_id) if category.parent_id else None
    for row in parsed:
        if row.parent_code:
            parent_of[row.code] = row.parent_code
        else:
            parent_of.setdefault(row.code, None)
    for row in parsed:
        seen = {row.code}
        ancestor = parent_of.get(row.code)
        while ancestor is not None and ancestor not in seen:
            seen.add(ancestor)
            ancestor = parent_of.get(ancestor)
        # A loop further up is reported on its own rows; this row is in one only if the
        # chain comes back to it.
        if ancestor == row.code:
            log.add(
                row.number,
                "parent",
                "parent_cycle",
                _("“%(code)s” would end up below itself (its parents lead back to it).")
                % {"code": row.code},
            )
    if log:
        return
    created: list[Category] = []
    changed: dict[str, Category] = {}
    for row in parsed:
        values = {key: value for key, value in row.values.items() if value is not None}
        category = existing.get(row.code)
        if category is None:
            created.append(Category(code=row.code, **values))
            report.created += 1
            report.row_actions[row.number] = ACTION_NEW
            continue
        parent_moved = bool(row.parent_code) and (
            parent_of.get(row.code) != code_of.get(category.parent_id)
        )
        if instance_update_counted(
            instance=category,
            values=values,
            report=report,
            number=row.number,
            also_changed=parent_moved,
        ):
            changed[row.code] = category
    if dry_run:
        return
    # New categories first (without parents), then every parent link by primary key, so a
    # parent may be a row further down the file.
    Category.objects.bulk_create(created, batch_size=WRITE_BATCH)
    pk_of = {category.code: category.pk for category in existing.values()}
    pk_of.update({category.code: category.pk for category in created})
    by_code = {category.code: category for category in created}
    by_code.update(changed)
    for row in parsed:
        if row.parent_code and row.code in by_code:
            category = by_code[row.code]
            category.parent_id = pk_of[row.parent_code]
            changed[row.code] = category
    Category.objects.bulk_update(
        list(changed.values()), fields=["name", "is_fresh", "parent"], batch_size=WRITE_BATCH
    )


# --- weather -----------------------------------------------------------------------------------

WEATHER_COLUMNS = (
    Column("city", required=True),
    Column("day", required=True),
    Column("temp_max_c", required=True),
    Column("temp_min_c", required=True),
    Column("precipitation_mm"),
    Column("condition"),
    Column("kind"),
    Column("issued_on"),
)
WEATHER_KINDS = choices_with_labels(
    WeatherObservation.Kind.choices, 实况="observed", 预报="forecast"
)
# A forecast row may look this far past the day it was issued on.
FORECAST_REACH = dt.timedelta(days=30)
MAX_TEMPERATURE = 70
WEATHER_FIELDS = ("temp_max_c", "temp_min_c", "precipitation_mm", "condition", "issued_on")


def _temperature(value: str) -> Decimal:
    number = parse_decimal(value, places=1, max_digits=4, minimum=Decimal("-80"))
    if number > MAX_TEMPERATURE:
        raise CellError(
            "above_maximum",
            _("“%(value)s” is above the maximum of %(maximum)d.")
            % {"value": value, "maximum": MAX_TEMPERATURE},
        )
    return number


def weather_import(
    *, table: Table, dry_run: bool = False, by: AbstractBaseUser | None = None
) -> ImportReport:
    """Create or update daily weather per city by (city, day, kind); all rows or none.

    `kind` is `observed` (default) or `forecast`. An observation's day lies between 2000 and
    tomorrow; a forecast needs `issued_on` (same range) and a day from `issued_on` to 30
    days after it. Temperatures in °C with one decimal, the minimum not above the maximum.
    """
    report = ImportReport(kind="weather", dry_run=dry_run)
    log = ErrorLog()
    positions = header_check(table.header, WEATHER_COLUMNS, log)
    width = len(table.header)
    duplicates = FirstSeen()
    parsed: list[KeyedRow] = []  # keyed by (city, day, kind)
    for number, cells in table.rows:
        report.rows += 1
        row = RowCells(number, cells, positions, log, width=width)
        city = row.text("city", required=True, max_length=40)
        kind = row.choice("kind", choices=WEATHER_KINDS) or WeatherObservation.Kind.OBSERVED
        issued_on = row.day("issued_on")
        forecast = kind == WeatherObservation.Kind.FORECAST
        latest = issued_on + FORECAST_REACH if forecast and issued_on else None
        day = row.day("day", required=True, latest=latest)
        temp_max = row.parse("temp_max_c", _temperature, required=True)
        temp_min = row.parse("temp_min_c", _temperature, required=True)
        values = {
            "temp_max_c": temp_max,
            "temp_min_c": temp_min,
            "precipitation_mm": row.decimal("precipitation_mm", places=1, max_digits=6),
            "condition": row.text("condition", max_length=20) or None,
            "issued_on": issued_on if forecast else None,
        }
        if temp_max is not None and temp_min is not None and temp_min > temp_max:
            row.error(
                "temp_min_c",
                "min_above_max",
                _("The minimum temperature is above the maximum (%(max)s).") % {"max": temp_max},
            )
        if forecast and row.valid and issued_on is None:
            row.error(
                "issued_on", "required", _("A forecast needs the day it was issued on (issued_on).")
            )
        if forecast and issued_on and day and day < issued_on:
            row.error(
                "day",
                "before_issued",
                _("A forecast cannot be for a day before it was issued (%(issued)s).")
                % {"issued": issued_on.isoformat()},
            )
        if city and day:
            first = duplicates.seen((city, day, kind), number)
            if first is not None:
                row.error(
                    "day",
                    "duplicate",
                    _("The same city, day and kind already appear on row %(row)d.")
                    % {"row": first},
                )
        if row.valid:
            parsed.append(KeyedRow(number=number, key=(city, day, kind), values=values))
    if not log:
        with import_transaction(log):
            _weather_write(parsed=parsed, report=report, dry_run=dry_run)
    return report.finish(log)


def _weather_write(*, parsed: list[KeyedRow], report: ImportReport, dry_run: bool) -> None:
    if not parsed:
        return
    query = WeatherObservation.objects.filter(
        city__in={row.key[0] for row in parsed},
        day__gte=min(row.key[1] for row in parsed),
        day__lte=max(row.key[1] for row in parsed),
    )
    if not dry_run:
        query = query.select_for_update().order_by("pk")
    existing = {(obs.city, obs.day, obs.kind): obs for obs in query}
    rows_upsert(
        model=WeatherObservation,
        rows=parsed,
        existing=existing,
        key_fields=lambda key: {"city": key[0], "day": key[1], "kind": key[2]},
        fields=WEATHER_FIELDS,
        report=report,
        dry_run=dry_run,
    )
