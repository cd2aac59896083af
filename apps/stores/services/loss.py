"""Loss: stock thrown away or missing (expired, spoiled, damaged, stolen) recorded in the ledger.

A loss is a `StockMovement` of kind LOSS with a negative quantity and a `LossReason`, written
through the ledger's `stock_move`, so on-hand drops in the same transaction and never below
zero. What a loss costs the store is read by `apps.stores.selectors.loss_rates` and the nightly
KPI snapshot (`loss_value`). See docs/loss.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.catalog.models import Product
from apps.stores.models import LossBatch, LossReason, StockMovement, Store
from apps.stores.services.stock import InsufficientStock, stock_move

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

NOTE_MAX_LENGTH = StockMovement._meta.get_field("note").max_length
# One entry is counted items on a shelf, not a delivery: a bigger number is a typing slip.
QUANTITY_MAX = 9999


@dataclass(frozen=True)
class LossInput:
    """One row of a batch: `quantity` units of `product` lost for `reason`."""

    product: Product
    quantity: int
    reason: str
    note: str = ""


@dataclass(frozen=True)
class LossRowError:
    """Why row `row` (1-based, in the caller's order) was refused: `field` is quantity,
    reason, note or stock (not that much on hand)."""

    row: int
    field: str
    message: str


class LossRefused(ValidationError):
    """A batch was refused; `errors` names every refused row. Nothing was written."""

    def __init__(self, errors: list[LossRowError]) -> None:
        super().__init__([f"{error.row}: {error.message}" for error in errors])
        self.errors = errors


class LossBatchRepeated(Exception):
    """The batch's key was already used at this store: that list was recorded before (`batch`)
    and nothing was written now."""

    def __init__(self, batch: LossBatch) -> None:
        super().__init__(f"loss batch {batch.key} already recorded")
        self.batch = batch


def _input_errors(*, quantity: int, reason: str, note: str) -> list[tuple[str, str]]:
    """(field, message) for each unusable input; empty when the row may be written."""
    errors = []
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        errors.append(("quantity", _("The lost quantity must be a whole number of at least 1.")))
    elif quantity > QUANTITY_MAX:
        errors.append(
            ("quantity", _("The lost quantity may be at most %(max)d.") % {"max": QUANTITY_MAX})
        )
    if reason not in LossReason.values:
        errors.append(("reason", _("Choose a reason for the loss.")))
    if len(note) > NOTE_MAX_LENGTH:
        errors.append(
            (
                "note",
                _("The note may be at most %(max)d characters.") % {"max": NOTE_MAX_LENGTH},
            )
        )
    return errors


def loss_record(
    *,
    store: Store,
    product: Product,
    quantity: int,
    reason: str,
    note: str = "",
    by: AbstractBaseUser | None,
    key: uuid.UUID | None = None,
) -> StockMovement:
    """Take `quantity` (> 0) units of `product` off the store's shelf as lost for `reason`.

    Writes one LOSS movement of `-quantity` through `stock_move` (a conditional UPDATE of
    on-hand: two clerks recording the last units at once cannot both succeed). Raises
    ValidationError (code = the field) for a bad quantity, reason or note, and the ledger's
    InsufficientStock when the store holds fewer units (or does not stock the product); in
    every refusal nothing is written.

    `key` (the portal form's): the loss is written once per store and key, as a batch of one
    through the same `LossBatch` row as `losses_record(key=)`: a repeat raises
    LossBatchRepeated and writes nothing; a refused loss rolls its key back with it.
    """
    errors = _input_errors(quantity=quantity, reason=reason, note=note)
    if errors:
        field, message = errors[0]
        raise ValidationError(message, code=field)
    now = timezone.now()
    with transaction.atomic():
        if key is not None:
            _batch_claim(store=store, key=key, loss_count=1, by=by, at=now)
        return stock_move(
            store=store,
            product=product,
            kind=StockMovement.Kind.LOSS,
            quantity=-quantity,
            note=note,
            reason=reason,
            by=by,
            at=now,
        )


def losses_record(
    *,
    store: Store,
    rows: Sequence[LossInput],
    by: AbstractBaseUser | None,
    key: uuid.UUID | None = None,
) -> list[StockMovement]:
    """Record a batch of losses (an evening's count of the fresh shelf) all-or-nothing.

    Every row is checked, and LossRefused names *every* refused row (bad input, or more than is
    on hand once the batch's earlier rows of the same product are taken): then nothing is
    written. Rows are applied in product-id order (the stock rows are locked in one fixed
    order, so two batches cannot deadlock) and all carry the same time. Returns the movements
    in the rows' order.

    `key` (the portal form's): the batch is written once per store and key. Its `LossBatch`
    row is inserted first in the transaction, so a second submit of the same key waits on the
    unique index while the first is open and then raises LossBatchRepeated, writing nothing;
    a refused batch rolls its key back with it, so the corrected form may use it again.
    """
    errors = [
        LossRowError(row=number, field=field, message=message)
        for number, row in enumerate(rows, start=1)
        for field, message in _input_errors(quantity=row.quantity, reason=row.reason, note=row.note)
    ]
    if not rows:
        errors.append(LossRowError(row=0, field="rows", message=_("No loss to record.")))
    if errors:
        raise LossRefused(errors)
    now = timezone.now()
    movements: dict[int, StockMovement] = {}
    with transaction.atomic():
        if key is not None:
            _batch_claim(store=store, key=key, loss_count=len(rows), by=by, at=now)
        order = sorted(range(len(rows)), key=lambda index: (rows[index].product.pk, index))
        for index in order:
            row = rows[index]
            try:
                movements[index] = stock_move(
                    store=store,
                    product=row.product,
                    kind=StockMovement.Kind.LOSS,
                    quantity=-row.quantity,
                    note=row.note,
                    reason=row.reason,
                    by=by,
                    at=now,
                )
            except InsufficientStock as error:
                errors.append(LossRowError(row=index + 1, field="stock", message=error.messages[0]))
        if errors:
            # Raised inside the block: the rows already applied are rolled back with it.
            raise LossRefused(sorted(errors, key=lambda error: error.row))
    return [movements[index] for index in range(len(rows))]


def _batch_claim(
    *, store: Store, key: uuid.UUID, loss_count: int, by: AbstractBaseUser | None, at: dt.datetime
) -> None:
    """Insert the batch's LossBatch row; LossBatchRepeated when the key was used at the store."""
    try:
        with transaction.atomic():
            LossBatch.objects.create(
                store=store, key=key, loss_count=loss_count, recorded_by=by, recorded_at=at
            )
    except IntegrityError:
        raise LossBatchRepeated(LossBatch.objects.get(store=store, key=key)) from None
