from __future__ import annotations

from django.urls import path

from apps.stores.inspections import views

app_name = "inspections"

urlpatterns = [
    path("", views.index, name="index"),
    path("stores/<int:store_id>/", views.store_page, name="store"),
    path("stores/<int:store_id>/start/", views.start, name="start"),
    path("<int:inspection_id>/", views.detail, name="detail"),
    path("<int:inspection_id>/save/", views.save, name="save"),
    path("<int:inspection_id>/items/<int:result_id>/", views.result_save, name="result"),
    path("<int:inspection_id>/photos/", views.photo_add, name="photo_add"),
    path(
        "<int:inspection_id>/photos/<int:photo_id>/delete/",
        views.photo_delete,
        name="photo_delete",
    ),
    path("<int:inspection_id>/submit/", views.submit, name="submit"),
    path(
        "rectifications/<int:rectification_id>/done/",
        views.rectification_done,
        name="rectification_done",
    ),
    path("photos/<int:photo_id>/", views.photo, name="photo"),
]
