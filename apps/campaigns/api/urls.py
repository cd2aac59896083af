"""API routes for campaigns (mounted under /api/v1/). Each block belongs to one api module."""

from __future__ import annotations

from django.urls import path  # noqa: F401

urlpatterns: list = [
    # -- group buys and comments (api/broadcasts.py) --
    # -- tracking events (api/tracking.py) --
]
