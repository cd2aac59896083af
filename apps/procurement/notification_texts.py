"""The suppliers' portal notifications (new and updated purchase orders, receipt disputes),
worded from their payload in the reader's language.

Registered, with procurement's other kinds of notification and their labels (`KINDS`), in
`ProcurementConfig.ready()` (`apps.campaigns.notifications.texts`); the services that write the
rows store the same words in the project language. Product, store and supplier names and HQ's
answer are data: shown as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from apps.campaigns.notifications.texts import Renderer, StrOrPromise
from apps.procurement.models import ReceiptDispute

PURCHASE_ORDER_NEW_KIND = "purchase_order.new"
PURCHASE_ORDER_UPDATED_KIND = "purchase_order.updated"
DISPUTE_OPENED_KIND = "receipt_dispute_opened"
DISPUTE_ANSWERED_KIND = "receipt_dispute_answered"


def purchase_order_new_texts(payload: Mapping[str, Any]) -> tuple[str, str]:
    """Payload: `number`, `delivery_date` (ISO)."""
    title = gettext("New purchase order %(number)s") % {"number": payload["number"]}
    body = gettext("Delivery date: %(date)s") % {"date": payload["delivery_date"]}
    return title, body


def purchase_order_updated_texts(payload: Mapping[str, Any]) -> tuple[str, str]:
    """Payload: `number`, `delivery_date` (ISO), `added`: a list of `{"product", "units",
    "ordered"}` (units added by this revision, units ordered in all)."""
    added = pgettext("list separator", "; ").join(
        gettext("%(product)s +%(units)d (%(ordered)d ordered in all)")
        % {"product": line["product"], "units": line["units"], "ordered": line["ordered"]}
        for line in payload["added"]
    )
    title = gettext("Purchase order %(number)s updated") % {"number": payload["number"]}
    body = gettext("Delivery date: %(date)s. Added: %(lines)s.") % {
        "date": payload["delivery_date"],
        "lines": added,
    }
    return title, body


def _dispute_subject(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "number": payload["number"],
        "store": payload["store"],
        "product": payload["product"],
        "claimed": payload["claimed"],
        "recorded": payload["recorded"],
    }


def dispute_opened_texts(payload: Mapping[str, Any]) -> tuple[str, str]:
    """Payload: `number` (the purchase order's), `store` (code and name), `product`, `claimed`,
    `recorded` (units)."""
    subject = _dispute_subject(payload)
    title = gettext("Receipt disputed: %(number)s, %(store)s") % subject
    body = (
        gettext(
            "%(product)s: you say %(claimed)d delivered, the store recorded "
            "%(recorded)d. HQ will answer."
        )
        % subject
    )
    return title, body


def dispute_answered_texts(payload: Mapping[str, Any]) -> tuple[str, str]:
    """Payload: as opened, and `event` (`accepted` / `rejected`) and HQ's `answer`."""
    subject = _dispute_subject(payload)
    title = (
        gettext("Dispute accepted: %(number)s, %(store)s")
        if payload["event"] == ReceiptDispute.Status.ACCEPTED
        else gettext("Dispute rejected: %(number)s, %(store)s")
    ) % subject
    body = gettext("%(product)s. HQ's answer: %(answer)s") % {
        **subject,
        "answer": payload["answer"],
    }
    return title, body


# Every kind of notification procurement writes: (kind, label, renderer). The suppliers' portal
# notifications are worded per reader; the messages to members about their orders and
# after-sales requests (no renderer) are sent once, as text, in Chinese. Registered in
# `ProcurementConfig.ready()`; the labels name the kinds in the admin.
KINDS: list[tuple[str, StrOrPromise, Renderer | None]] = [
    (PURCHASE_ORDER_NEW_KIND, _("New purchase order"), purchase_order_new_texts),
    (PURCHASE_ORDER_UPDATED_KIND, _("Purchase order changed"), purchase_order_updated_texts),
    (DISPUTE_OPENED_KIND, _("Receipt dispute opened"), dispute_opened_texts),
    (DISPUTE_ANSWERED_KIND, _("Receipt dispute answered"), dispute_answered_texts),
    ("order_ready", _("Order ready for pickup"), None),
    ("order_out_for_delivery", _("Order out for delivery"), None),
    ("order_delivered", _("Order delivered"), None),
    ("order_not_delivered", _("Order not delivered"), None),
    ("order_cancelled", _("Order cancelled"), None),
    ("order_short", _("Order short on delivery"), None),
    ("after_sales.approved", _("After-sales request approved"), None),
    ("after_sales.rejected", _("After-sales request rejected"), None),
]
