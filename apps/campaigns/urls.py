"""Portal routes for campaigns, broadcasts, group buys, the live dashboard and reviews
(mounted at /portal/campaigns/). Each block below belongs to one views module."""

from __future__ import annotations

from django.urls import path  # noqa: F401

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.campaigns.views import broadcasts as broadcast_views
from apps.campaigns.views import campaigns as campaign_views
from apps.campaigns.views import live as live_views
from apps.campaigns.views import reviews as review_views

app_name = "campaigns"

urlpatterns: list = [
    # -- campaigns and packs (views/campaigns.py) --
    path("stores/<id:store_id>/", campaign_views.store_campaigns, name="store"),
    path(
        "stores/<id:store_id>/<id:store_campaign_id>/",
        campaign_views.campaign_detail,
        name="detail",
    ),
    path(
        "stores/<id:store_id>/<id:store_campaign_id>/confirm/",
        campaign_views.campaign_confirm,
        name="confirm",
    ),
    path(
        "stores/<id:store_id>/<id:store_campaign_id>/decline/",
        campaign_views.campaign_decline,
        name="decline",
    ),
    path(
        "stores/<id:store_id>/<id:store_campaign_id>/pack/",
        campaign_views.campaign_pack_make,
        name="pack",
    ),
    path(
        "stores/<id:store_id>/<id:store_campaign_id>/preview/",
        campaign_views.campaign_preview,
        name="preview",
    ),
    path(
        "stores/<id:store_id>/<id:store_campaign_id>/poster.png",
        campaign_views.poster_png,
        name="poster-png",
    ),
    path(
        "stores/<id:store_id>/<id:store_campaign_id>/poster.pdf",
        campaign_views.poster_pdf,
        name="poster-pdf",
    ),
    path(
        "stores/<id:store_id>/<id:store_campaign_id>/targets.csv",
        campaign_views.targets_csv,
        name="targets-csv",
    ),
    path(
        "stores/<id:store_id>/insights/<id:card_id>/accept/",
        campaign_views.insight_accept,
        name="insight-accept",
    ),
    # -- broadcasts and group buys (views/broadcasts.py) --
    path(
        "stores/<id:store_id>/broadcasts/",
        broadcast_views.store_broadcasts,
        name="broadcast-list",
    ),
    path("broadcasts/<id:broadcast_id>/", broadcast_views.broadcast_detail, name="broadcast"),
    path(
        "broadcasts/<id:broadcast_id>/start",
        broadcast_views.broadcast_start_view,
        name="broadcast-start",
    ),
    path(
        "broadcasts/<id:broadcast_id>/end",
        broadcast_views.broadcast_end_view,
        name="broadcast-end",
    ),
    path(
        "broadcasts/<id:broadcast_id>/offers",
        broadcast_views.broadcast_offer_create,
        name="broadcast-offer-create",
    ),
    path(
        "broadcasts/<id:broadcast_id>/offers/<id:offer_id>/withdraw",
        broadcast_views.broadcast_offer_withdraw,
        name="broadcast-offer-withdraw",
    ),
    path(
        "broadcasts/<id:broadcast_id>/jielong",
        broadcast_views.broadcast_jielong,
        name="broadcast-jielong",
    ),
    # -- live dashboard (views/live.py) --
    path("broadcasts/live/", live_views.live_overview, name="live-overview"),
    path("broadcasts/<id:broadcast_id>/live/", live_views.broadcast_live, name="live"),
    # -- tracking and review (views/reviews.py) --
    path("reviews/<id:store_campaign_id>/", review_views.store_review, name="review"),
    path(
        "reviews/<id:store_campaign_id>/xlsx",
        review_views.store_review_xlsx,
        name="review-xlsx",
    ),
    path(
        "reviews/<id:store_campaign_id>/pdf",
        review_views.store_review_pdf,
        name="review-pdf",
    ),
    path(
        "campaign-reviews/<id:campaign_id>/",
        review_views.campaign_review_page,
        name="campaign-review",
    ),
    path(
        "campaign-reviews/<id:campaign_id>/xlsx",
        review_views.campaign_review_xlsx_download,
        name="campaign-review-xlsx",
    ),
    path(
        "campaign-reviews/<id:campaign_id>/pdf",
        review_views.campaign_review_pdf_download,
        name="campaign-review-pdf",
    ),
]
