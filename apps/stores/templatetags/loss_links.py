"""The link to HQ's loss report (loss rate by store and category, docs/loss.md) where HQ looks:
the admin's home and the stores app's page. Shown only to staff the report lets in."""

from __future__ import annotations

from django import template
from django.contrib import admin
from django.urls import reverse

from apps.stores.models import StockMovement

register = template.Library()


@register.simple_tag(takes_context=True)
def loss_report_href(context: template.Context) -> str:
    """The report's URL when the request's user may open it (the stock movements' view
    permission, as the report checks), else ""."""
    request = context.get("request")
    model_admin = admin.site._registry.get(StockMovement)
    if request is None or model_admin is None or not model_admin.has_view_permission(request):
        return ""
    return reverse("admin:stores_stockmovement_loss_report")
