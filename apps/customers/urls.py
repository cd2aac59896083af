from __future__ import annotations

from django.urls import path

from apps.customers import views

app_name = "members"

urlpatterns = [
    path("stores/<int:store_id>/", views.member_list, name="list"),
    path("stores/<int:store_id>/<str:member_no>/", views.member_detail, name="detail"),
]
