"""Group buys (接龙 / 成团): offers, joins, pasted 接龙 imports and settlement at the deadline.

Concurrency, the contract every writer here keeps:

- A join is ONE transaction: the group-buy order (through `order_create`, which takes the
  stock with a conditional UPDATE), the join row, and last a conditional UPDATE of the offer
  (`units_joined + q <= cap`, still open, deadline not passed). The offer row is the hot row of
  a busy broadcast, so it is touched last: its lock is held only from that UPDATE to COMMIT.
  The cap and the stock are never exceeded, whatever the concurrency (the database constraint
  `units_joined <= cap` is the last guard). On PostgreSQL the same writes are one SQL
  statement (`group_buy_sql.py`: stock row locked, then the offer's conditional UPDATE, then
  the order, line, movement and join; nothing is written unless the offer UPDATE succeeds),
  tested to leave exactly the rows the ORM path does; SQLite keeps the ORM path.
- A retried idempotency key returns the first join and writes nothing, also when two retries
  race (the unique keys on the order and the join decide; the loser returns the winner's join).
  A key reused for a different join (quantity, person) is refused: `idempotency_key_reused`.
- Settlement claims each due offer with `select_for_update(skip_locked=True)` on a still-open
  row, so two workers never settle one offer, and a second run finds nothing to do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.campaigns.analytics.jielong import JielongLine, item_number, jielong_parse
from apps.campaigns.models import Broadcast, CampaignTarget, GroupBuyJoin, GroupBuyOffer
from apps.campaigns.notifications import services as notification_services
from apps.campaigns.selectors import campaigns as campaign_selectors
from apps.campaigns.services import group_buy_sql
from apps.campaigns.services.live import broadcast_changed
from apps.customers.models import CommunityMessage, Member
from apps.stores.access import RUN_CAMPAIGNS, may
from apps.stores.models import Order, StockLevel
from apps.stores.services.fulfilment import fulfilments_open
from apps.stores.services.orders import CENT, LineInput, order_create
from apps.stores.services.stock import InsufficientStock, order_stock_return
from linli.celery import app as celery_app
from linli.enqueue import enqueue_on_commit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from apps.catalog.models import Product

logger = logging.getLogger(__name__)

KEY_MAX_LENGTH = 64
QUANTITY_MAX = 999
# An offer's threshold and cap (units, or members for a member threshold): far above what one
# store sells in one group buy, far below the column's range (a larger number in the form is a
# field error, not an overflow).
OFFER_UNITS_MAX = 100_000

# Refusal codes a caller (API, portal, 接龙 report) can act on.
SOLD_OUT = "sold_out"
CLOSED = "closed"
INSUFFICIENT_STOCK = "insufficient_stock"
INVALID = "invalid"
# A key already used on this offer for another join (another quantity or another person).
KEY_REUSED = "idempotency_key_reused"

# The consolidation of paid orders into purchase orders, by task name: no app imports another
# app's tasks, and enqueueing needs nothing of procurement but the name.
CONSOLIDATE_TASK_NAME = "apps.procurement.tasks.purchase_orders_consolidate_task"


class GroupBuyRefused(ValidationError):
    """A join (or import) was refused and nothing was written; `code` says why:
    `sold_out` (the cap would be passed; `left` is how many units were left), `closed` (offer
    settled, cancelled or past its deadline), `insufficient_stock`, `invalid` (quantity, key),
    `idempotency_key_reused` (the key names an earlier join with another quantity or person)."""

    left: int = 0


def _sold_out(*, left: int, quantity: int) -> GroupBuyRefused:
    """The cap refusal, worded to whoever asked (the member joining: "you asked"); the 接龙
    report rewords it with the line's name (`jielong_import`)."""
    refusal = GroupBuyRefused(
        _("Only %(left)d left of this group buy; %(quantity)d asked.")
        % {"left": left, "quantity": quantity},
        code=SOLD_OUT,
    )
    refusal.left = left
    return refusal


@dataclass(frozen=True)
class JoinResult:
    join: GroupBuyJoin
    created: bool


def _display_name(raw: str) -> str:
    """A join's chat name as it is stored: trimmed, cut to the column's length."""
    return raw.strip()[: GroupBuyJoin._meta.get_field("display_name").max_length]


def group_buy_order_key(*, offer_id: int, idempotency_key: str) -> str:
    """The order's idempotency key (unique per store): derived from the offer and the join's
    key, so a retried join finds its order, and within 64 characters."""
    digest = hashlib.sha256(f"{offer_id}:{idempotency_key}".encode()).hexdigest()
    return f"gb-{digest[:40]}"


def _existing_join(*, offer: GroupBuyOffer, idempotency_key: str) -> GroupBuyJoin | None:
    return (
        GroupBuyJoin.objects.select_related("order", "member")
        .filter(offer=offer, idempotency_key=idempotency_key)
        .first()
    )


def _retry_of(
    existing: GroupBuyJoin,
    *,
    quantity: int,
    member: Member | None,
    display_name: str,
    source: str,
) -> JoinResult:
    """The earlier join under this key, when the request asks the same join again; a refusal
    (`idempotency_key_reused`) when it asks another quantity or for another person: a retry
    must not silently answer a different request with the first one's result.

    A 接龙 line's key is derived from its content, chat name included (`jielong_key`): the
    same key is the same line, even when the name has since come to match a member."""
    same_person = source == GroupBuyJoin.Source.JIELONG or (
        existing.member_id == member.pk
        if member is not None
        else existing.member_id is None and existing.display_name == _display_name(display_name)
    )
    if existing.quantity != quantity or not same_person:
        raise GroupBuyRefused(
            _(
                "This idempotency key was already used on this offer for a different join "
                "(%(quantity)d units, or another person): retry with the same request, or use "
                "a new key for a new join."
            )
            % {"quantity": existing.quantity},
            code=KEY_REUSED,
        )
    return JoinResult(join=existing, created=False)


class _RaceLost(Exception):  # noqa: N818 - control flow, never leaves this module
    """A concurrent join with the same key committed first: roll back, return its join."""


def _refusal_after_update(*, offer: GroupBuyOffer, quantity: int, now: dt.datetime) -> None:
    """Raise the refusal that explains why the offer's conditional UPDATE changed no row."""
    current = GroupBuyOffer.objects.filter(pk=offer.pk).values(
        "status", "deadline", "units_joined", "cap"
    )[0]
    if current["status"] != GroupBuyOffer.Status.OPEN or current["deadline"] <= now:
        raise GroupBuyRefused(_("This group buy is closed."), code=CLOSED)
    raise _sold_out(left=max(current["cap"] - current["units_joined"], 0), quantity=quantity)


def _precheck(*, offer: GroupBuyOffer, quantity: int, now: dt.datetime) -> None:
    """Refuse early, on the values just read, what the conditional UPDATE would refuse anyway
    (saves a doomed order and its stock lock). Not a guard: the UPDATE is."""
    if offer.status != GroupBuyOffer.Status.OPEN or offer.deadline <= now:
        raise GroupBuyRefused(_("This group buy is closed."), code=CLOSED)
    if offer.units_joined + quantity > offer.cap:
        raise _sold_out(left=max(offer.cap - offer.units_joined, 0), quantity=quantity)


def group_buy_join(
    *,
    offer: GroupBuyOffer,
    quantity: int,
    idempotency_key: str,
    member: Member | None = None,
    display_name: str = "",
    source: str = GroupBuyJoin.Source.API,
    now: dt.datetime | None = None,
) -> JoinResult:
    """Join `offer` with `quantity` units: a pending pickup order of the group-buy channel
    (stock taken, unless the offer is a pre-order: `GroupBuyOffer.presale`), the join row, and
    the offer's counters, all or nothing.

    - Idempotent: a key already used on this offer returns that join (`created=False`) and
      changes nothing. The retry must ask the same join (quantity, and member, or the display
      name when there is no member): otherwise it is refused with `idempotency_key_reused`.
    - Refusals raise `GroupBuyRefused` (code `sold_out`, `closed`, `insufficient_stock`,
      `invalid`) and write nothing.
    - Safe under any number of concurrent joins (see the module docstring); the live dashboard
      is told on commit.

    On PostgreSQL the writes are one SQL statement (`_join_write_statement`), which also looks
    for the key, so a refusal raised before it looks for the key first; elsewhere (SQLite) the
    key is looked up first and the ORM writes in one transaction (`_join_write_orm`).
    """
    now = now or timezone.now()
    if not idempotency_key or len(idempotency_key) > KEY_MAX_LENGTH:
        raise GroupBuyRefused(
            _("An idempotency key of 1 to %(max)d characters is required.")
            % {"max": KEY_MAX_LENGTH},
            code=INVALID,
        )
    one_statement = _join_in_one_statement()
    if not one_statement:
        existing = _existing_join(offer=offer, idempotency_key=idempotency_key)
        if existing is not None:
            return _retry_of(
                existing, quantity=quantity, member=member, display_name=display_name, source=source
            )
    arguments = {
        "offer": offer,
        "quantity": quantity,
        "idempotency_key": idempotency_key,
        "member": member,
        "display_name": display_name,
        "source": source,
        "now": now,
    }
    try:
        if not isinstance(quantity, int) or not 1 <= quantity <= QUANTITY_MAX:
            raise GroupBuyRefused(
                _("The quantity must be a whole number from 1 to %(max)d.") % {"max": QUANTITY_MAX},
                code=INVALID,
            )
        _precheck(offer=offer, quantity=quantity, now=now)
        if one_statement:
            join = _join_write_statement(**arguments)
        else:
            with transaction.atomic():
                join = _join_write_orm(**arguments)
    except GroupBuyRefused:
        existing = (
            _existing_join(offer=offer, idempotency_key=idempotency_key) if one_statement else None
        )
        if existing is None:
            raise
        return _retry_of(
            existing, quantity=quantity, member=member, display_name=display_name, source=source
        )
    except (_RaceLost, IntegrityError):
        existing = _existing_join(offer=offer, idempotency_key=idempotency_key)
        if existing is None:
            raise
        return _retry_of(
            existing, quantity=quantity, member=member, display_name=display_name, source=source
        )
    broadcast_changed(broadcast_id=offer.broadcast_id)
    return JoinResult(join=join, created=True)


def _join_in_one_statement() -> bool:
    """Whether the join's writes go through one SQL statement (PostgreSQL only)."""
    return connection.vendor == "postgresql"


def _insufficient_stock(*, offer: GroupBuyOffer, quantity: int) -> GroupBuyRefused:
    return GroupBuyRefused(
        _("Not enough %(product)s in stock for %(quantity)d.")
        % {"product": offer.product.name, "quantity": quantity},
        code=INSUFFICIENT_STOCK,
    )


def _join_write_statement(
    *,
    offer: GroupBuyOffer,
    quantity: int,
    idempotency_key: str,
    member: Member | None,
    display_name: str,
    source: str,
    now: dt.datetime,
) -> GroupBuyJoin:
    """The join in one statement (`group_buy_sql`): the key looked up, the stock row locked,
    the offer's conditional UPDATE, then stock, order, line, `sale` movement and join. The
    statement writes all or nothing by itself, so outside a transaction it runs alone (one
    round trip, committed at once: no lock is held across a round trip); inside one, in a
    savepoint, so that a lost same-key race (IntegrityError) spoils nothing around it.

    Raises `_RaceLost` when the key was already used, the refusal when the stock or the offer
    refused (nothing was written), IntegrityError when a same-key join committed meanwhile."""
    store = offer.broadcast.store
    clock = timezone.now()
    line_total = (offer.price * quantity).quantize(CENT)
    order_key = group_buy_order_key(offer_id=offer.pk, idempotency_key=idempotency_key)
    name = _display_name(display_name)
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        rows = group_buy_sql.group_buy_join_rows_insert(
            offer_id=offer.pk,
            store_id=store.pk,
            product_id=offer.product_id,
            member_id=member.pk if member is not None else None,
            quantity=quantity,
            presale=offer.presale,
            unit_price=offer.price,
            line_total=line_total,
            order_key=order_key,
            idempotency_key=idempotency_key,
            display_name=name,
            source=source,
            now=now,
            clock=clock,
        )
    if rows.existing_join_id is not None:
        raise _RaceLost
    if not rows.stock_available:
        raise _insufficient_stock(offer=offer, quantity=quantity)
    if rows.join_id is None:
        _refusal_after_update(offer=offer, quantity=quantity, now=now)
    # The rows just written, as the ORM version returns them (no query to read them back).
    order = Order(
        pk=rows.order_id,
        store=store,
        member=member,
        channel=Order.Channel.GROUP_BUY,
        fulfilment=Order.Fulfilment.PICKUP,
        status=Order.Status.PENDING,
        idempotency_key=order_key,
        reference="",
        total=line_total,
        discount_total=Decimal("0.00"),
        placed_at=now,
        created_at=clock,
    )
    join = GroupBuyJoin(
        pk=rows.join_id,
        offer=offer,
        member=member,
        display_name=name,
        quantity=quantity,
        source=source,
        status=GroupBuyJoin.Status.JOINED,
        idempotency_key=idempotency_key,
        order=order,
        created_at=now,
    )
    for instance in (order, join):
        instance._state.adding = False
        instance._state.db = connection.alias
    return join


def _join_write_orm(
    *,
    offer: GroupBuyOffer,
    quantity: int,
    idempotency_key: str,
    member: Member | None,
    display_name: str,
    source: str,
    now: dt.datetime,
) -> GroupBuyJoin:
    """The join's writes through the ORM and the order service (any database); the caller
    holds the transaction. The offer's UPDATE comes last (hot row): its lock is held only from
    that UPDATE to COMMIT."""
    try:
        order, created = order_create(
            store=offer.broadcast.store,
            channel=Order.Channel.GROUP_BUY,
            idempotency_key=group_buy_order_key(offer_id=offer.pk, idempotency_key=idempotency_key),
            lines=[LineInput(product=offer.product, quantity=quantity, unit_price=offer.price)],
            member=member,
            fulfilment=Order.Fulfilment.PICKUP,
            status=Order.Status.PENDING,
            placed_at=now,
            take_stock=not offer.presale,
        )
    except InsufficientStock as error:
        raise _insufficient_stock(offer=offer, quantity=quantity) from error
    if not created:
        raise _RaceLost
    join = GroupBuyJoin.objects.create(
        offer=offer,
        member=member,
        display_name=_display_name(display_name),
        quantity=quantity,
        source=source,
        idempotency_key=idempotency_key,
        order=order,
        created_at=now,
    )
    changed = GroupBuyOffer.objects.filter(
        pk=offer.pk,
        status=GroupBuyOffer.Status.OPEN,
        deadline__gt=now,
        units_joined__lte=F("cap") - quantity,
    ).update(units_joined=F("units_joined") + quantity, participants=F("participants") + 1)
    if changed != 1:
        _refusal_after_update(offer=offer, quantity=quantity, now=now)
    return join


# --- offers -----------------------------------------------------------------------------------


# The database constraint that keeps one open offer per product and broadcast.
OFFER_OPEN_UNIQUE = "offer_one_open_per_product"
# Refusal codes of `offer_withdraw`.
HAS_JOINS = "has_joins"
NOT_OPEN = "not_open"


def _open_offer_exists_message(product: Product) -> str:
    return _(
        "%(product)s already has an open offer in this broadcast: joins for it go to that "
        "offer. Withdraw it first to open another."
    ) % {"product": product.name}


def offer_problems(
    *,
    broadcast: Broadcast,
    product: Product | None,
    price: Decimal | None,
    threshold: int | None,
    cap: int | None,
    deadline: dt.datetime | None,
    threshold_kind: str | None = GroupBuyOffer.ThresholdKind.UNITS,
    presale: bool = False,
    now: dt.datetime | None = None,
    skip: frozenset[str] = frozenset(),
) -> dict[str, list[str]]:
    """Every reason `offer_create` would refuse these values, by field ("__all__" for the
    offer as a whole), all at once; {} when it would open the offer. Writes nothing.

    A value given as None is not checked on its own (a form passes None for a field that
    already has its own error) and the rules that combine it with another are skipped; the
    fields in `skip` are not checked at all (the form has reported them already)."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}

    def add(field_name: str, message: str) -> None:
        if field_name not in skip:
            errors.setdefault(field_name, []).append(message)

    if price is not None and price < 0:
        add("price", _("The price cannot be negative."))
    threshold_valid = threshold is not None and 1 <= threshold <= OFFER_UNITS_MAX
    if threshold is not None and threshold < 1:
        add("threshold", _("The threshold must be at least 1."))
    elif threshold is not None and threshold > OFFER_UNITS_MAX:
        add("threshold", _("The threshold can be at most %(max)d.") % {"max": OFFER_UNITS_MAX})
    if cap is not None and cap < 1:
        add("cap", _("The cap must be at least 1."))
    elif cap is not None and cap > OFFER_UNITS_MAX:
        add("cap", _("The cap can be at most %(max)d.") % {"max": OFFER_UNITS_MAX})
    elif (
        cap is not None
        and threshold_valid
        and threshold_kind == GroupBuyOffer.ThresholdKind.UNITS
        and cap < threshold
    ):
        add("cap", _("The cap cannot be below the threshold: the group could never form."))
    if threshold_kind is not None and threshold_kind not in GroupBuyOffer.ThresholdKind.values:
        add("threshold_kind", _("Unknown threshold kind."))
    start = broadcast.started_at or broadcast.scheduled_at
    if deadline is not None and deadline <= now:
        add("deadline", _("The deadline must be in the future."))
    elif deadline is not None and deadline <= start:
        # Joins come in during and after the broadcast: a deadline before it starts would
        # settle the offer before anyone could join.
        add(
            "deadline",
            _("The deadline must be after the broadcast starts (%(start)s).")
            % {"start": timezone.localtime(start).strftime("%m-%d %H:%M")},
        )
    if broadcast.status == Broadcast.Status.ENDED:
        add("__all__", _("This broadcast has ended."))
    if product is not None:
        if GroupBuyOffer.objects.filter(
            broadcast=broadcast, product=product, status=GroupBuyOffer.Status.OPEN
        ).exists():
            add("product", _open_offer_exists_message(product))
        elif (
            not presale
            and not StockLevel.objects.filter(
                store_id=broadcast.store_id, product=product, on_hand__gte=1
            ).exists()
        ):
            add(
                "product",
                _(
                    "%(product)s is not in stock at this store. To sell it before the goods "
                    "are in, make the offer a pre-order."
                )
                % {"product": product.name},
            )
    return errors


def offer_create(
    *,
    broadcast: Broadcast,
    product: Product,
    price: Decimal,
    threshold: int,
    cap: int,
    deadline: dt.datetime,
    threshold_kind: str = GroupBuyOffer.ThresholdKind.UNITS,
    presale: bool = False,
    by: AbstractBaseUser | None,
    now: dt.datetime | None = None,
) -> GroupBuyOffer:
    """Open a group-buy offer on `broadcast`. Only a user who may run campaigns at the
    broadcast's store (`by=None`: a trusted caller such as a command).

    Refuses, naming each field, every problem at once (`offer_problems`): a negative price, a
    threshold below 1, a cap below 1 or below a unit threshold, a threshold or cap above
    `OFFER_UNITS_MAX`, a deadline not in the future or not after the broadcast starts (its
    start, or when it is scheduled), a product that already has an open offer in this
    broadcast (a 接龙 line naming it would match two offers; the database's partial unique
    constraint `offer_one_open_per_product` decides between two requests at once), a product
    the store has none of in stock (unless the offer is a `presale` pre-order, 以销定产: its
    joins take no stock, the supplier brings the goods after the group forms), an ended
    broadcast. Nothing is written on a refusal.
    """
    now = now or timezone.now()
    if by is not None and not may(by, RUN_CAMPAIGNS, broadcast.store_id):
        raise ValidationError(_("You may not run campaigns at this store."), code="forbidden")
    missing: dict[str, list[str]] = {}
    for name, value in (
        ("price", price),
        ("threshold", threshold),
        ("cap", cap),
        ("deadline", deadline),
    ):
        if value is None:
            missing[name] = [_("This field is required.")]
    errors = offer_problems(
        broadcast=broadcast,
        product=product,
        price=price,
        threshold=threshold,
        cap=cap,
        deadline=deadline,
        threshold_kind=threshold_kind,
        presale=presale,
        now=now,
        skip=frozenset(missing),
    )
    errors.update(missing)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            offer = GroupBuyOffer.objects.create(
                broadcast=broadcast,
                product=product,
                price=price,
                threshold_kind=threshold_kind,
                threshold=threshold,
                cap=cap,
                presale=presale,
                deadline=deadline,
                created_at=now,
            )
    except IntegrityError as error:
        # Two requests at once for the same product: the partial unique constraint lets one in.
        if OFFER_OPEN_UNIQUE not in str(error):
            raise
        raise ValidationError({"product": [_open_offer_exists_message(product)]}) from error
    broadcast_changed(broadcast_id=broadcast.pk)
    return offer


class OfferWithdrawRefused(ValidationError):
    """The offer was not withdrawn, and nothing was written; `code`: `has_joins` (someone
    joined), `not_open` (settled, withdrawn or past its deadline)."""


def offer_withdraw(
    *, offer: GroupBuyOffer, by: AbstractBaseUser | None, now: dt.datetime | None = None
) -> GroupBuyOffer:
    """Withdraw an open offer nobody has joined yet (status cancelled, `settled_at` now): an
    offer opened by mistake (wrong price, wrong product) goes, and its product may be offered
    again. Only a user who may run campaigns at the offer's store (`by=None`: a trusted
    caller), else PermissionDenied.

    One conditional UPDATE (still open, deadline not passed, no units and no participants), so
    a join and a withdrawal at the same moment never both happen: a join whose offer UPDATE
    came first makes the withdrawal refuse (`has_joins`); a withdrawal that came first makes
    the join refuse (`closed`, its order rolled back). An offer with joins is never withdrawn:
    its joins' orders hold stock and members were told; it settles at its deadline. The
    withdrawal is logged with who did it; the live dashboard is told."""
    now = now or timezone.now()
    if by is not None and not may(by, RUN_CAMPAIGNS, offer.broadcast.store_id):
        raise PermissionDenied
    changed = GroupBuyOffer.objects.filter(
        pk=offer.pk,
        status=GroupBuyOffer.Status.OPEN,
        deadline__gt=now,
        units_joined=0,
        participants=0,
    ).update(status=GroupBuyOffer.Status.CANCELLED, settled_at=now)
    offer.refresh_from_db(fields=["status", "settled_at", "units_joined", "participants"])
    if changed != 1:
        if offer.status == GroupBuyOffer.Status.OPEN and offer.deadline > now:
            raise OfferWithdrawRefused(
                _(
                    "%(product)s cannot be withdrawn: %(count)d joined already. It stays open "
                    "until its deadline."
                )
                % {"product": offer.product.name, "count": offer.participants},
                code=HAS_JOINS,
            )
        raise OfferWithdrawRefused(_("This offer is not open any more."), code=NOT_OPEN)
    logger.info(
        "group-buy offer %s (broadcast %s) withdrawn by %s",
        offer.pk,
        offer.broadcast_id,
        getattr(by, "pk", None),
    )
    broadcast_changed(broadcast_id=offer.broadcast_id)
    return offer


# --- pasted 接龙 ---------------------------------------------------------------------------------


class LineOutcome:
    NEW = "new"
    ALREADY = "already"
    UNREADABLE = "unreadable"
    REFUSED = "refused"


@dataclass
class JielongLineReport:
    """What became of one line of the paste (`status`: new, already, unreadable, refused)."""

    line_no: int
    raw: str
    status: str
    code: str = ""
    message: str = ""
    name: str = ""
    quantity: int = 0
    offer: GroupBuyOffer | None = None
    member: Member | None = None
    join: GroupBuyJoin | None = None


@dataclass
class JielongReport:
    """The per-line report of `jielong_import`. `written` is False when anything was
    unreadable or refused (then nothing at all was written) or on a dry run."""

    lines: list[JielongLineReport] = field(default_factory=list)
    written: bool = False

    @property
    def new_count(self) -> int:
        return sum(1 for line in self.lines if line.status == LineOutcome.NEW)

    @property
    def already_count(self) -> int:
        return sum(1 for line in self.lines if line.status == LineOutcome.ALREADY)

    @property
    def problem_count(self) -> int:
        return sum(
            1 for line in self.lines if line.status in (LineOutcome.UNREADABLE, LineOutcome.REFUSED)
        )


def jielong_problem_message(code: str) -> str:
    """The translated reason for a parser problem code (`analytics.jielong.REASONS`)."""
    messages = {
        "no_number": _("The line does not start with its group-buy chat list number."),
        "no_name": _("The line has no name."),
        "several_quantities": _("The line has more than one quantity; write one product per line."),
        "zero_quantity": _("The quantity is 0."),
        "too_large": _("The quantity is larger than %(max)d.") % {"max": QUANTITY_MAX},
        "name_too_long": _("The name is too long."),
        "unknown_product": _("No open offer of this broadcast matches the product."),
        "ambiguous_product": _(
            "Several open offers match; write the product's full name or its item number."
        ),
        "no_product": _("Several offers are open; write the product on the line."),
    }
    return messages.get(code, code)


def jielong_key(*, broadcast_id: int, line: JielongLine) -> str:
    """The join key of a 接龙 line: derived from its content (number, name, product,
    quantity), so pasting the same chat twice finds the same joins."""
    content = f"{broadcast_id}|{line.number}|{line.name}|{line.product}|{line.quantity}"
    return "jl-" + hashlib.sha256(content.encode()).hexdigest()[:40]


def _match_offer(
    *, product_text: str, offers: list[GroupBuyOffer], numbers: dict[int, int] | None = None
) -> tuple[GroupBuyOffer | None, str]:
    """The one offer a line's product text names, or ("", code) why none.

    The text names a product by its item number ("2号", "2️⃣": `analytics.jielong.item_number`,
    `numbers` = {product id: number} from `selectors.campaigns.campaign_item_numbers`, the
    numbering the 接龙 copy prints), by its exact name, or by a part of its name that only
    one open offer has."""
    if not product_text:
        if len(offers) == 1:
            return offers[0], ""
        return None, "no_product" if offers else "unknown_product"
    number = item_number(product_text)
    if number is not None:
        numbered = [offer for offer in offers if (numbers or {}).get(offer.product_id) == number]
        if len(numbered) == 1:
            return numbered[0], ""
        return None, "ambiguous_product" if numbered else "unknown_product"
    text = product_text.casefold()
    exact = [offer for offer in offers if offer.product.name.casefold() == text]
    if len(exact) == 1:
        return exact[0], ""
    partial = [
        offer
        for offer in offers
        if text in offer.product.name.casefold() or offer.product.name.casefold() in text
    ]
    if len(partial) == 1:
        return partial[0], ""
    return None, "ambiguous_product" if partial else "unknown_product"


# The people of the 接龙 help's example lines (chat names as members write them).
_EXAMPLE_PEOPLE = (("李阿姨", 2), ("王先生", 1))


def jielong_examples(*, broadcast: Broadcast) -> list[str]:
    """Example 接龙 lines for the broadcast's open offers, each checked to join its offer
    exactly as `jielong_import` would read it: the first open offer by its item number (the
    numbering the pack's copy prints, "1. 李阿姨 1号×2"), the next one (or the same, when it
    is alone) by its full name ("2. 王先生 大果蓝莓×1"). A spelling that would be refused
    (a name another offer's name contains, a name with digits the parser reads as a
    quantity) is not shown. [] when nothing is open."""
    offers = list(
        GroupBuyOffer.objects.filter(broadcast=broadcast, status=GroupBuyOffer.Status.OPEN)
        .select_related("product")
        .order_by("pk")
    )
    if not offers:
        return []
    numbers = campaign_selectors.campaign_item_numbers(campaign=broadcast.store_campaign.campaign)
    names = [offer.product.name for offer in offers]

    def joins(text: str, offer: GroupBuyOffer, quantity: int) -> bool:
        parsed = jielong_parse(text, products=names)
        if parsed.problems or len(parsed.lines) != 1 or parsed.lines[0].quantity != quantity:
            return False
        matched, _code = _match_offer(
            product_text=parsed.lines[0].product, offers=offers, numbers=numbers
        )
        return matched is not None and matched.pk == offer.pk

    targets = [offers[0], offers[1] if len(offers) > 1 else offers[0]]
    examples: list[str] = []
    for position, (offer, (person, quantity)) in enumerate(
        zip(targets, _EXAMPLE_PEOPLE, strict=True), start=1
    ):
        spellings = [offer.product.name]
        if offer.product_id in numbers:
            number_first = f"{numbers[offer.product_id]}号"
            spellings = [number_first, *spellings] if position == 1 else [*spellings, number_first]
        for spelling in spellings:
            text = f"{len(examples) + 1}. {person} {spelling}×{quantity}"
            if joins(text, offer, quantity):
                examples.append(text)
                break
    return examples


def store_members_by_name(*, store_id: int, names: set[str]) -> dict[str, Member | None]:
    """The members the store serves, by exact name; a name two such members share maps to
    None (never guess between people).

    Served: the members the owner's member pages show (home store here, or an order here:
    `apps.customers.selectors.store_members`), those on a target list of one of the store's
    campaigns, and the senders in its community chats. A member whose home store is another
    store is matched here once they bought here or were targeted here. Erased members never."""
    found: dict[str, Member | None] = {}
    if not names:
        return found
    senders = CommunityMessage.objects.filter(store_id=store_id, member__isnull=False).values(
        "member_id"
    )
    bought_here = Order.objects.filter(store_id=store_id, member__isnull=False).values("member_id")
    targeted = CampaignTarget.objects.filter(store_campaign__store_id=store_id).values("member_id")
    candidates = Member.objects.filter(
        Q(home_store_id=store_id) | Q(pk__in=senders) | Q(pk__in=bought_here) | Q(pk__in=targeted),
        name__in=names,
        is_erased=False,
    ).order_by("pk")
    for member in candidates:
        found[member.name] = None if member.name in found else member
    return found


def jielong_import(
    *,
    broadcast: Broadcast,
    text: str,
    by: AbstractBaseUser | None,
    offer: GroupBuyOffer | None = None,
    dry_run: bool = False,
    now: dt.datetime | None = None,
) -> JielongReport:
    """Enter the joins of a pasted 接龙 on `broadcast` (on `offer` only, when given).

    All-or-nothing: every line is parsed, matched to an open offer (by product name; an empty
    product means the only open offer) and joined in one transaction; any unreadable line or
    any refusal (sold out, closed, stock) rolls everything back, and the report names each
    line's fate (the readable lines are tried even beside an unreadable one, so every refusal
    shows in the same report). Names resolve to the store's members (`store_members_by_name`);
    an unknown or shared name joins without a member, under its chat name.

    Idempotent: join keys derive from each line's content (`jielong_key`), so a chat pasted
    twice — or pasted again with new lines below — adds only what is new.
    """
    now = now or timezone.now()
    if by is not None and not may(by, RUN_CAMPAIGNS, broadcast.store_id):
        raise ValidationError(_("You may not run campaigns at this store."), code="forbidden")
    offers_query = GroupBuyOffer.objects.select_related("product", "broadcast__store")
    if offer is not None:
        offers = list(offers_query.filter(pk=offer.pk, broadcast=broadcast))
    else:
        offers = list(offers_query.filter(broadcast=broadcast, status=GroupBuyOffer.Status.OPEN))
    parsed = jielong_parse(text, products=[item.product.name for item in offers])
    numbers = campaign_selectors.campaign_item_numbers(campaign=broadcast.store_campaign.campaign)
    report = JielongReport()
    for problem in parsed.problems:
        report.lines.append(
            JielongLineReport(
                line_no=problem.line_no,
                raw=problem.raw,
                status=LineOutcome.UNREADABLE,
                code=problem.code,
                message=jielong_problem_message(problem.code),
            )
        )
    members = store_members_by_name(
        store_id=broadcast.store_id, names={line.name for line in parsed.lines}
    )
    planned: list[tuple[JielongLine, JielongLineReport]] = []
    for line in parsed.lines:
        matched, code = _match_offer(product_text=line.product, offers=offers, numbers=numbers)
        entry = JielongLineReport(
            line_no=line.line_no,
            raw=line.raw,
            status=LineOutcome.NEW,
            name=line.name,
            quantity=line.quantity,
            offer=matched,
            member=members.get(line.name),
        )
        if matched is None:
            entry.status, entry.code = LineOutcome.UNREADABLE, code
            entry.message = jielong_problem_message(code)
        else:
            planned.append((line, entry))
        report.lines.append(entry)
    report.lines.sort(key=lambda item: item.line_no)
    if not planned:
        return report
    # Tried even when some line is unreadable (then rolled back like a dry run), so that one
    # report names every problem: an over-the-cap line too, not only after the others are fixed.
    with transaction.atomic():
        for line, entry in planned:
            try:
                result = group_buy_join(
                    offer=entry.offer,
                    quantity=line.quantity,
                    idempotency_key=jielong_key(broadcast_id=broadcast.pk, line=line),
                    member=entry.member,
                    display_name=line.name,
                    source=GroupBuyJoin.Source.JIELONG,
                    now=now,
                )
            except GroupBuyRefused as refusal:
                message = refusal.messages[0]
                if refusal.code == SOLD_OUT:
                    # The owner pasted the chat: name the line's person, not "you".
                    message = _("%(name)s asked for %(quantity)d; only %(left)d left.") % {
                        "name": line.name,
                        "quantity": line.quantity,
                        "left": refusal.left,
                    }
                entry.status, entry.code, entry.message = (
                    LineOutcome.REFUSED,
                    refusal.code or INVALID,
                    message,
                )
                continue
            entry.join = result.join
            entry.status = LineOutcome.NEW if result.created else LineOutcome.ALREADY
            # Later lines must see this line's units: the offer row was updated in the database.
            entry.offer.refresh_from_db(fields=["units_joined", "participants", "status"])
        if report.problem_count or dry_run:
            transaction.set_rollback(True)
        else:
            report.written = True
    if not report.written:
        for entry in report.lines:
            entry.join = None
    return report


# --- settlement -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettleResult:
    formed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


class OrdersReady(Protocol):
    def __call__(self, *, store_id: int, order_ids: list[int], now: dt.datetime) -> int: ...


@dataclass(frozen=True)
class SettleSources:
    """What settlement needs from the part above campaigns (procurement), handed in by the
    caller instead of imported (campaigns may not import procurement): the task, the demo and
    the tests pass `apps.campaigns.sources.settle_sources()`.

    `orders_ready(store_id=, order_ids=, now=)` marks these paid orders of the store ready for
    pickup and tells each member their pickup code, in the caller's transaction, idempotently
    (procurement's `pickup.fulfilments_ready`); returns how many became ready."""

    orders_ready: OrdersReady


def offer_reached(offer: GroupBuyOffer) -> bool:
    return offer.threshold_reached


def group_buy_offers_settle(
    *, sources: SettleSources, now: dt.datetime | None = None
) -> SettleResult:
    """Settle every open offer whose deadline has passed, each in its own transaction
    (`group_buy_offer_settle`). Idempotent: a second run, or a second worker at the same
    time, settles nothing twice. Returns the ids formed and failed by this run.

    When a pre-order (`presale`) offer formed, its paid orders go to the suppliers at once
    instead of waiting for the daily 22:00 consolidation: one consolidation task is enqueued
    on commit (after every offer's transaction; inside a caller's transaction, after that
    one), with `now` as its cut-off. Every order of a formed offer was placed before its
    deadline, so before `now`. A formed offer that sold from stock leaves nothing to
    consolidate (its orders are ready at settlement), so a run that formed only such offers
    enqueues nothing.
    One task per run, not per offer: the offers settled together make one purchase order per
    supplier and delivery date. The task is idempotent (its run is unique per cut-off and each
    order line is consolidated once, docs/purchasing.md); an enqueue lost to a broker outage
    is swept up by the next settlement's run or the 22:00 one.
    """
    now = now or timezone.now()
    due = list(
        GroupBuyOffer.objects.filter(status=GroupBuyOffer.Status.OPEN, deadline__lte=now)
        .order_by("deadline", "pk")
        .values_list("pk", flat=True)
    )
    formed: list[int] = []
    failed: list[int] = []
    for offer_id in due:
        status = group_buy_offer_settle(offer_id=offer_id, now=now, sources=sources)
        if status == GroupBuyOffer.Status.FORMED:
            formed.append(offer_id)
        elif status == GroupBuyOffer.Status.FAILED:
            failed.append(offer_id)
    if GroupBuyOffer.objects.filter(pk__in=formed, presale=True).exists():
        enqueue_on_commit(celery_app.signature(CONSOLIDATE_TASK_NAME), cutoff=now.isoformat())
    return SettleResult(formed=formed, failed=failed)


def group_buy_offer_settle(
    *, offer_id: int, now: dt.datetime, sources: SettleSources
) -> str | None:
    """Settle one offer past its deadline; returns its new status, or None when it was not
    due, already settled, or being settled by another worker (its row is locked: skipped).

    - Reached (units or participants ≥ threshold): status formed; the joins confirmed; their
      pending orders become PAID (fulfilment pickup, channel group_buy), each with its pickup
      code (`fulfilments_open`). Then:
      - a pre-order (`presale`): they stay PAID, "handed on to consolidation" — the
        purchase-order consolidation selects exactly those (enqueued by
        `group_buy_offers_settle`) and they become ready when the goods are received;
      - an offer that sold from stock: each join took its units from the shelf, so the
        goods are there: the orders are READY at once (`sources.orders_ready`: fulfilments
        ready, each member told once with the pickup code), and consolidation, which takes
        paid orders only, leaves them out (the shelf is refilled by replenishment).
    - Not reached: status failed; the joins and their pending orders cancelled, each order's
      stock put back through the ledger (a `return` movement per line, noted), and the joined
      members notified (`campaign_notifications_enqueue`, kind `group_buy_failed`).
    All of it in one transaction with the offer row locked.

    Lock order: the stock row of the offer's product first, then the offer row — the order a
    join takes them in (its order takes the stock, its last UPDATE the offer), so a join in
    flight at the deadline and the settlement wait for each other instead of deadlocking.
    """
    target = (
        GroupBuyOffer.objects.filter(pk=offer_id)
        .values("product_id", "broadcast__store_id")
        .first()
    )
    if target is None:
        return None
    with transaction.atomic():
        list(
            StockLevel.objects.select_for_update()
            .filter(store_id=target["broadcast__store_id"], product_id=target["product_id"])
            .values_list("pk", flat=True)
        )
        offer = (
            GroupBuyOffer.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("broadcast__store", "broadcast__store_campaign", "product")
            .filter(pk=offer_id, status=GroupBuyOffer.Status.OPEN, deadline__lte=now)
            .first()
        )
        if offer is None:
            return None
        joins = GroupBuyJoin.objects.filter(offer=offer, status=GroupBuyJoin.Status.JOINED)
        order_ids = list(joins.exclude(order=None).values_list("order_id", flat=True))
        if offer_reached(offer):
            offer.status = GroupBuyOffer.Status.FORMED
            Order.objects.filter(pk__in=order_ids, status=Order.Status.PENDING).update(
                status=Order.Status.PAID
            )
            fulfilments_open(order_ids=order_ids)  # the formed orders' pickup codes
            joins.update(status=GroupBuyJoin.Status.CONFIRMED)
            if not offer.presale:
                # Only the orders this settlement made paid: one cancelled before the deadline
                # stays cancelled and is told nothing.
                paid = list(
                    Order.objects.filter(pk__in=order_ids, status=Order.Status.PAID)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                sources.orders_ready(store_id=offer.broadcast.store_id, order_ids=paid, now=now)
        else:
            offer.status = GroupBuyOffer.Status.FAILED
            members = _offer_fail(offer=offer, order_ids=order_ids, now=now)
            joins.update(status=GroupBuyJoin.Status.CANCELLED)
            if members:
                _failed_notify(offer=offer, members=members)
        offer.settled_at = now
        offer.save(update_fields=["status", "settled_at"])
        broadcast_changed(broadcast_id=offer.broadcast_id)
        return offer.status


def _offer_fail(*, offer: GroupBuyOffer, order_ids: list[int], now: dt.datetime) -> list[Member]:
    """Cancel the offer's pending orders and put back the stock they took (a pre-order's
    took none); the members to tell."""
    # Locked in primary-key order, as every multi-row writer here locks them.
    orders = list(
        Order.objects.select_for_update(of=("self",))
        .filter(pk__in=order_ids, status=Order.Status.PENDING)
        .select_related("member")
        .order_by("pk")
    )
    Order.objects.filter(pk__in=[order.pk for order in orders]).update(
        status=Order.Status.CANCELLED
    )
    note = _("Group buy not formed: offer %(offer)d") % {"offer": offer.pk}
    members: dict[int, Member] = {}
    for order in orders:
        # What the join took from stock (none for a pre-order), read from the ledger.
        order_stock_return(
            order=order, store=offer.broadcast.store, note=note[:200], by=None, at=now
        )
        if order.member is not None:
            members[order.member.pk] = order.member
    return list(members.values())


def _failed_notify(*, offer: GroupBuyOffer, members: list[Member]) -> None:
    title = _("The group buy of %(product)s did not form") % {"product": offer.product.name}
    body = _(
        "Not enough people joined the group buy of %(product)s by its deadline. Your order "
        "is cancelled and nothing is charged."
    ) % {"product": offer.product.name}
    notification_services.campaign_notifications_enqueue(
        store_campaign=offer.broadcast.store_campaign,
        kind="group_buy_failed",
        title=title,
        body=body,
        members=members,
    )
