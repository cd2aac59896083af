"""Store portal pages (owners, clerks, inspectors). Every view scopes through apps.stores.access."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from apps.campaigns.notifications.selectors import (
    notifications_for_user,
    notifications_unread_count,
)
from apps.devices.selectors import alerts_open_for_user
from apps.procurement.access import VIEW_SUPPLIER, suppliers_for
from apps.stores import selectors
from apps.stores.access import (
    MEMBER_DATA,
    VIEW_STOCK,
    VIEW_STORE,
    actions_at,
    hq_may,
    store_or_403,
    user_is_hq,
)
from linli.realtime import session_ended_broadcast


class PortalLoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    redirect_authenticated_user = True


class PortalLogoutView(auth_views.LogoutView):
    """Logging out also closes this session's websockets: they are told through the user's
    sessions group, find their session gone and close with 4403 (linli.realtime)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user_id = request.user.pk if request.user.is_authenticated else None
        response = super().post(request, *args, **kwargs)
        if user_id is not None:
            session_ended_broadcast(user_id=user_id)
        return response


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The landing page: the user's stores, and first what needs attention now: open device
    alerts at the stores where they may VIEW_DEVICES (newest 20) and their unread portal
    notifications (newest 20 of their latest). A user of one store goes straight to its page
    when nothing needs attention. Queries do not grow with stores, alerts or notifications."""
    stores = list(selectors.stores_visible(user=request.user)[:200])
    if not stores and suppliers_for(request.user, VIEW_SUPPLIER).exists():
        return redirect("supplier:home")
    open_alerts = alerts_open_for_user(user=request.user)
    unread_count = notifications_unread_count(user=request.user)
    unread = []
    if unread_count:
        latest = notifications_for_user(user=request.user, limit=20)
        unread = [notification for notification in latest if notification.read_at is None]
    is_hq = user_is_hq(request.user)
    if len(stores) == 1 and not is_hq and not open_alerts and not unread:
        return redirect("portal:store", store_id=stores[0].pk)
    return render(
        request,
        "portal/home.html",
        {
            "stores": stores,
            "is_hq": hq_may(request.user, VIEW_STORE),
            "open_alerts": open_alerts,
            "unread_notifications": unread,
            "unread_count": unread_count,
        },
    )


@login_required
@require_GET
def store_detail(request: HttpRequest, store_id: int) -> HttpResponse:
    """The store's page. Each section and link shows only when the user may take its action
    (`allowed`): member names for MEMBER_DATA, low stock for VIEW_STOCK, and so on."""
    store = store_or_403(request.user, store_id, VIEW_STORE)
    allowed = actions_at(request.user, store.pk)
    return render(
        request,
        "portal/store_detail.html",
        {
            "store": store,
            "allowed": allowed,
            "kpis": selectors.store_recent_kpis(store=store),
            "orders": selectors.store_recent_orders(
                store=store, limit=10, with_members=MEMBER_DATA.name in allowed
            ),
            "low_stock": (
                selectors.store_low_stock(store=store) if VIEW_STOCK.name in allowed else None
            ),
        },
    )
