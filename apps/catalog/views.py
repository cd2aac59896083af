"""Decision pages of the store portal: today's hot and new lists, insight cards with their
one-click acceptance, and the store's co-purchase rules. Every view scopes through
apps.stores.access."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.catalog import selectors
from apps.catalog.models import InsightCard, ListKind
from apps.catalog.services.lists import insight_card_accept
from apps.stores.access import ACCEPT_INSIGHT, VIEW_DECISIONS, may, store_or_403


@login_required
@require_GET
def store_decisions(request: HttpRequest, store_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, VIEW_DECISIONS)
    day, lists = selectors.store_lists_latest(store=store)
    scope, rules = selectors.store_rules(store=store, limit=20)
    return render(
        request,
        "decisions/store.html",
        {
            "store": store,
            "day": day,
            "hot": lists[ListKind.HOT],
            "new": lists[ListKind.NEW],
            "cards": selectors.store_insight_cards(store=store, day=day) if day else [],
            "rules": rules,
            "rules_scope": scope,
            "can_accept": may(request.user, ACCEPT_INSIGHT, store.pk),
        },
    )


@login_required
@require_POST
def insight_accept(request: HttpRequest, store_id: int, card_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, ACCEPT_INSIGHT)
    card = get_object_or_404(InsightCard.objects.select_related("product"), pk=card_id, store=store)
    if insight_card_accept(card=card, by=request.user):
        messages.success(
            request,
            _("Accepted: stock %(quantity)d of %(product)s and broadcast at %(hour)02d:00.")
            % {
                "quantity": card.stock_qty,
                "product": card.product.name,
                "hour": card.broadcast_hour,
            },
        )
    else:
        messages.info(request, _("This suggestion was already accepted."))
    return redirect("decisions:store", store_id=store.pk)
