"""The owner's notification inbox in the portal."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apps.campaigns.notifications.services import notifications_mark_read
from apps.stores.access import VIEW_STORE, store_or_403


@login_required
@require_POST
def notifications_read(request: HttpRequest, store_id: int) -> HttpResponse:
    """Mark the user's own notifications of this store read, then go back where they came from
    (a safe local `next`, else the store page)."""
    store = store_or_403(request.user, store_id, VIEW_STORE)
    notifications_mark_read(user=request.user, store=store)
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("portal:store", store_id=store.pk)
