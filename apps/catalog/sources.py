"""The decision engine's composition root: the one module of `apps.catalog` that may import
`apps.campaigns` and `apps.procurement` (the import contract allows it, and only it).

It sits at the interface level: the nightly task and the `decisions_run` / `forecast_backtest`
commands call `planning_sources()` and pass the result down as the services' `sources`
argument; HQ's admin action "Accept the selected insight cards" calls `insight_card_draft()`,
the campaigns' acceptance (the one the portal and the API use). No service imports this module.
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils.translation import gettext as _

from apps.campaigns.selectors.campaigns import campaign_for_insight_card
from apps.campaigns.selectors.promotions import promotion_grid, promotion_plan, promotion_spans
from apps.campaigns.services.campaigns import (
    InsightOverlapError,
    InsightStoreClosedError,
    campaign_draft_from_insight,
)
from apps.catalog.models import InsightCard
from apps.catalog.services.sources import PlanningSources
from apps.procurement.selectors.purchase_orders import on_order_quantities
from apps.procurement.selectors.suppliers import supplier_terms


def planning_sources() -> PlanningSources:
    """The real readers: HQ's planned promotions and broadcasts (with their kind and discount),
    the preferred active
    supplier's lead time, pack size and minimum order, and the open purchase orders' per-store
    allocations (on order)."""
    return PlanningSources(
        promotion_grid=promotion_grid,
        supplier_terms=supplier_terms,
        on_order=on_order_quantities,
        promotion_plan=promotion_plan,
        promotion_spans=promotion_spans,
    )


class InsightNotDrafted(Exception):
    """An insight card the admin's acceptance drafted no campaign for: refused by the template's
    overlap rule or because its store is not open for trade (nothing written), or accepted
    with its campaign drafted earlier. `message` says which (naming the campaign or the
    store)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


def insight_card_draft(*, card: InsightCard, by: AbstractBaseUser | None) -> None:
    """Accept the card and draft its campaign, as the owner's accept in the portal does
    (`campaign_draft_from_insight`: one transaction, under the template's row lock).

    Raises InsightNotDrafted when the store already takes part in an overlapping campaign of
    the card's template (the overlap message, naming it; the card stays open), when the store
    is not open for trade (the card stays open), or when the card's campaign was drafted
    earlier (nothing changes) — also by an acceptance running at the same time, which the
    look-up below cannot see yet: the draft's own answer (`drafted`, decided under the card's
    lock) says so, so two HQ users accepting one card count one drafted campaign."""
    earlier = campaign_for_insight_card(card_id=card.pk)
    if earlier is not None:
        raise _drafted_earlier(earlier.name)
    try:
        draft = campaign_draft_from_insight(card=card, by=by)
    except (InsightOverlapError, InsightStoreClosedError) as refusal:
        raise InsightNotDrafted(" ".join(refusal.messages)) from refusal
    if not draft.drafted:
        raise _drafted_earlier(draft.store_campaign.campaign.name)


def _drafted_earlier(name: str) -> InsightNotDrafted:
    return InsightNotDrafted(
        _("Already accepted: its campaign “%(name)s” was drafted earlier.") % {"name": name}
    )
