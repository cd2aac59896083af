"""The HQ dashboard's line about suppliers' receipt disputes awaiting an answer (the admin
index, templates/admin/index.html): HQ has no inbox, so the count links to the admin list of
open disputes. Shown only to staff who may open that list, and only when there is one."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.http import urlencode

from apps.procurement.models import ReceiptDispute
from apps.procurement.selectors.reconciliation import receipt_disputes_open_count
from linli.admin_helpers import admin_may_view

register = template.Library()


@register.inclusion_tag("admin/procurement/receipt_disputes_link.html", takes_context=True)
def receipt_disputes_open(context: template.Context) -> dict[str, object]:
    request = context.get("request")
    if request is None or not admin_may_view(request, ReceiptDispute):
        return {"count": 0}
    count = receipt_disputes_open_count()
    url = reverse("admin:procurement_receiptdispute_changelist")
    return {
        "count": count,
        "url": f"{url}?{urlencode({'status__exact': ReceiptDispute.Status.OPEN})}",
    }
