"""Store-side supply pages (mounted at /portal/supply/): receiving deliveries, handing over
pickup orders, loss, after-sales cases and the region's delivery plans. Each block below
belongs to one views module."""

from __future__ import annotations

from django.urls import path  # noqa: F401

app_name = "supply"

urlpatterns: list = [
    # -- receiving and delivery plans (views/receiving.py) --
    # -- pickup codes and delivery status (views/pickup.py) --
    # -- loss (views/loss.py) --
    # -- after-sales cases (views/aftersales.py) --
]
