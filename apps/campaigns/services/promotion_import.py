"""Promotion import (CSV format in docs/csv-formats.md § promotions): all rows or none.

A row is one promotion: its kind, one product (SKU) or one category, where (stores and / or a
region; neither is the whole network), when (whole days), and how deep (a discount percent,
or a promotional price turned into one against the product's reference price). Re-importing
a file updates the same promotions instead of adding new ones.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from apps.campaigns.models import Promotion
from apps.catalog.models import Category, Product
from apps.stores.models import Region, Store
from linli.imports.contract import (
    ACTION_NEW,
    UNKNOWN_CATEGORY,
    UNKNOWN_REGION,
    UNKNOWN_SKU,
    WRITE_BATCH,
    CodeCells,
    Column,
    ErrorLog,
    FirstSeen,
    ImportReport,
    RowCells,
    Table,
    UnreadableRow,
    choices_with_labels,
    codes_resolve,
    day_latest,
    header_check,
    import_transaction,
    in_chunks,
    instance_update_counted,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

PROMOTION_COLUMNS = (
    Column("kind", required=True),
    Column("sku"),
    Column("category"),
    Column("stores"),
    Column("region"),
    Column("starts_on", required=True),
    Column("ends_on", required=True),
    Column("promo_price"),
    Column("discount_percent"),
    Column("name"),
    Column("status"),
)
KINDS = choices_with_labels(
    Promotion.Kind.choices,
    feature="feature",
    price_cut="price",
    deal="price",
    display="feature",
    flyer="feature",
    live="broadcast",
    groupbuy="group_buy",
    促销="price",
    降价="price",
    特价="price",
    堆头="feature",
    海报="feature",
    陈列="feature",
    直播="broadcast",
    团购="group_buy",
    接龙="group_buy",
)
STATUSES = choices_with_labels(Promotion.Status.choices, 计划="planned", 取消="cancelled")
# Promotions are planned ahead: their days may lie up to a year in the future.
PLANNING_HORIZON = dt.timedelta(days=366)
MAX_DISCOUNT = 90
STORE_SEPARATORS = re.compile(r"[\s;；,，|、]+")


@dataclass
class _PromotionRow:
    number: int
    kind: str
    sku: str
    category_code: str
    store_codes: tuple[str, ...]
    region_code: str
    starts_on: dt.date
    ends_on: dt.date
    promo_price: Decimal | None
    discount_percent: int | None
    name: str
    status: str  # "" when not given


class _References:
    """The codes the rows of a file name, bad rows included (see `CodeCells`). A `stores`
    cell may name several stores; its unknown ones are reported together."""

    def __init__(self) -> None:
        self.skus = CodeCells("sku", UNKNOWN_SKU)
        self.categories = CodeCells("category", UNKNOWN_CATEGORY)
        self.regions = CodeCells("region", UNKNOWN_REGION)
        self.stores: list[tuple[int, tuple[str, ...]]] = []


# What makes two promotions the same: kind, product or category, stores, region and days.
_Key = tuple[str, int | None, int | None, frozenset[int], int | None, dt.date, dt.date]


def promotions_import(
    *, table: Table, dry_run: bool = False, by: AbstractBaseUser | None = None
) -> ImportReport:
    """Create or update promotions; all rows or none.

    A row matches a stored promotion (not one planned by a store campaign) with the same kind,
    product or category, stores, region, first and last day; a match gets the row's name,
    discount and status, anything else is created (by `by`). `promo_price` needs a product
    and becomes `discount_percent` = round(100 × (1 − promo_price ÷ product price)); the
    model's rules (0–90 %, a price promotion has a discount, ends on or after it starts) are
    checked per row, so no row reaches the database constraints.
    """
    report = ImportReport(kind="promotions", dry_run=dry_run)
    log = ErrorLog()
    positions = header_check(table.header, PROMOTION_COLUMNS, log)
    width = len(table.header)
    latest = day_latest(tolerance=PLANNING_HORIZON)
    # The codes of every row, bad rows included, so unknown ones are reported in the same run
    # as the rows' other errors.
    references = _References()
    parsed: list[_PromotionRow] = []
    for number, cells in table.rows:
        report.rows += 1
        row = RowCells(number, cells, positions, log, width=width)
        kind = row.choice("kind", choices=KINDS, required=True)
        sku = row.text("sku", max_length=32)
        category_code = row.text("category", max_length=32)
        if sku and category_code:
            row.error(
                "category",
                "product_or_category",
                _("Give either a SKU or a category, not both."),
            )
        elif not sku and not category_code and not isinstance(cells, UnreadableRow):
            row.error("sku", "product_or_category", _("Give a SKU or a category code."))
        store_codes = tuple(
            dict.fromkeys(code for code in STORE_SEPARATORS.split(row.text("stores")) if code)
        )
        region_code = row.text("region", max_length=16)
        starts_on = row.day("starts_on", required=True, latest=latest)
        ends_on = row.day("ends_on", required=True, latest=latest)
        if starts_on and ends_on and ends_on < starts_on:
            row.error(
                "ends_on",
                "ends_before_start",
                _("The promotion cannot end (%(ends)s) before it starts (%(starts)s).")
                % {"ends": ends_on.isoformat(), "starts": starts_on.isoformat()},
            )
        promo_price = row.decimal("promo_price", max_digits=10)
        discount = row.integer("discount_percent", minimum=0, maximum=MAX_DISCOUNT)
        if promo_price is not None and row.raw("discount_percent"):
            row.error(
                "promo_price",
                "price_or_discount",
                _("Give either a promotional price or a discount percent, not both."),
            )
        if promo_price is not None and category_code and not sku:
            row.error(
                "promo_price",
                "price_needs_product",
                _(
                    "A promotional price needs a product (SKU); for a category give "
                    "discount_percent."
                ),
            )
        if (
            kind == Promotion.Kind.PRICE
            and not row.raw("promo_price")
            and not row.raw("discount_percent")
        ):
            row.error(
                "discount_percent",
                "discount_required",
                _("A price promotion needs a discount: give promo_price or discount_percent."),
            )
        name = row.text("name", max_length=120)
        status = row.choice("status", choices=STATUSES)
        references.skus.add(number, sku)
        references.categories.add(number, category_code)
        references.regions.add(number, region_code)
        if store_codes:
            references.stores.append((number, store_codes))
        if row.valid:
            parsed.append(
                _PromotionRow(
                    number=number,
                    kind=kind,
                    sku=sku,
                    category_code=category_code,
                    store_codes=store_codes,
                    region_code=region_code,
                    starts_on=starts_on,
                    ends_on=ends_on,
                    promo_price=promo_price,
                    discount_percent=discount,
                    name=name,
                    status=status,
                )
            )
    # Codes are looked up even when some rows are already bad, so every problem is listed;
    # nothing is written unless the whole file is clean.
    with import_transaction(log):
        _promotions_write(
            parsed=parsed, references=references, report=report, log=log, dry_run=dry_run, by=by
        )
    return report.finish(log)


def _discount_from_price(*, promo_price: Decimal, reference: Decimal) -> int:
    return int(
        (Decimal(100) * (1 - promo_price / reference)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    )


def _promotions_write(
    *,
    parsed: list[_PromotionRow],
    references: _References,
    report: ImportReport,
    log: ErrorLog,
    dry_run: bool,
    by: AbstractBaseUser | None,
) -> None:
    products = {
        product.sku: product
        for product in in_chunks(
            Product.objects.only("pk", "sku", "price"), "sku", references.skus.codes()
        )
    }
    references.skus.unknown_report(log, known=products)
    categories = references.categories.resolve(
        queryset=Category.objects.all(), field="code", log=log
    )
    stores = codes_resolve(
        queryset=Store.objects.all(),
        field="code",
        codes={code for _number, codes in references.stores for code in codes},
    )
    for number, codes in references.stores:
        unknown = [code for code in codes if code not in stores]
        if unknown:
            log.add(
                number,
                "stores",
                "unknown_store",
                _("Unknown store code(s): %(codes)s.") % {"codes": ", ".join(unknown)},
            )
    regions = references.regions.resolve(queryset=Region.objects.all(), field="code", log=log)
    rows: list[tuple[_PromotionRow, _Key, int | None]] = []
    duplicates = FirstSeen()
    for row in parsed:
        errors_before = log.count
        product = products.get(row.sku) if row.sku else None
        codes_known = (
            (not row.sku or product is not None)
            and (not row.category_code or row.category_code in categories)
            and all(code in stores for code in row.store_codes)
            and (not row.region_code or row.region_code in regions)
        )
        discount = row.discount_percent
        if row.promo_price is not None and product is not None:
            if product.price <= 0:
                log.add(
                    row.number,
                    "promo_price",
                    "no_reference_price",
                    _("Product %(sku)s has no price to compare the promotional price with.")
                    % {"sku": product.sku},
                )
            elif row.promo_price > product.price:
                log.add(
                    row.number,
                    "promo_price",
                    "price_above_reference",
                    _("The promotional price %(price)s is above the product's price %(reference)s.")
                    % {"price": row.promo_price, "reference": product.price},
                )
            else:
                discount = _discount_from_price(
                    promo_price=row.promo_price, reference=product.price
                )
                if discount > MAX_DISCOUNT:
                    log.add(
                        row.number,
                        "promo_price",
                        "above_maximum",
                        _(
                            "The promotional price %(price)s is a discount of %(discount)d%% on "
                            "%(reference)s; at most %(max)d%% is allowed."
                        )
                        % {
                            "price": row.promo_price,
                            "discount": discount,
                            "reference": product.price,
                            "max": MAX_DISCOUNT,
                        },
                    )
        if log.count > errors_before or not codes_known:
            continue
        key: _Key = (
            row.kind,
            product.pk if product else None,
            categories.get(row.category_code) if row.category_code else None,
            frozenset(stores[code] for code in row.store_codes),
            regions.get(row.region_code) if row.region_code else None,
            row.starts_on,
            row.ends_on,
        )
        first = duplicates.seen(key, row.number)
        if first is not None:
            log.add(
                row.number,
                "",
                "duplicate",
                _(
                    "The same promotion (kind, product or category, stores, region, days) "
                    "already appears on row %(row)d."
                )
                % {"row": first},
            )
            continue
        rows.append((row, key, discount))
    if log or not rows:
        return

    query = Promotion.objects.filter(
        store_campaign__isnull=True,
        starts_on__in={key[5] for _row, key, _d in rows},
    )
    if not dry_run:
        query = query.select_for_update().order_by("pk")
    existing: dict[_Key, Promotion] = {}
    candidates = list(query)
    store_sets: dict[int, set[int]] = {}
    for promotion_id, store_id in in_chunks(
        Promotion.stores.through.objects.values_list("promotion_id", "store_id"),
        "promotion_id",
        [promotion.pk for promotion in candidates],
    ):
        store_sets.setdefault(promotion_id, set()).add(store_id)
    for promotion in candidates:
        key = (
            promotion.kind,
            promotion.product_id,
            promotion.category_id,
            frozenset(store_sets.get(promotion.pk, ())),
            promotion.region_id,
            promotion.starts_on,
            promotion.ends_on,
        )
        existing.setdefault(key, promotion)

    created: list[tuple[Promotion, frozenset[int]]] = []
    changed: list[Promotion] = []
    for row, key, discount in rows:
        values: dict[str, Any] = {
            "name": row.name or _default_name(row),
            "discount_percent": discount,
            "status": row.status or Promotion.Status.PLANNED,
        }
        promotion = existing.get(key)
        if promotion is None:
            created.append(
                (
                    Promotion(
                        kind=row.kind,
                        product_id=key[1],
                        category_id=key[2],
                        region_id=key[4],
                        starts_on=row.starts_on,
                        ends_on=row.ends_on,
                        created_by=by,
                        **values,
                    ),
                    key[3],
                )
            )
            report.created += 1
            report.row_actions[row.number] = ACTION_NEW
            continue
        # Empty optional cells keep what the promotion has (an import never clears a field).
        for field, given in (
            ("name", row.name),
            ("discount_percent", discount),
            ("status", row.status),
        ):
            if not given and given != 0:
                values.pop(field)
        if instance_update_counted(
            instance=promotion, values=values, report=report, number=row.number
        ):
            changed.append(promotion)
    if dry_run:
        return
    Promotion.objects.bulk_update(
        changed, fields=["name", "discount_percent", "status"], batch_size=WRITE_BATCH
    )
    Promotion.objects.bulk_create([promotion for promotion, _s in created], batch_size=WRITE_BATCH)
    Through = Promotion.stores.through  # noqa: N806 - a model class
    Through.objects.bulk_create(
        [
            Through(promotion_id=promotion.pk, store_id=store_id)
            for promotion, store_ids in created
            for store_id in sorted(store_ids)
        ],
        batch_size=WRITE_BATCH,
    )


def _default_name(row: _PromotionRow) -> str:
    """`price FRUIT-BERRY-001 2024-07-01…2024-07-07`: what and when, for the admin list."""
    what = row.sku or row.category_code
    return f"{row.kind} {what} {row.starts_on.isoformat()}…{row.ends_on.isoformat()}"[:120]
