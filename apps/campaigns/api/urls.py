"""API routes for campaigns (mounted under /api/v1/). Each block belongs to one api module."""

from __future__ import annotations

from django.urls import path  # noqa: F401

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.campaigns.api import broadcasts as api_broadcasts
from apps.campaigns.api import campaigns as api_campaigns
from apps.campaigns.api import tracking as api_tracking

urlpatterns: list = [
    # -- campaigns and insight acceptance (api/campaigns.py) --
    path(
        "stores/<id:store_id>/decisions/insights/<id:card_id>/accept/",
        api_campaigns.InsightCardAcceptView.as_view(),
        name="api-decisions-insight-accept",
    ),
    # -- group buys and comments (api/broadcasts.py) --
    path(
        "group-buys/offers/<id:offer_id>",
        api_broadcasts.GroupBuyOfferView.as_view(),
        name="api-group-buy-offer",
    ),
    path(
        "group-buys/offers/<id:offer_id>/joins",
        api_broadcasts.GroupBuyJoinView.as_view(),
        name="api-group-buy-join",
    ),
    path(
        "broadcasts/<id:broadcast_id>/comments",
        api_broadcasts.BroadcastCommentView.as_view(),
        name="api-broadcast-comments",
    ),
    path(
        "broadcasts/<id:broadcast_id>/viewers",
        api_broadcasts.BroadcastViewersView.as_view(),
        name="api-broadcast-viewers",
    ),
    # -- tracking events (api/tracking.py) --
    path("campaigns/events", api_tracking.TrackingEventsView.as_view(), name="api-campaign-events"),
]
