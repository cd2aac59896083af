from __future__ import annotations

from django.urls import path

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.procurement.views import suppliers as views

app_name = "supplier"

urlpatterns = [
    path("", views.home, name="home"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("orders/", views.orders, name="orders"),
    path("orders/<id:po_id>/", views.order, name="order"),
    path("orders/<id:po_id>/confirm/", views.order_confirm, name="order_confirm"),
    path("orders/<id:po_id>/ship/", views.order_ship, name="order_ship"),
    path("orders/<id:po_id>/shortage/", views.order_shortage, name="order_shortage"),
    path(
        "receipt-lines/<id:receipt_line_id>/dispute/",
        views.receipt_dispute,
        name="receipt_dispute",
    ),
    path("orders/<id:po_id>/order.csv", views.order_csv, name="order_csv"),
    path("orders/<id:po_id>/order.xlsx", views.order_xlsx, name="order_xlsx"),
    path("orders/<id:po_id>/order.pdf", views.order_pdf, name="order_pdf"),
    path("orders/<id:po_id>/pick-lists.csv", views.pick_lists_csv, name="pick_lists_csv"),
    path("orders/<id:po_id>/pick-lists.pdf", views.pick_lists_pdf, name="pick_lists_pdf"),
]
