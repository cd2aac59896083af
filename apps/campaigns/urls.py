"""Portal routes for campaigns, broadcasts, group buys, the live dashboard and reviews
(mounted at /portal/campaigns/). Each block below belongs to one views module."""

from __future__ import annotations

from django.urls import path  # noqa: F401

app_name = "campaigns"

urlpatterns: list = [
    # -- campaigns and packs (views/campaigns.py) --
    # -- broadcasts and group buys (views/broadcasts.py) --
    # -- live dashboard (views/live.py) --
    # -- tracking and review (views/reviews.py) --
]
