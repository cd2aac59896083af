"""Store portal pages (owners, clerks, inspectors). Every view scopes through apps.stores.access."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from apps.procurement.access import suppliers_for
from apps.stores import selectors
from apps.stores.access import store_for_user_or_403, user_is_hq


class PortalLoginView(auth_views.LoginView):
    template_name = "portal/login.html"
    redirect_authenticated_user = True


class PortalLogoutView(auth_views.LogoutView):
    pass


@login_required
def home(request: HttpRequest) -> HttpResponse:
    stores = list(selectors.stores_visible(user=request.user)[:200])
    if not stores and suppliers_for(request.user).exists():
        return redirect("supplier:home")
    if len(stores) == 1 and not user_is_hq(request.user):
        return redirect("portal:store", store_id=stores[0].pk)
    return render(
        request,
        "portal/home.html",
        {"stores": stores, "is_hq": user_is_hq(request.user)},
    )


@login_required
def store_detail(request: HttpRequest, store_id: int) -> HttpResponse:
    store = store_for_user_or_403(request.user, store_id)
    return render(
        request,
        "portal/store_detail.html",
        {
            "store": store,
            "kpis": selectors.store_recent_kpis(store=store),
            "orders": selectors.store_recent_orders(store=store, limit=10),
            "low_stock": selectors.store_low_stock(store=store),
        },
    )
