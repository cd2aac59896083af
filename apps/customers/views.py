"""Owner portal: a store's members. MEMBER_DATA only (apps.stores.access: the store's owners, HQ
with `customers.view_member`), phones always masked."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.catalog.selectors import member_offer_lines
from apps.customers.selectors.members import store_member_page, store_members
from apps.customers.selectors.nps import nps_for_region, nps_for_store
from apps.stores.access import MEMBER_DATA, store_or_403
from linli.params import Paginator, checked_text, text_param

MEMBERS_PER_PAGE = 25
QUERY_MAX_LENGTH = 60
OFFERS_PER_MEMBER = 5
NPS_WINDOW = dt.timedelta(days=90)


@login_required
@require_GET
def member_list(request: HttpRequest, store_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, MEMBER_DATA)
    query = text_param(request.GET, "q", max_length=QUERY_MAX_LENGTH)
    page = Paginator(store_members(store=store, query=query), MEMBERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    since = timezone.now() - NPS_WINDOW
    return render(
        request,
        "members/member_list.html",
        {
            "store": store,
            "query": query,
            "page": page,
            "store_nps": nps_for_store(store=store, since=since),
            "region_nps": nps_for_region(region=store.region, since=since),
            "nps_days": NPS_WINDOW.days,
        },
    )


@login_required
@require_GET
def member_detail(request: HttpRequest, store_id: int, member_no: str) -> HttpResponse:
    store = store_or_403(request.user, store_id, MEMBER_DATA)
    page = store_member_page(store=store, member_no=checked_text(member_no))
    if page is None:
        raise Http404
    page.buy_again, page.also_like = member_offer_lines(
        member_id=page.member.pk, store=store, limit=OFFERS_PER_MEMBER
    )
    page.offers = page.buy_again + page.also_like
    return render(request, "members/member_detail.html", {"store": store, "page": page})
