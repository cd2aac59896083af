"""Recording tracking events (exposure → click → order) sent in batches by a store's terminals.

Contract of `tracking_events_record`:
- A batch holds 1 … `MAX_EVENTS` events. A batch that is not that (empty, too long) is a
  structural error: `TrackingBatchInvalid`, nothing recorded.
- Every event is checked (event id, kind, the store campaign is one of *this* store's, the
  moment within the accepted range, a known SKU, an order of this store). The batch is
  all-or-nothing: when any event has a problem, nothing is recorded and every problem is
  returned with the event's index, so the sender fixes the batch and sends it again whole.
- Idempotent by `event_id` within its store campaign: an event whose id is already stored for
  that store campaign (or repeated earlier in the same batch) is a duplicate and changes
  nothing; another store's event with the same id is its own event (the ids are the
  senders'). Sending the same batch twice records each event once; the second answer counts
  them all as duplicates.
- Set-wise: a bounded number of queries whatever the batch size (one per lookup kind, one
  `INSERT … ON CONFLICT DO NOTHING RETURNING` per batch), never one query per event.
- A member identity nobody holds is not an error: the event is recorded without a member
  (an exposure to an unknown viewer is still an exposure). A member *number*, though, names
  only this store's members (home store here, or bought here: `store_members_by_numbers`,
  the rule of the POS and the group-buy joins, docs/members.md): any other number — of
  nobody, or of another store's member — is the event's problem `unknown_member`, so a
  terminal can neither record events in another store's member's name nor learn that a
  number exists. Phones, cards and openids are resolved network-wide, as at the till.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.campaigns.models import StoreCampaign, TrackingEvent
from apps.catalog.models import Product
from apps.customers.models import MemberIdentity
from apps.stores.models import Order
from apps.stores.selectors import store_members_by_numbers
from linli.imports.contract import CellError, moment_check, moment_latest
from linli.phones import phone_normalise

if TYPE_CHECKING:
    from collections.abc import Sequence

    from apps.stores.models import Store

MAX_EVENTS = 500
EVENT_ID_MAX_LENGTH = 64
# A phone's or till's clock may run a little fast (as the POS API allows).
OCCURRED_AT_FUTURE_TOLERANCE = dt.timedelta(minutes=5)
MEMBER_NO_KEY = "member_no"
IDENTITY_KEYS: tuple[str, ...] = (MEMBER_NO_KEY, *MemberIdentity.Kind.values)


@dataclass(frozen=True)
class TrackingEventInput:
    """One event as the sender described it. `member` maps one or more identity kinds
    (`member_no`, `phone`, `member_card`, `wechat`, `mini_program`, `pos_card`) to a value;
    the first kind in `IDENTITY_KEYS` order that resolves names the member.

    Precondition: `member`'s keys are among `IDENTITY_KEYS`. The caller checks them: the API's
    `TrackingMemberSerializer` refuses any other key as `unknown_field`, beside the batch's
    other errors; this service, whose only caller is that API, does not check them again (a
    key of no kind would resolve nobody)."""

    event_id: str
    kind: str
    store_campaign_id: int
    occurred_at: dt.datetime
    member: dict[str, str] = field(default_factory=dict)
    sku: str = ""
    order_id: int | None = None


@dataclass(frozen=True)
class TrackingEventError:
    """A problem with one event: its 0-based `index` in the batch, the `field`, a `code`."""

    index: int
    field: str
    code: str
    message: str


class TrackingBatchInvalid(ValidationError):
    """The batch as a whole is unusable (empty or longer than `MAX_EVENTS`)."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, code=code)
        self.error_code = code


class TrackingBatchResult(NamedTuple):
    """`recorded` new events, `duplicates` already known; `errors` non-empty means nothing
    was recorded."""

    recorded: int
    duplicates: int
    errors: list[TrackingEventError]


def _resolve_members(
    events: Sequence[TrackingEventInput], *, own_numbers: dict[str, int]
) -> dict[tuple[str, str], int]:
    """(kind, normalised value) → member id for every identity in the batch: member numbers
    from `own_numbers` (the store's members, looked up by `_check_references`), the other
    identities network-wide in one query."""
    wanted: dict[str, set[str]] = {}
    for event in events:
        for kind, value in event.member.items():
            wanted.setdefault(kind, set()).add(value)
    found: dict[tuple[str, str], int] = {
        (MEMBER_NO_KEY, member_no): pk for member_no, pk in own_numbers.items()
    }
    wanted.pop(MEMBER_NO_KEY, None)
    if wanted:
        condition = Q()
        for kind, values in wanted.items():
            condition |= Q(kind=kind, value__in=values)
        for kind, value, member_id in MemberIdentity.objects.filter(condition).values_list(
            "kind", "value", "member_id"
        ):
            found[(kind, value)] = member_id
    return found


def _normalised_member(
    index: int, member: dict[str, str], errors: list[TrackingEventError]
) -> dict[str, str]:
    clean: dict[str, str] = {}
    for kind, raw in member.items():
        value = str(raw).strip()
        if kind == MemberIdentity.Kind.PHONE:
            try:
                value = phone_normalise(value)
            except ValidationError as error:
                errors.append(
                    TrackingEventError(index, "member.phone", "invalid", error.messages[0])
                )
                continue
        if value:
            clean[kind] = value
    return clean


def _check_fields(
    events: Sequence[TrackingEventInput],
) -> tuple[list[TrackingEventInput], list[TrackingEventError]]:
    """Per-event checks that need no database; returns the events with normalised members."""
    errors: list[TrackingEventError] = []
    checked: list[TrackingEventInput] = []
    latest = moment_latest(tolerance=OCCURRED_AT_FUTURE_TOLERANCE)
    for index, event in enumerate(events):
        if not event.event_id or len(event.event_id) > EVENT_ID_MAX_LENGTH:
            errors.append(
                TrackingEventError(
                    index,
                    "event_id",
                    "invalid",
                    _("The event id must be 1 to %(max)d characters.")
                    % {"max": EVENT_ID_MAX_LENGTH},
                )
            )
        if event.kind not in TrackingEvent.Kind.values:
            errors.append(
                TrackingEventError(
                    index,
                    "kind",
                    "invalid_choice",
                    _("Unknown event kind; use one of: %(kinds)s.")
                    % {"kinds": ", ".join(TrackingEvent.Kind.values)},
                )
            )
        if timezone.is_naive(event.occurred_at):
            errors.append(
                TrackingEventError(
                    index, "occurred_at", "invalid", _("The time must carry a UTC offset.")
                )
            )
        else:
            try:
                moment_check(event.occurred_at, value=event.occurred_at.isoformat(), latest=latest)
            except CellError as problem:
                errors.append(
                    TrackingEventError(index, "occurred_at", problem.code, problem.reason)
                )
        member = _normalised_member(index, event.member, errors)
        checked.append(
            TrackingEventInput(
                event_id=event.event_id,
                kind=event.kind,
                store_campaign_id=event.store_campaign_id,
                occurred_at=event.occurred_at,
                member=member,
                sku=event.sku.strip(),
                order_id=event.order_id,
            )
        )
    return checked, errors


def _check_references(
    *, store: Store, events: Sequence[TrackingEventInput]
) -> tuple[dict[str, int], dict[str, int], list[TrackingEventError]]:
    """Store campaigns, SKUs, orders and member numbers looked up set-wise (a query each);
    sku → product id, and member number → id of the store's members."""
    errors: list[TrackingEventError] = []
    own_campaigns = set(
        StoreCampaign.objects.filter(
            store=store, pk__in={event.store_campaign_id for event in events}
        ).values_list("pk", flat=True)
    )
    skus = {event.sku for event in events if event.sku}
    products = dict(Product.objects.filter(sku__in=skus).values_list("sku", "pk")) if skus else {}
    order_ids = {event.order_id for event in events if event.order_id is not None}
    own_orders = (
        set(Order.objects.filter(store=store, pk__in=order_ids).values_list("pk", flat=True))
        if order_ids
        else set()
    )
    numbers = {event.member[MEMBER_NO_KEY] for event in events if MEMBER_NO_KEY in event.member}
    own_numbers = (
        dict(
            store_members_by_numbers(store=store, member_nos=numbers).values_list("member_no", "pk")
        )
        if numbers
        else {}
    )
    for index, event in enumerate(events):
        if event.store_campaign_id not in own_campaigns:
            # Unknown and another store's ids answer alike: probing ids tells nothing.
            errors.append(
                TrackingEventError(
                    index,
                    "store_campaign",
                    "wrong_store",
                    _("Store campaign %(id)s is not a campaign of this terminal's store.")
                    % {"id": event.store_campaign_id},
                )
            )
        if event.sku and event.sku not in products:
            errors.append(
                TrackingEventError(
                    index, "sku", "unknown_sku", _("Unknown SKU “%(sku)s”.") % {"sku": event.sku}
                )
            )
        if event.order_id is not None and event.order_id not in own_orders:
            errors.append(
                TrackingEventError(
                    index,
                    "order_id",
                    "unknown_order",
                    _("Order %(id)s is not an order of this terminal's store.")
                    % {"id": event.order_id},
                )
            )
        number = event.member.get(MEMBER_NO_KEY)
        if number is not None and number not in own_numbers:
            # Nobody's number and another store's member's answer alike.
            errors.append(
                TrackingEventError(
                    index,
                    f"member.{MEMBER_NO_KEY}",
                    "unknown_member",
                    _("No member of this store has this number."),
                )
            )
    return products, own_numbers, errors


def _insert_new(rows: list[tuple]) -> set[tuple[int, str]]:
    """INSERT the rows, skipping events already stored (the same event id in the same store
    campaign); the (store campaign id, event id) pairs actually inserted.

    One statement (`ON CONFLICT (event_id, store_campaign_id) DO NOTHING RETURNING`,
    PostgreSQL and SQLite alike),
    so two terminals sending the same batch at once still record each event exactly once and
    each learns exactly which of its events were new."""
    table = connection.ops.quote_name(TrackingEvent._meta.db_table)
    columns = (
        "event_id",
        "store_campaign_id",
        "kind",
        "member_id",
        "product_id",
        "order_id",
        "occurred_at",
        "received_at",
    )
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    sql = (
        f"INSERT INTO {table} ({', '.join(connection.ops.quote_name(c) for c in columns)}) "  # noqa: S608 - names are ours, values are parameters
        f"VALUES {placeholders} ON CONFLICT (event_id, store_campaign_id) DO NOTHING "
        "RETURNING store_campaign_id, event_id"
    )
    fields = {f.column: f for f in TrackingEvent._meta.concrete_fields}
    params: list[object] = []
    for row in rows:
        for column, value in zip(columns, row, strict=True):
            params.append(fields[column].get_db_prep_value(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {(store_campaign_id, event_id) for store_campaign_id, event_id in cursor.fetchall()}


def tracking_events_record(
    *, store: Store, events: Sequence[TrackingEventInput]
) -> TrackingBatchResult:
    """Record a batch of a store's tracking events; see the module docstring for the contract.

    Returns `(recorded, duplicates, errors)` (a `TrackingBatchResult`, which unpacks). When
    `errors` is non-empty nothing was written. Raises `TrackingBatchInvalid` for an empty or
    oversized batch.
    """
    if not events:
        raise TrackingBatchInvalid(_("The batch holds no events."), code="empty")
    if len(events) > MAX_EVENTS:
        raise TrackingBatchInvalid(
            _("A batch holds at most %(max)d events; this one holds %(count)d.")
            % {"max": MAX_EVENTS, "count": len(events)},
            code="too_many",
        )
    checked, errors = _check_fields(events)
    products, own_numbers, reference_errors = _check_references(store=store, events=checked)
    errors.extend(reference_errors)
    if errors:
        errors.sort(key=lambda error: (error.index, error.field))
        return TrackingBatchResult(recorded=0, duplicates=0, errors=errors)
    members = _resolve_members(checked, own_numbers=own_numbers)
    now = timezone.now()
    rows: list[tuple] = []
    seen: set[tuple[int, str]] = set()
    for event in checked:
        key = (event.store_campaign_id, event.event_id)
        if key in seen:
            continue
        seen.add(key)
        member_id = next(
            (
                members[(kind, event.member[kind])]
                for kind in IDENTITY_KEYS
                if kind in event.member and (kind, event.member[kind]) in members
            ),
            None,
        )
        rows.append(
            (
                event.event_id,
                event.store_campaign_id,
                event.kind,
                member_id,
                products.get(event.sku) if event.sku else None,
                event.order_id,
                event.occurred_at,
                now,
            )
        )
    with transaction.atomic():
        inserted = _insert_new(rows)
    return TrackingBatchResult(
        recorded=len(inserted), duplicates=len(events) - len(inserted), errors=[]
    )
