"""A supplier's dispute of a store's receipt (异议) and HQ's answer
(docs/delivery-and-receiving.md, "Disputes").

Receiving stands: what a store recorded is in the ledger and on the member orders, and the
supplier's shortage report is closed once a store has received. A supplier who disagrees
("we delivered 40, the store says 36") opens a dispute of the receipt line within
`RECEIPT_DISPUTE_DAYS`; HQ accepts or rejects it in the admin with an answer. Neither changes
the receipt, the stock or the member orders: HQ's answer says what follows (a stock count at
the store, a case, a settlement adjustment), done with those tools.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.campaigns.notifications.services import notification_drafts_worded, notifications_enqueue
from apps.procurement.models import ReceiptDispute, ReceiptLine
from apps.procurement.notification_texts import (
    DISPUTE_ANSWERED_KIND,
    DISPUTE_OPENED_KIND,
    dispute_answered_texts,
    dispute_opened_texts,
)
from apps.procurement.selectors.reconciliation import receipt_dispute_deadline
from apps.procurement.selectors.suppliers import supplier_user_ids
from linli.wording import status_in_sentence

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

OPENED_NOTIFICATION_KIND = DISPUTE_OPENED_KIND
ANSWERED_NOTIFICATION_KIND = DISPUTE_ANSWERED_KIND
NOTE_MAX_LENGTH = 500
ANSWER_MAX_LENGTH = 500


class ReceiptDisputeRefused(Exception):
    """The dispute cannot be opened or answered. `code` is stable for callers (`no_note`,
    `too_late`, `nothing_to_claim`, `not_above_recorded`, `beyond_shipped`, `already_open`,
    `no_answer`, `not_open`); `message` is for people. Nothing was written.

    `done_as_asked` is true for `already_open` when the open dispute is this one: the same
    claim and note, a repeat (a second tap, a resend on a slow line) of a dispute sent."""

    def __init__(self, code: str, message: str, *, done_as_asked: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.done_as_asked = done_as_asked


def receipt_dispute_open(
    *,
    receipt_line: ReceiptLine,
    claimed_quantity: int,
    note: str,
    by: AbstractBaseUser | None,
    now: dt.datetime | None = None,
) -> ReceiptDispute:
    """Open the supplier's dispute of one receipt line: they say `claimed_quantity` units
    were delivered where the store recorded fewer as arrived (`arrived_quantity`, received +
    damaged). A dispute is the supplier's case against the store's count, so the claim lies
    above what the store recorded and at most what the supplier was to deliver: claiming
    fewer would argue against the supplier itself. Load the line with
    `receipt__purchase_order`, `receipt__store` and `allocation__line__product`; the caller
    has checked that `by` may act for the purchase order's supplier.

    Refusals (`ReceiptDisputeRefused`, nothing written): no note (`no_note`); past
    `receipt_dispute_deadline` (`too_late`); the store recorded everything the supplier was
    to deliver to it on the line (`shipped_quantity`), so no claim can lie above it
    (`nothing_to_claim`); the claim is not above what the store recorded
    (`not_above_recorded`); the claim is more than the supplier was to deliver
    (`beyond_shipped`); a dispute of the line is still open (`already_open`: the partial
    unique constraint decides, so two submissions at once give one dispute; `done_as_asked`
    when the open dispute claims the same quantity with the same note). The supplier's
    active users other than `by` get a portal notification."""
    now = now or timezone.now()
    note = note.strip()
    if not note:
        raise ReceiptDisputeRefused("no_note", _("Say why you disagree: a note is required."))
    receipt = receipt_line.receipt
    if now > receipt_dispute_deadline(received_at=receipt.received_at):
        raise ReceiptDisputeRefused(
            "too_late",
            _(
                "The store received this more than %(days)d days ago: it can no longer be "
                "disputed here. Contact HQ."
            )
            % {"days": settings.RECEIPT_DISPUTE_DAYS},
        )
    recorded = receipt_line.arrived_quantity
    shipped = receipt_line.shipped_quantity
    if not receipt_line.may_be_disputed:
        raise ReceiptDisputeRefused(
            "nothing_to_claim",
            _(
                "The store recorded all %(shipped)d units you were to deliver to it: there is "
                "nothing to dispute."
            )
            % {"shipped": shipped},
        )
    if claimed_quantity <= recorded:
        raise ReceiptDisputeRefused(
            "not_above_recorded",
            _(
                "The store recorded %(recorded)d delivered: a dispute says you delivered more, "
                "from %(lowest)d to the %(shipped)d units you were to deliver to this store."
            )
            % {"recorded": recorded, "lowest": recorded + 1, "shipped": shipped},
        )
    if claimed_quantity > shipped:
        raise ReceiptDisputeRefused(
            "beyond_shipped",
            _(
                "You can claim from %(lowest)d to the %(shipped)d units you were to deliver to "
                "this store."
            )
            % {"lowest": recorded + 1, "shipped": shipped},
        )
    purchase_order = receipt.purchase_order
    note = note[:NOTE_MAX_LENGTH]
    try:
        with transaction.atomic():
            dispute = ReceiptDispute.objects.create(
                receipt_line=receipt_line,
                supplier_id=purchase_order.supplier_id,
                recorded_quantity=recorded,
                claimed_quantity=claimed_quantity,
                note=note,
                created_by=by,
                created_at=now,
            )
            _suppliers_notify(dispute=dispute, receipt_line=receipt_line, event="opened", actor=by)
    except IntegrityError as error:
        open_dispute = (
            ReceiptDispute.objects.filter(
                receipt_line=receipt_line, status=ReceiptDispute.Status.OPEN
            )
            .values_list("claimed_quantity", "note")
            .first()
        )
        if open_dispute is None:
            raise
        raise ReceiptDisputeRefused(
            "already_open",
            _("This receipt line already has a dispute awaiting HQ's answer."),
            done_as_asked=open_dispute == (claimed_quantity, note),
        ) from error
    return dispute


def receipt_dispute_accept(
    *, dispute: ReceiptDispute, by: AbstractBaseUser, answer: str
) -> ReceiptDispute:
    """HQ accepts the dispute with an answer for the supplier (what happens next: the
    receipt and the stock are not changed by this). Refused: no answer (`no_answer`), the
    dispute is no longer open (`not_open`: a conditional UPDATE, so two HQ users at once
    give one decision). The supplier's active users are notified."""
    return _answer(dispute=dispute, to=ReceiptDispute.Status.ACCEPTED, by=by, answer=answer)


def receipt_dispute_reject(
    *, dispute: ReceiptDispute, by: AbstractBaseUser, answer: str
) -> ReceiptDispute:
    """HQ rejects the dispute with an answer: the receipt stands. Refusals and notification
    as `receipt_dispute_accept`."""
    return _answer(dispute=dispute, to=ReceiptDispute.Status.REJECTED, by=by, answer=answer)


def _answer(
    *, dispute: ReceiptDispute, to: str, by: AbstractBaseUser, answer: str
) -> ReceiptDispute:
    answer = answer.strip()
    if not answer:
        raise ReceiptDisputeRefused(
            "no_answer", _("Write an answer for the supplier: it says what happens next.")
        )
    with transaction.atomic():
        changed = ReceiptDispute.objects.filter(
            pk=dispute.pk, status=ReceiptDispute.Status.OPEN
        ).update(
            status=to,
            resolved_by=by,
            resolved_at=timezone.now(),
            answer=answer[:ANSWER_MAX_LENGTH],
        )
        dispute.refresh_from_db()
        if changed != 1:
            raise ReceiptDisputeRefused(
                "not_open",
                _("Only a dispute awaiting HQ can be answered; this one is %(status)s.")
                % {"status": status_in_sentence(dispute.get_status_display())},
            )
        receipt_line = ReceiptLine.objects.select_related(
            "receipt__purchase_order", "receipt__store", "allocation__line__product"
        ).get(pk=dispute.receipt_line_id)
        _suppliers_notify(dispute=dispute, receipt_line=receipt_line, event=to, actor=by)
    return dispute


def _suppliers_notify(
    *,
    dispute: ReceiptDispute,
    receipt_line: ReceiptLine,
    event: str,
    actor: AbstractBaseUser | None,
) -> int:
    """One portal notification per active user of the dispute's supplier for this event
    (opened, accepted, rejected), except `actor`, who did it: nobody is told of their own
    action (the supplier user who opens a dispute is not notified of it; their colleagues
    are). The dedupe key names the dispute, the event and the user, so a retry adds nothing.
    Stored texts in the site's default language, as the purchase-order notifications; the
    payload carries their parameters, so each reader sees them in theirs."""
    purchase_order = receipt_line.receipt.purchase_order
    store = receipt_line.receipt.store
    product = receipt_line.allocation.line.product
    users = [
        user_id
        for user_id in supplier_user_ids(supplier_ids={dispute.supplier_id})[dispute.supplier_id]
        if actor is None or user_id != actor.pk
    ]
    url = reverse("supplier:order", args=[purchase_order.pk]) + "#received"
    payload = {
        "purchase_order_id": purchase_order.pk,
        "receipt_dispute_id": dispute.pk,
        "url": url,
        "event": event,
        "number": purchase_order.number,
        "store": f"{store.code} {store.name}",
        "product": product.name,
        "claimed": dispute.claimed_quantity,
        "recorded": dispute.recorded_quantity,
    }
    if event == "opened":
        kind, texts = OPENED_NOTIFICATION_KIND, dispute_opened_texts
    else:
        kind, texts = ANSWERED_NOTIFICATION_KIND, dispute_answered_texts
        payload["answer"] = dispute.answer
    return notifications_enqueue(
        drafts=notification_drafts_worded(
            kind=kind,
            payload=payload,
            words=texts,
            recipient_ids=users,
            dedupe_prefix=f"receipt-dispute:{dispute.pk}:{event}",
        )
    )
