"""Links to the HQ live overview (`campaigns:live-overview`) where HQ works: the admin index,
the Broadcasts changelist and the portal home. Shown only to users the page lets in."""

from __future__ import annotations

from django import template
from django.urls import reverse

from apps.campaigns.views.live import live_overview_allowed

register = template.Library()


@register.simple_tag(takes_context=True)
def live_overview_href(context: template.Context) -> str:
    """The overview's URL when the request's user may open it, else ""."""
    request = context.get("request")
    if request is None or not live_overview_allowed(request.user):
        return ""
    return reverse("campaigns:live-overview")
