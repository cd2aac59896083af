"""Store-side supply pages (mounted at /portal/supply/): receiving deliveries, handing over
pickup orders, loss, after-sales cases and the region's delivery plans. Each block below
belongs to one views module."""

from __future__ import annotations

from django.urls import path  # noqa: F401

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.procurement.views import aftersales as aftersales_views
from apps.procurement.views import loss as loss_views
from apps.procurement.views import pickup as pickup_views
from apps.procurement.views import receiving as receiving_views

app_name = "supply"

urlpatterns: list = [
    # -- receiving and delivery plans (views/receiving.py) --
    path("stores/<id:store_id>/receiving/", receiving_views.receiving, name="receiving"),
    path(
        "stores/<id:store_id>/receiving/<id:po_id>/",
        receiving_views.receive,
        name="receive",
    ),
    path(
        "stores/<id:store_id>/delivery/<str:day>/",
        receiving_views.delivery_plan,
        name="delivery_plan",
    ),
    # -- pickup codes and delivery status (views/pickup.py) --
    path("stores/<id:store_id>/pickup/", pickup_views.pickup, name="pickup"),
    path(
        "stores/<id:store_id>/pickup/<id:order_id>/ready/",
        pickup_views.pickup_ready,
        name="pickup_ready",
    ),
    path(
        "stores/<id:store_id>/pickup/<id:order_id>/delivery/",
        pickup_views.delivery_status,
        name="delivery_status",
    ),
    path(
        "stores/<id:store_id>/pickup/<id:order_id>/hand-over/",
        pickup_views.guest_hand_over,
        name="pickup_guest_hand_over",
    ),
    path(
        "stores/<id:store_id>/pickup/<id:order_id>/cancel/",
        pickup_views.pickup_cancel,
        name="pickup_cancel",
    ),
    # -- loss (views/loss.py) --
    path("stores/<id:store_id>/loss/", loss_views.loss, name="loss"),
    path("stores/<id:store_id>/loss/batch/", loss_views.loss_batch, name="loss_batch"),
    # -- after-sales cases (views/aftersales.py) --
    path("stores/<id:store_id>/after-sales/", aftersales_views.cases, name="cases"),
    path("stores/<id:store_id>/after-sales/new/", aftersales_views.case_new, name="case_new"),
    path(
        "stores/<id:store_id>/after-sales/<id:case_id>/",
        aftersales_views.case_detail,
        name="case",
    ),
    path(
        "stores/<id:store_id>/after-sales/<id:case_id>/photos/<id:photo_id>/",
        aftersales_views.case_photo,
        name="case_photo",
    ),
]
