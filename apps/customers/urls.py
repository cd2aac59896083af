from __future__ import annotations

from django.urls import path

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.customers import views

app_name = "members"

urlpatterns = [
    path("stores/<id:store_id>/", views.member_list, name="list"),
    path("stores/<id:store_id>/<str:member_no>/", views.member_detail, name="detail"),
]
