from __future__ import annotations

from django.urls import path

from apps.training import views

app_name = "training"

urlpatterns = [
    path("knowledge/", views.knowledge, name="knowledge"),
    path("knowledge/<int:article_id>/", views.article, name="article"),
    path("stores/<int:store_id>/", views.store_training, name="store"),
    path("stores/<int:store_id>/paths/<int:path_id>/enrol/", views.enrol, name="enrol"),
    path("stores/<int:store_id>/courses/<int:course_id>/", views.course, name="course"),
    path("stores/<int:store_id>/courses/<int:course_id>/quiz/", views.quiz, name="quiz"),
    path(
        "stores/<int:store_id>/courses/<int:course_id>/quiz/attempts/<int:attempt_id>/",
        views.attempt,
        name="attempt",
    ),
    path("stores/<int:store_id>/lessons/<int:lesson_id>/", views.lesson, name="lesson"),
]
