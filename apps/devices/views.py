"""Portal pages for store devices. Every view scopes through apps.stores.access (via selectors):
VIEW_DEVICES to see devices and alerts (owners, clerks, inspectors), ACT_ON_ALERTS to acknowledge
or resolve them (owners, clerks); HQ as their admin permissions allow."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.campaigns.notifications.selectors import (
    notifications_for_user,
    notifications_unread_count,
)
from apps.devices import selectors, services
from apps.stores.access import ACT_ON_ALERTS, VIEW_DEVICES, may, store_or_403
from linli.params import checked_text


@login_required
@require_GET
def store_devices(request: HttpRequest, store_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, VIEW_DEVICES)
    # Before the page's lists: an alert committed after them is replayed (store_live_cursor).
    live_cursor = selectors.store_live_cursor(store=store)
    return render(
        request,
        "devices/store_devices.html",
        {
            "store": store,
            "live_cursor": live_cursor,
            "devices": selectors.store_devices_overview(store=store),
            "alerts": selectors.store_active_alerts(store=store),
            "notifications": notifications_for_user(user=request.user, store=store),
            "unread_count": notifications_unread_count(user=request.user, store=store),
            "may_act": may(request.user, ACT_ON_ALERTS, store.pk),
        },
    )


@login_required
@require_GET
def store_live_lines(request: HttpRequest, store_id: int) -> JsonResponse:
    """What the store's notifications socket sent after `?since=` (an ISO time with its
    offset, the page's cursor: `selectors.store_live_cursor`): store-live.js asks on every
    (re)connect, so lines sent while its socket was closed are not lost, newest first, at most
    LIVE_REPLAY_LIMIT (more than the page's `shown` keys can hold), and `next_since`, where
    the page's next replay starts (`store_live_replay_next_since`). Every line here is
    a device alert's, which the socket forwards only to readers who may VIEW_DEVICES: so
    VIEW_DEVICES, not the socket's VIEW_STORE."""
    store = store_or_403(request.user, store_id, VIEW_DEVICES)
    try:
        since = parse_datetime(request.GET.get("since", ""))
    except ValueError:
        since = None
    if since is None or timezone.is_naive(since):
        # A JSON answer with its reason, not the HTML 400 page (which speaks of characters
        # the page cannot read): the caller is the page's script.
        return JsonResponse(
            {"detail": _("“since” must be an ISO 8601 time with its UTC offset.")}, status=400
        )
    now = timezone.now()  # before the query: what it reads was committed by then
    lines = selectors.store_live_lines_since(
        store=store, since=since, limit=selectors.LIVE_REPLAY_LIMIT
    )
    next_since = selectors.store_live_replay_next_since(since=since, now=now)
    return JsonResponse(
        {
            "lines": [{"key": line.key, "text": line.text} for line in lines],
            "next_since": next_since.isoformat(),
        }
    )


@login_required
@require_GET
def device_detail(request: HttpRequest, device_id: int) -> HttpResponse:
    device = selectors.device_for_user(user=request.user, device_id=device_id)
    if device is None:
        raise PermissionDenied
    chart = selectors.device_chart(device=device, range_key=request.GET.get("range", "24h"))
    return render(
        request,
        "devices/device_detail.html",
        {
            "device": device,
            "store": device.store,
            "chart": chart,
            "ranges": list(selectors.CHART_RANGES),
            "thresholds": selectors.device_thresholds(device=device),
            "alerts": selectors.device_recent_alerts(device=device),
            "may_act": may(request.user, ACT_ON_ALERTS, device.store_id),
        },
    )


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = selectors.alert_for_user(user=request.user, alert_id=alert_id, action=ACT_ON_ALERTS)
    if alert is None:
        raise PermissionDenied
    try:
        services.alert_acknowledge(alert=alert, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("devices:store", store_id=alert.store_id)


@login_required
@require_POST
def alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = selectors.alert_for_user(user=request.user, alert_id=alert_id, action=ACT_ON_ALERTS)
    if alert is None:
        raise PermissionDenied
    try:
        services.alert_resolve(
            alert=alert, by=request.user, note=checked_text(request.POST.get("note", "")).strip()
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("devices:store", store_id=alert.store_id)
