"""After-sales cases (无忧售后, docs/after-sales.md): the store opens a case on a member's order
with photos, the compensation policy proposes a remedy and who bears the cost, HQ approves or
rejects it in the admin, and marks it resolved once the remedy was given.

Every step is a conditional UPDATE on the case's status, so two clicks (or two HQ buyers at
once) cannot both decide a case. Refusals carry a stable `code` and a message for people.
Access is the caller's: the portal view checks `AFTER_SALES` at the store, the admin checks
`procurement.decide_aftersalescase`.

Approving records the decision only: a refund, a replacement or a coupon is given by the
store (till, shelf, coupon tool) and nothing is written to the stock ledger here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.campaigns.notifications.models import Notification
from apps.campaigns.notifications.services import notification_enqueue
from apps.customers.models import MemberIdentity
from apps.procurement.models import (
    AfterSalesCase,
    AfterSalesPhoto,
    CaseKind,
    ChargedTo,
    CompensationPolicy,
    Remedy,
)
from apps.procurement.selectors.aftersales import (
    CASE_ORDER_STATUSES,
    case_supplier_id,
    compensation_policies_for,
    compensation_policy_for,
    order_line_units_amount,
    order_lines_units_accounted,
)
from apps.stores.inspections.images import ProcessedPhoto, photo_process
from apps.stores.models import OrderLine
from linli.wording import status_in_sentence

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from apps.procurement.models import Receipt
    from apps.stores.models import Order, Store

Status = AfterSalesCase.Status
DEFAULT_MAX_PHOTOS = 6
AMOUNT_STEP = Decimal("0.01")


class AfterSalesRefused(Exception):
    """The step is not allowed (in the case's current state, or with this input); nothing was
    written. `code` is stable for callers; `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class CaseRepeated(Exception):
    """The form's key was already used at this store: that case was opened before (`case`) and
    nothing was written now."""

    def __init__(self, case: AfterSalesCase) -> None:
        super().__init__(f"case form {case.form_key} already used")
        self.case = case


def max_photos() -> int:
    """How many photos a case may carry (setting `AFTER_SALES_MAX_PHOTOS`, default 6)."""
    return int(getattr(settings, "AFTER_SALES_MAX_PHOTOS", DEFAULT_MAX_PHOTOS))


@contextmanager
def _files_removed_on_error() -> Iterator[list[str]]:
    """Collects names of files written inside the block; if the block fails (so its transaction
    rolls back) they are deleted, leaving no file without a row."""
    written: list[str] = []
    try:
        yield written
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise


def _photo_store(
    *, case: AfterSalesCase, processed: ProcessedPhoto, by: AbstractBaseUser, written: list[str]
) -> AfterSalesPhoto:
    photo = AfterSalesPhoto(
        case=case,
        width=processed.width,
        height=processed.height,
        size_bytes=len(processed.content),
        uploaded_by=by,
        uploaded_at=timezone.now(),
    )
    # The storage name is random (`case_photo_path`): the client's file name is never used.
    photo.image.save(f"photo.{processed.extension}", ContentFile(processed.content), save=False)
    written.append(photo.image.name)
    photo.save()
    return photo


def _check_opening(
    *,
    store: Store,
    order: Order,
    order_line: OrderLine | None,
    kind: str,
    quantity: int,
    amount: Decimal,
    policy: CompensationPolicy | None,
    photo_count: int,
) -> None:
    if order.store_id != store.pk:
        raise AfterSalesRefused("order_elsewhere", _("This order is not one of this store's."))
    if order.status not in CASE_ORDER_STATUSES:
        raise AfterSalesRefused(
            "order_not_paid",
            _("A case can only be opened on a paid order; this one is %(status)s.")
            % {"status": status_in_sentence(order.get_status_display())},
        )
    if order_line is not None and order_line.order_id != order.pk:
        raise AfterSalesRefused("line_elsewhere", _("This line is not one of the order's."))
    if kind not in CaseKind.values:
        raise AfterSalesRefused("unknown_kind", _("Unknown kind of case."))
    if quantity < 1:
        raise AfterSalesRefused("quantity_not_positive", _("The quantity must be at least 1."))
    if order_line is not None and quantity > order_line.quantity:
        raise AfterSalesRefused(
            "quantity_too_large",
            ngettext(
                "At most %(quantity)d was bought on this line.",
                "At most %(quantity)d were bought on this line.",
                order_line.quantity,
            )
            % {"quantity": order_line.quantity},
        )
    if amount < 0:
        raise AfterSalesRefused("amount_negative", _("The amount cannot be negative."))
    if order_line is not None:
        units_amount = order_line_units_amount(line=order_line, units=quantity)
        if amount > units_amount:
            raise AfterSalesRefused(
                "amount_too_large",
                ngettext(
                    "The amount is more than the %(quantity)d unit costs: %(total)s yuan.",
                    "The amount is more than the %(quantity)d units cost: %(total)s yuan.",
                    quantity,
                )
                % {"quantity": quantity, "total": units_amount},
            )
    if order_line is not None and kind == CaseKind.MISSING:
        covered = order_lines_units_accounted(order_line_ids=[order_line.pk]).get(order_line.pk, 0)
        if quantity > order_line.quantity - covered:
            raise AfterSalesRefused(
                "already_covered",
                ngettext(
                    "%(covered)d unit of this line is already in a missing-item case or was "
                    "found damaged at receiving: at most %(left)d more can be claimed as "
                    "missing.",
                    "%(covered)d units of this line are already in missing-item cases or were "
                    "found damaged at receiving: at most %(left)d more can be claimed as "
                    "missing.",
                    covered,
                )
                % {"covered": covered, "left": max(0, order_line.quantity - covered)},
            )
    if order_line is None and amount > order.total:
        raise AfterSalesRefused(
            "amount_too_large",
            _("The amount is more than the order's total of %(total)s yuan.")
            % {"total": order.total},
        )
    if amount == 0 and policy is not None and policy.remedy == Remedy.REFUND:
        raise AfterSalesRefused(
            "refund_zero",
            _("A refund needs an amount: give what the goods cost."),
        )
    if photo_count > max_photos():
        raise AfterSalesRefused(
            "too_many_photos",
            ngettext(
                "At most %(count)d photo can be added to a case.",
                "At most %(count)d photos can be added to a case.",
                max_photos(),
            )
            % {"count": max_photos()},
        )


def case_open(
    *,
    store: Store,
    order: Order,
    order_line: OrderLine | None = None,
    kind: str,
    quantity: int,
    amount: Decimal,
    description: str,
    photos: Sequence[IO[bytes] | Any],
    by: AbstractBaseUser,
    key: uuid.UUID | None = None,
) -> AfterSalesCase:
    """Open a case on a member's order (or one of its lines) of `store`.

    `key` (the portal form's): the case is opened once per store and key (the case's
    `form_key`, unique per store, written first in the transaction, as a loss list's
    `LossBatch`): a second submit of the key — even one sent while the first is still open,
    which waits on the unique index — raises CaseRepeated (carrying the first case) and
    writes nothing; a refused case leaves its key free.

    Preconditions, each refused with a code and nothing written: the order is the store's
    (`order_elsewhere`) and paid, ready or completed (`order_not_paid`); the line is the order's
    (`line_elsewhere`); a known kind (`unknown_kind`); 1 ≤ quantity ≤ the line's quantity
    (`quantity_not_positive`, `quantity_too_large`); 0 ≤ amount ≤ what those units cost (their
    share of the line's total; without a line, the order's total) (`amount_negative`,
    `amount_too_large`); a zero amount where the policy's remedy is a refund (`refund_zero`; a
    replacement or a coupon may be worth ¥0 in money); at most `max_photos()`
    photos (`too_many_photos`). Every photo is validated and re-encoded like an inspection
    photo before anything is written (`PhotoRejected`: nothing written).

    What is written, in one transaction: the case (number `AS-<local yyyymmdd>-<id>`, from
    the row's own id: no counter to race on), its member (the order's), its supplier
    (`case_supplier_id`), the policy row that applies (`compensation_policy_for`) with its
    proposed remedy and who bears the cost, and the photos. When the policy row needs no
    approval the case is approved at once as proposed (no decider) and the member notified.
    A case without a policy row waits for HQ to choose the remedy and the cost bearer.
    """
    amount = Decimal(amount).quantize(AMOUNT_STEP)
    policy = compensation_policy_for(kind=kind, amount=amount) if amount >= 0 else None
    _check_opening(
        store=store,
        order=order,
        order_line=order_line,
        kind=kind,
        quantity=quantity,
        amount=amount,
        policy=policy,
        photo_count=len(photos),
    )
    processed = [photo_process(upload) for upload in photos]
    supplier_id = case_supplier_id(order=order, order_line=order_line)
    now = timezone.now()
    with _files_removed_on_error() as written, transaction.atomic():
        case = _case_claim(
            form_key=key,
            # A placeholder unique until the id is known, replaced in the same transaction.
            number=f"AS-new-{uuid.uuid4().hex[:24]}",
            store=store,
            order=order,
            order_line=order_line,
            member_id=order.member_id,
            supplier_id=supplier_id,
            kind=kind,
            quantity=quantity,
            amount=amount,
            description=description.strip()[:1000],
            policy=policy,
            proposed_remedy=policy.remedy if policy is not None else "",
            charged_to=policy.charged_to if policy is not None else "",
            opened_by=by,
            opened_at=now,
        )
        case.number = f"AS-{timezone.localtime(now):%Y%m%d}-{case.pk}"
        AfterSalesCase.objects.filter(pk=case.pk).update(number=case.number)
        for item in processed:
            _photo_store(case=case, processed=item, by=by, written=written)
        if policy is not None and not policy.needs_approval:
            case = _decide(
                case=case,
                to=Status.APPROVED,
                by=None,
                note=_("Approved by the compensation policy."),
                remedy=policy.remedy,
                charged_to=policy.charged_to,
            )
    return case


def _case_claim(*, form_key: uuid.UUID | None, **fields: Any) -> AfterSalesCase:
    """Insert the case; CaseRepeated when its form key was used at the store."""
    try:
        with transaction.atomic():
            return AfterSalesCase.objects.create(form_key=form_key, **fields)
    except IntegrityError:
        if form_key is None:
            raise
        repeated = AfterSalesCase.objects.filter(store=fields["store"], form_key=form_key).first()
        if repeated is None:
            raise
        raise CaseRepeated(repeated) from None


@dataclass(frozen=True)
class ShortageCompensation:
    """What an order's receiving cases propose: their total amount, and the remedy when they
    all propose the same one ("" otherwise, or when no policy row applies)."""

    amount: Decimal
    remedy: str


def shortage_cases_open(
    *,
    receipt: Receipt,
    short_units: Mapping[int, int],
    damaged_units: Mapping[int, int] | None = None,
) -> dict[int, dict[str, ShortageCompensation]]:
    """Open, for the store receiving `receipt`, one after-sales case per member order line
    and kind found short: a "missing" case for the units that did not arrive (`short_units`:
    {order line id: units}) and a "damaged" case for the units that arrived damaged
    (`damaged_units`, same shape), so that the compensation for what the member paid is on
    record without the owner having to open it (无忧售后). Returns {order id: {kind: what its
    new cases of that kind propose}} (for the member's notice).

    Only lines of the receipt's store whose order is paid (paid, ready or completed: the
    `case_open` rule; an order about to be cancelled as not delivered is still paid here) and
    whose units are worth something (`order_line_units_amount` > 0: nothing paid, nothing to
    refund) get a case. Each case: its kind, the units and their value, the order's member,
    the supplier of the purchase order received, the policy row of that kind for that amount
    (`compensation_policies_for`) with its remedy and cost bearer (by default a missing item
    is refunded at the supplier's cost; a damaged one up to ¥50 replaced at HQ's, the
    regional delivery's, above that refunded at the supplier's), `origin` receiving, the
    receipt, no `opened_by` (the system opened it, not a person). It waits for HQ's approval
    like any case; a policy row that needs no approval approves it at once — without the
    approval notification: the member's short (or not-delivered) notice already says the
    compensation is being arranged.

    Idempotent: a (line, kind) that already has a receiving case is skipped, and the
    database allows one receiving case per (order line, kind)
    (`after_sales_one_receiving_case_per_line`). Call inside the receipt's transaction; a
    handful of queries whatever the number of lines."""
    units_by_kind = {
        CaseKind.MISSING: {line_id: units for line_id, units in short_units.items() if units > 0},
        CaseKind.DAMAGED: {
            line_id: units for line_id, units in (damaged_units or {}).items() if units > 0
        },
    }
    wanted = {line_id for units in units_by_kind.values() for line_id in units}
    if not wanted:
        return {}
    already = set(
        AfterSalesCase.objects.filter(
            order_line_id__in=list(wanted),
            kind__in=list(units_by_kind),
            origin=AfterSalesCase.Origin.RECEIVING,
        ).values_list("order_line_id", "kind")
    )
    lines = {
        line.pk: line
        for line in OrderLine.objects.filter(
            pk__in=list(wanted),
            order__store_id=receipt.store_id,
            order__status__in=CASE_ORDER_STATUSES,
        ).select_related("order", "product")
    }
    # (line, kind, units, amount) of each case to open, lines in id order, missing first.
    wanted_cases = []
    for line_id in sorted(lines):
        line = lines[line_id]
        for kind, units_of in units_by_kind.items():
            if line_id not in units_of or (line_id, kind) in already:
                continue
            units = min(units_of[line_id], line.quantity)
            amount = order_line_units_amount(line=line, units=units)
            if amount > 0:
                wanted_cases.append((line, kind, units, amount))
    if not wanted_cases:
        return {}
    policies = {
        kind: compensation_policies_for(
            kind=kind,
            amounts={
                amount for _line, case_kind, _units, amount in wanted_cases if case_kind == kind
            },
        )
        for kind in units_by_kind
    }
    supplier_id = receipt.purchase_order.supplier_id
    now = timezone.now()
    with translation.override(settings.LANGUAGE_CODE):
        descriptions = [
            (
                _("Found short at store receiving of %(purchase_order)s: %(product)s × %(units)d.")
                if kind == CaseKind.MISSING
                else _(
                    "Found damaged at store receiving of %(purchase_order)s: %(product)s × "
                    "%(units)d."
                )
            )
            % {
                "purchase_order": receipt.purchase_order.number,
                "product": line.product.name,
                "units": units,
            }
            for line, kind, units, _amount in wanted_cases
        ]
    cases = []
    for (line, kind, units, amount), description in zip(wanted_cases, descriptions, strict=True):
        policy = policies[kind][amount]
        cases.append(
            AfterSalesCase(
                number=f"AS-new-{uuid.uuid4().hex[:24]}",
                store_id=receipt.store_id,
                order=line.order,
                order_line=line,
                member_id=line.order.member_id,
                supplier_id=supplier_id,
                kind=kind,
                quantity=units,
                amount=amount,
                description=description[:1000],
                policy=policy,
                proposed_remedy=policy.remedy if policy is not None else "",
                charged_to=policy.charged_to if policy is not None else "",
                opened_by=None,
                opened_at=now,
                origin=AfterSalesCase.Origin.RECEIVING,
                receipt=receipt,
            )
        )
    with transaction.atomic():
        created = AfterSalesCase.objects.bulk_create(cases)
        ids = [case.pk for case in created]
        # Numbered from the rows' own ids, as `case_open` does: no counter to race on.
        AfterSalesCase.objects.filter(pk__in=ids).update(
            number=Concat(
                Value(f"AS-{timezone.localtime(now):%Y%m%d}-"),
                Cast("pk", output_field=CharField()),
                output_field=CharField(),
            )
        )
        # Policy rows that need no approval approve their cases at once, as in `case_open`.
        for policy_id in {case.policy_id for case in created if case.policy_id is not None}:
            policy = next(case.policy for case in created if case.policy_id == policy_id)
            if policy.needs_approval:
                continue
            AfterSalesCase.objects.filter(
                pk__in=ids, policy_id=policy_id, status=Status.OPEN
            ).update(
                status=Status.APPROVED,
                decided_at=now,
                decision_note=_("Approved by the compensation policy.")[:300],
                remedy=policy.remedy,
                charged_to=policy.charged_to,
            )
    grouped: dict[int, dict[str, list[AfterSalesCase]]] = {}
    for case in created:
        grouped.setdefault(case.order_id, {}).setdefault(case.kind, []).append(case)
    return {
        order_id: {
            kind: ShortageCompensation(
                amount=sum((case.amount for case in cases), Decimal("0.00")),
                remedy=cases[0].proposed_remedy
                if len({case.proposed_remedy for case in cases}) == 1
                else "",
            )
            for kind, cases in by_kind.items()
        }
        for order_id, by_kind in grouped.items()
    }


def _decide(
    *,
    case: AfterSalesCase,
    to: str,
    by: AbstractBaseUser | None,
    note: str,
    **changes: str,
) -> AfterSalesCase:
    """Open → `to` by a conditional UPDATE (`not_open` when the case was decided already),
    then the member's notification. Call inside a transaction."""
    changed = AfterSalesCase.objects.filter(pk=case.pk, status=Status.OPEN).update(
        status=to, decided_by=by, decided_at=timezone.now(), decision_note=note[:300], **changes
    )
    case.refresh_from_db()
    if changed != 1:
        raise AfterSalesRefused(
            "not_open",
            _("Only a case awaiting approval can be decided; %(number)s is %(status)s.")
            % {"number": case.number, "status": status_in_sentence(case.get_status_display())},
        )
    _member_notify(case=case, event=to)
    return case


def case_approve(
    *,
    case: AfterSalesCase,
    by: AbstractBaseUser,
    remedy: str | None = None,
    charged_to: str | None = None,
    note: str = "",
) -> AfterSalesCase:
    """Approve an open case (HQ): the remedy and the cost bearer default to the policy's
    proposal, either may be overridden. Refused: no remedy or bearer given nor proposed
    (`no_remedy`, `no_charged_to`), an unknown value (`unknown_remedy`, `unknown_charged_to`),
    a refund of a ¥0 case (`refund_zero`),
    the case no longer open (`not_open`: a second approval changes nothing). The member is
    notified (once: the notification's dedupe key is the case and the event)."""
    remedy = remedy or case.proposed_remedy
    charged_to = charged_to or case.charged_to
    if not remedy:
        raise AfterSalesRefused("no_remedy", _("Choose a remedy: the policy proposes none."))
    if remedy not in Remedy.values:
        raise AfterSalesRefused("unknown_remedy", _("Unknown remedy."))
    if not charged_to:
        raise AfterSalesRefused(
            "no_charged_to", _("Choose who bears the cost: the policy says nothing.")
        )
    if charged_to not in ChargedTo.values:
        raise AfterSalesRefused("unknown_charged_to", _("Unknown cost bearer."))
    if remedy == Remedy.REFUND and case.amount == 0:
        raise AfterSalesRefused(
            "refund_zero", _("A refund of 0 yuan refunds nothing: choose another remedy.")
        )
    with transaction.atomic():
        return _decide(
            case=case,
            to=Status.APPROVED,
            by=by,
            note=note,
            remedy=remedy,
            charged_to=charged_to,
        )


def case_reject(*, case: AfterSalesCase, by: AbstractBaseUser, note: str) -> AfterSalesCase:
    """Reject an open case (HQ), with a note for the member; `not_open` otherwise. The member
    is notified once."""
    with transaction.atomic():
        return _decide(case=case, to=Status.REJECTED, by=by, note=note)


def order_receiving_cases_withdraw(*, order_id: int, note: str) -> int:
    """Withdraw the receiving cases still awaiting approval on this member order, now that
    the whole order is cancelled (before pickup: it is refunded whole, so the refund of its
    short units must not be paid as well). Rejected with `note`, no decider, and no message
    to the member (the cancellation's message tells them). Cases already approved stay as
    they are: their remedy was granted. Returns how many were withdrawn. A conditional
    UPDATE: calling again withdraws nothing."""
    return AfterSalesCase.objects.filter(
        order_id=order_id, origin=AfterSalesCase.Origin.RECEIVING, status=Status.OPEN
    ).update(status=Status.REJECTED, decided_at=timezone.now(), decision_note=note[:300])


def case_resolve(*, case: AfterSalesCase, by: AbstractBaseUser) -> AfterSalesCase:
    """Approved → resolved (the remedy was given), by a conditional UPDATE; `not_approved`
    otherwise, so resolving twice changes nothing. `by` is the HQ user acting (the case keeps
    the decider; the admin's log records who resolved)."""
    changed = AfterSalesCase.objects.filter(pk=case.pk, status=Status.APPROVED).update(
        status=Status.RESOLVED, resolved_at=timezone.now()
    )
    case.refresh_from_db()
    if changed != 1:
        raise AfterSalesRefused(
            "not_approved",
            _("Only an approved case can be resolved; %(number)s is %(status)s.")
            % {"number": case.number, "status": status_in_sentence(case.get_status_display())},
        )
    return case


def _receiving_case_message(*, case: AfterSalesCase, event: str) -> tuple[str, str]:
    """Title and body of the decision on a case receiving opened (the member did not ask: the
    short notice told them the compensation was being arranged), naming the goods as missing
    or as damaged in delivery, as the case's kind says."""
    damaged = case.kind == CaseKind.DAMAGED
    if event == Status.APPROVED:
        if damaged:
            title = _(
                "Compensation for the goods of your order #%(order)s damaged in delivery approved"
            ) % {"order": case.order_id}
        else:
            title = _("Compensation for the missing goods of your order #%(order)s approved") % {
                "order": case.order_id
            }
        body = _("Remedy: %(remedy)s (%(amount)s yuan). The store will contact you.") % {
            "remedy": case.get_remedy_display(),
            "amount": case.amount,
        }
    else:
        if damaged:
            title = _("About the goods of your order #%(order)s damaged in delivery") % {
                "order": case.order_id
            }
        else:
            title = _("About the missing goods of your order #%(order)s") % {"order": case.order_id}
        body = case.decision_note or _("Please ask the store for details.")
    return title, body


def _member_notify(*, case: AfterSalesCase, event: str) -> None:
    """Tell the member of the decision, on WeChat when they have a WeChat identity, else by
    SMS; in the site's language (the member's, not the deciding HQ user's). Idempotent: the
    dedupe key names the case, the event and the member. No member, or an erased one: nothing."""
    member = case.member
    if member is None or member.is_erased:
        return
    on_wechat = MemberIdentity.objects.filter(
        member=member, kind=MemberIdentity.Kind.WECHAT
    ).exists()
    with translation.override(settings.LANGUAGE_CODE):
        if case.origin == AfterSalesCase.Origin.RECEIVING:
            # The member asked for nothing: receiving found the goods short and said so.
            title, body = _receiving_case_message(case=case, event=event)
        elif event == Status.APPROVED:
            title = _("Your after-sales request %(number)s was approved") % {"number": case.number}
            body = _("Remedy: %(remedy)s. The store will contact you.") % {
                "remedy": case.get_remedy_display()
            }
        else:
            title = _("Your after-sales request %(number)s was not approved") % {
                "number": case.number
            }
            body = case.decision_note or _("Please ask the store for details.")
    notification_enqueue(
        dedupe_key=f"after_sales:{case.pk}:{event}:member:{member.pk}",
        kind=f"after_sales.{event}",
        title=title,
        body=body,
        channel=Notification.Channel.WECHAT if on_wechat else Notification.Channel.SMS,
        store=case.store,
        member=member,
        payload={"case": case.pk},
    )
