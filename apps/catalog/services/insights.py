"""Writes on insight cards that need none of the decision engine's numeric work: the owner's
one-click acceptance (`apps.catalog.services.lists` makes the cards). Kept apart so that
campaigns' services, which accept a card when they draft its campaign, do not load pandas,
scikit-learn and scipy with the lists' computation."""

from __future__ import annotations

from django.utils import timezone

from apps.catalog.models import InsightCard


def insight_card_accept(*, card: InsightCard, by: object) -> bool:
    """Record the owner's one-click acceptance. Returns False when it was already accepted
    (a double click or a retry changes nothing). The portal and the API accept through
    `apps.campaigns.services.campaigns.campaign_draft_from_insight`, which calls this inside
    the transaction that drafts the card's campaign, and so does the admin's action (through
    `apps.catalog.sources.insight_card_draft`)."""
    changed = InsightCard.objects.filter(pk=card.pk, accepted_at__isnull=True).update(
        accepted_at=timezone.now(), accepted_by=by
    )
    card.refresh_from_db(fields=["accepted_at", "accepted_by"])
    return changed == 1
