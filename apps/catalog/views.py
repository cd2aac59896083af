"""Decision pages of the store portal: today's hot and new lists, insight cards, and the store's
co-purchase rules. Every view scopes through apps.stores.access. Accepting a card (one click)
drafts a campaign, so its view lives in apps/campaigns/views/campaigns.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.catalog import selectors
from apps.catalog.models import ListKind
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
            # A store not open for trade runs no campaign: its cards are shown, not accepted.
            "can_accept": store.is_trading and may(request.user, ACCEPT_INSIGHT, store.pk),
            "state": selectors.store_decisions_state(store=store, list_day=day),
        },
    )
