"""Regional consolidated delivery (集单配送): one delivery plan per region and day, a stop per
store that receives goods that day, dispatched and delivered stop by stop
(docs/delivery-and-receiving.md)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.procurement.models import (
    DeliveryPlan,
    DeliveryStop,
    PurchaseOrder,
    PurchaseOrderAllocation,
)
from apps.procurement.selectors.shelf import SHELF_FIELDS, shelf_from_rows
from linli.wording import status_in_sentence

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Purchase orders that will be (or are being) delivered: what a plan is made of.
DELIVERING_STATUSES = (
    PurchaseOrder.Status.SENT,
    PurchaseOrder.Status.CONFIRMED,
    PurchaseOrder.Status.SHIPPED,
)
# Sequences are moved out of the way before they are renumbered, so that the (plan, sequence)
# unique constraint never sees two stops on one number (it is checked per statement).
_SEQUENCE_PARK_OFFSET = 16000


class DeliveryRefused(Exception):
    """The step is not allowed in the plan's (or stop's) current state. `code` is stable for
    callers; `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PlansBuilt:
    """What one `delivery_plans_build` did."""

    plans: int  # plans of the day with stops, made or refreshed
    created: int  # of which new
    frozen: int  # plans already dispatched or completed, left untouched
    stops: int  # stops on the refreshed plans


def _units_by_region(day: dt.date) -> dict[int, list[tuple[str, int, int]]]:
    """{region id: [(store code, store id, units)]} from what will ship of the allocations of
    the purchase orders delivering on `day` (quantity less the reported short, plus the
    store's shelf units of the rounding surplus, `selectors.shelf`; a store with nothing left
    to drop gets no stop). One query: every allocation of the day's lines."""
    rows = list(
        PurchaseOrderAllocation.objects.filter(
            line__purchase_order__delivery_date=day,
            line__purchase_order__status__in=DELIVERING_STATUSES,
        ).values(*SHELF_FIELDS, "reported_short_quantity", "store__code", "store__region_id")
    )
    shelf = shelf_from_rows(rows)
    units: dict[tuple[int, str, int], int] = defaultdict(int)
    for row in rows:
        key = (row["store__region_id"], row["store__code"], row["store_id"])
        units[key] += row["quantity"] - row["reported_short_quantity"] + shelf[row["pk"]]
    regions: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    for (region_id, code, store_id), store_units in units.items():
        if store_units > 0:
            regions[region_id].append((code, store_id, store_units))
    return regions


def _stops_sync(*, plan: DeliveryPlan, wanted: list[tuple[str, int, int]]) -> int:
    """Make the plan's stops exactly `wanted` (store code, store id, units), dropped in store
    code order. Stops keep their rows (and ids) when the store stays on the plan."""
    wanted = sorted(wanted)  # by store code, then id: stable drop order
    sequence_of = {store_id: index for index, (_code, store_id, _units) in enumerate(wanted, 1)}
    units_of = {store_id: units for _code, store_id, units in wanted}
    DeliveryStop.objects.filter(plan=plan).exclude(store_id__in=list(sequence_of)).delete()
    kept = list(DeliveryStop.objects.filter(plan=plan))
    changed = [
        stop
        for stop in kept
        if (stop.sequence, stop.units) != (sequence_of[stop.store_id], units_of[stop.store_id])
    ]
    if any(stop.sequence != sequence_of[stop.store_id] for stop in changed):
        # Park every kept stop above the real numbers first: no row ever meets another's
        # number while they are renumbered (PostgreSQL checks the constraint row by row).
        DeliveryStop.objects.filter(plan=plan).update(
            sequence=F("sequence") + _SEQUENCE_PARK_OFFSET
        )
        changed = kept
    for stop in changed:
        stop.sequence = sequence_of[stop.store_id]
        stop.units = units_of[stop.store_id]
    DeliveryStop.objects.bulk_update(changed, ["sequence", "units"])
    present = {stop.store_id for stop in kept}
    DeliveryStop.objects.bulk_create(
        [
            DeliveryStop(plan=plan, store_id=store_id, sequence=sequence_of[store_id], units=units)
            for _code, store_id, units in wanted
            if store_id not in present
        ]
    )
    return len(wanted)


@transaction.atomic
def delivery_plans_build(*, day: dt.date) -> PlansBuilt:
    """Make or refresh the delivery plans of `day`: one per region with goods to deliver that
    day (allocations of purchase orders sent, confirmed or shipped, less what the suppliers
    reported short for each store, plus its shelf units of the rounding surplus), a stop per
    store of that region with goods to drop, in store-code order, with its units.

    Idempotent: a second call changes nothing. Race-safe: the plan is got-or-created on its
    unique (region, delivery date) and its row is locked (plans in primary-key order) before
    its stops change. Only PLANNED plans change: a dispatched or completed plan is what the
    truck carries and stays as it is (counted in `frozen`). A planned plan of the day whose
    region no longer has anything to deliver loses its stops.
    """
    regions = _units_by_region(day)
    created = 0
    for region_id in sorted(regions):
        _plan, made = DeliveryPlan.objects.get_or_create(region_id=region_id, delivery_date=day)
        created += made
    plans = list(DeliveryPlan.objects.select_for_update().filter(delivery_date=day).order_by("pk"))
    refreshed = frozen = stops = 0
    for plan in plans:
        if plan.status != DeliveryPlan.Status.PLANNED:
            frozen += 1
            continue
        wanted = regions.get(plan.region_id, [])
        stops += _stops_sync(plan=plan, wanted=wanted)
        refreshed += bool(wanted)
    return PlansBuilt(plans=refreshed, created=created, frozen=frozen, stops=stops)


def delivery_plan_dispatch(*, plan: DeliveryPlan, by: AbstractBaseUser | None) -> DeliveryPlan:
    """Planned → dispatched (the truck left): its stops no longer change. A conditional UPDATE;
    refused with `not_planned` when the plan is already dispatched or completed and with
    `empty` when it has no stop. `by` is who pressed the button (the plan keeps no column for
    it; the admin logs the action)."""
    has_stops = Exists(DeliveryStop.objects.filter(plan=OuterRef("pk")))
    changed = (
        DeliveryPlan.objects.filter(pk=plan.pk, status=DeliveryPlan.Status.PLANNED)
        .filter(has_stops)
        .update(status=DeliveryPlan.Status.DISPATCHED, dispatched_at=timezone.now())
    )
    plan.refresh_from_db()
    if changed != 1:
        if plan.status != DeliveryPlan.Status.PLANNED:
            raise DeliveryRefused(
                "not_planned",
                _("Only a planned delivery can be dispatched; this one is %(status)s.")
                % {"status": status_in_sentence(plan.get_status_display())},
            )
        raise DeliveryRefused("empty", _("This delivery plan has no stop to deliver to."))
    return plan


@transaction.atomic
def delivery_stop_delivered(
    *, stop: DeliveryStop, by: AbstractBaseUser | None, at: dt.datetime | None = None
) -> DeliveryStop:
    """Mark one stop of a dispatched plan delivered; the last one completes the plan.

    Conditional UPDATEs: a stop is delivered once (`already_delivered` otherwise) and only on
    a dispatched plan (`not_dispatched`); the plan completes when no stop is left undelivered,
    decided by the database in the same statement.
    """
    moment = at or timezone.now()
    changed = DeliveryStop.objects.filter(
        pk=stop.pk,
        delivered_at__isnull=True,
        plan__status=DeliveryPlan.Status.DISPATCHED,
    ).update(delivered_at=moment)
    stop.refresh_from_db()
    if changed != 1:
        if stop.delivered_at is not None:
            raise DeliveryRefused("already_delivered", _("This stop is already delivered."))
        raise DeliveryRefused("not_dispatched", _("The delivery has not been dispatched yet."))
    undelivered = DeliveryStop.objects.filter(plan=OuterRef("pk"), delivered_at__isnull=True)
    DeliveryPlan.objects.filter(pk=stop.plan_id, status=DeliveryPlan.Status.DISPATCHED).exclude(
        Exists(undelivered)
    ).update(status=DeliveryPlan.Status.COMPLETED)
    return stop
