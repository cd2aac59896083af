"""Portal pages for store devices. Every view scopes through apps.stores.access (via selectors):
owners and clerks see and act on their store's alerts, inspectors see them, HQ sees all."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.campaigns.notifications.selectors import (
    notifications_for_user,
    notifications_unread_count,
)
from apps.devices import selectors, services
from apps.stores.access import store_for_user_or_403, stores_for, user_is_hq
from apps.stores.models import StoreStaff

# Who may acknowledge and resolve alerts in the portal (inspectors only look).
ALERT_ROLES = (StoreStaff.Role.OWNER, StoreStaff.Role.CLERK)


def _may_act(request: HttpRequest, store_id: int) -> bool:
    return user_is_hq(request.user) or (
        stores_for(request.user, roles=ALERT_ROLES).filter(pk=store_id).exists()
    )


@login_required
def store_devices(request: HttpRequest, store_id: int) -> HttpResponse:
    store = store_for_user_or_403(request.user, store_id)
    return render(
        request,
        "devices/store_devices.html",
        {
            "store": store,
            "devices": selectors.store_devices_overview(store=store),
            "alerts": selectors.store_active_alerts(store=store),
            "notifications": notifications_for_user(user=request.user, store=store),
            "unread_count": notifications_unread_count(user=request.user, store=store),
            "may_act": _may_act(request, store.pk),
        },
    )


@login_required
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
            "may_act": _may_act(request, device.store_id),
        },
    )


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = selectors.alert_for_user(user=request.user, alert_id=alert_id, roles=ALERT_ROLES)
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
    alert = selectors.alert_for_user(user=request.user, alert_id=alert_id, roles=ALERT_ROLES)
    if alert is None:
        raise PermissionDenied
    try:
        services.alert_resolve(
            alert=alert, by=request.user, note=request.POST.get("note", "").strip()
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("devices:store", store_id=alert.store_id)
