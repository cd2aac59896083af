from __future__ import annotations

from django.urls import path

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.stores.inspections import views

app_name = "inspections"

urlpatterns = [
    path("", views.index, name="index"),
    path("stores/<id:store_id>/", views.store_page, name="store"),
    path("stores/<id:store_id>/start/", views.start, name="start"),
    path("<id:inspection_id>/", views.detail, name="detail"),
    path("<id:inspection_id>/save/", views.save, name="save"),
    path(
        "rectifications/<id:rectification_id>/done/",
        views.rectification_done,
        name="rectification_done",
    ),
    path("photos/<id:photo_id>/", views.photo, name="photo"),
]
