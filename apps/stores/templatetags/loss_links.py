"""The link to HQ's loss report (loss rate by store and category, docs/loss.md) where HQ looks:
the admin's home and the stores app's page. Shown only to staff the report lets in."""

from __future__ import annotations

from django import template
from django.urls import reverse

from apps.stores.models import StockMovement
from linli.admin_helpers import admin_may_view

register = template.Library()


@register.simple_tag(takes_context=True)
def loss_report_href(context: template.Context) -> str:
    """The report's URL when the request's user may open it (the stock movements' admin, as
    the report and the KPI dashboard's loss-rate link ask), else ""."""
    request = context.get("request")
    if request is None or not admin_may_view(request, StockMovement):
        return ""
    return reverse("admin:stores_stockmovement_loss_report")
