"""The rounding surplus on the shelf (上架库存): which store gets the units a purchase-order line
orders beyond its stores' demand (docs/purchasing.md, "The rounding surplus goes on the
shelf").

Consolidation rounds a line up to the supplier's pack size and minimum order; the supplier
ships what is ordered, so the surplus arrives too. It is shared out over the line's stores as
stock for the shelf (no member order waits for it), computed here on every read rather than
stored, so consolidation's SQL stays as it is:

- the line's **shelf units** are its surplus less the part of the supplier's reported
  shortage it absorbs: `surplus − min(surplus, reported)`, where `reported` is the line's
  shortage less what stores found short at receiving (`receiving_short_quantity`): what a
  store finds missing at its door does not move another store's shelf units;
- they are split over the line's allocations in proportion to each store's demanded
  allocation (`quantity`), by largest remainder: each store gets the whole part of its share,
  the units left go one each to the largest remainders (ties: the larger allocation, then
  the lower store id) — the same rule as a draft's edit, which uses `shelf_split` too
  (`services.allocations.allocations_scaled`).

Every reader (pick lists, delivery plans and drop lists, the supplier's order page, the
admin, store receiving, "on order") goes through `shelf_from_rows` (or its wrappers
`shelf_quantities`, `shelf_quantities_attach`, `shelf_attach_to_lines`), so they all agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping

from django.db.models import QuerySet

from apps.procurement.models import PurchaseOrderAllocation, PurchaseOrderLine


def line_shelf_units(*, surplus: int, shortage: int, receiving_short: int = 0) -> int:
    """The units of a line's rounding surplus that arrive for the shelf: the surplus less
    the part of the supplier's reported shortage (the line's shortage less what stores found
    at receiving) it absorbs. A reported shortage eats the surplus first; only
    `max(0, reported − surplus)` is shared over the member orders
    (`allocations_short_update`)."""
    reported = max(0, shortage - receiving_short)
    return max(0, surplus - min(surplus, reported))


def shelf_split(*, units: int, allocations: Mapping[int, int]) -> dict[int, int]:
    """{store id: shelf units} for every store of `allocations` ({store id: demanded
    allocation}): `units` in proportion to the allocations, by largest remainder (ties: the
    larger allocation, then the lower store id). The values add up to `units` (0 for every
    store when there is no allocation to share over)."""
    shares = dict.fromkeys(allocations, 0)
    base = sum(allocations.values())
    if units <= 0 or base <= 0:
        return shares
    for store_id, quantity in allocations.items():
        shares[store_id] = quantity * units // base
    left = units - sum(shares.values())
    by_remainder = sorted(
        allocations,
        key=lambda store_id: (
            -(allocations[store_id] * units % base),
            -allocations[store_id],
            store_id,
        ),
    )
    for store_id in by_remainder[:left]:
        shares[store_id] += 1
    return shares


# The fields `shelf_from_rows` needs of every allocation of a line (`.values(*SHELF_FIELDS)`).
SHELF_FIELDS = (
    "pk",
    "line_id",
    "store_id",
    "quantity",
    "line__surplus_quantity",
    "line__shortage_quantity",
    "line__receiving_short_quantity",
)


def shelf_from_rows(rows: Iterable[Mapping[str, int]]) -> dict[int, int]:
    """{allocation id: shelf units} from rows already read with `SHELF_FIELDS`.
    Precondition: the rows hold every allocation of each line they touch (the split counts
    every store of the line)."""
    by_line: dict[int, dict[int, tuple[int, int]]] = defaultdict(dict)
    units_of: dict[int, int] = {}
    for row in rows:
        by_line[row["line_id"]][row["store_id"]] = (row["pk"], row["quantity"])
        units_of[row["line_id"]] = line_shelf_units(
            surplus=row["line__surplus_quantity"],
            shortage=row["line__shortage_quantity"],
            receiving_short=row["line__receiving_short_quantity"],
        )
    shelf: dict[int, int] = {}
    for line_id, stores in by_line.items():
        split = shelf_split(
            units=units_of[line_id],
            allocations={store_id: quantity for store_id, (_pk, quantity) in stores.items()},
        )
        for store_id, (pk, _quantity) in stores.items():
            shelf[pk] = split[store_id]
    return shelf


def shelf_quantities(*, line_ids: Collection[int] | QuerySet) -> dict[int, int]:
    """{allocation id: shelf units} for every allocation of these purchase-order lines (0
    where a store gets none). One query."""
    return shelf_from_rows(
        PurchaseOrderAllocation.objects.filter(line_id__in=line_ids).values(*SHELF_FIELDS)
    )


def shelf_quantities_attach(
    allocations: Iterable[PurchaseOrderAllocation],
) -> list[PurchaseOrderAllocation]:
    """Set `shelf_quantity` on each of these allocations (its store's shelf units, read by
    `PurchaseOrderAllocation.delivered_quantity` and `.receipt_quantity`); the allocations
    may be a part of their lines' (one store's). One query."""
    allocations = list(allocations)
    if allocations:
        shelf = shelf_quantities(line_ids={allocation.line_id for allocation in allocations})
        for allocation in allocations:
            allocation.shelf_quantity = shelf.get(allocation.pk, 0)
    return allocations


def shelf_attach_to_lines(lines: Iterable[PurchaseOrderLine]) -> None:
    """Set `shelf_quantity` on every allocation of these lines, with their allocations
    already loaded (`prefetch_related("allocations")`, every allocation of each line), and
    `shelf_units` on each line. No query."""
    for line in lines:
        allocations = list(line.allocations.all())
        line.shelf_units = line_shelf_units(
            surplus=line.surplus_quantity,
            shortage=line.shortage_quantity,
            receiving_short=line.receiving_short_quantity,
        )
        split = shelf_split(
            units=line.shelf_units,
            allocations={allocation.store_id: allocation.quantity for allocation in allocations},
        )
        for allocation in allocations:
            allocation.shelf_quantity = split[allocation.store_id]


def shelf_attach_loaded(
    allocations: Iterable[PurchaseOrderAllocation],
) -> list[PurchaseOrderAllocation]:
    """`shelf_quantities_attach` without a query, for allocations loaded with their `line`
    (`select_related("line")`). Precondition: they are every allocation of each of their
    lines (say, all allocations of one purchase order)."""
    allocations = list(allocations)
    shelf = shelf_from_rows(
        {
            "pk": allocation.pk,
            "line_id": allocation.line_id,
            "store_id": allocation.store_id,
            "quantity": allocation.quantity,
            "line__surplus_quantity": allocation.line.surplus_quantity,
            "line__shortage_quantity": allocation.line.shortage_quantity,
            "line__receiving_short_quantity": allocation.line.receiving_short_quantity,
        }
        for allocation in allocations
    )
    for allocation in allocations:
        allocation.shelf_quantity = shelf[allocation.pk]
    return allocations
