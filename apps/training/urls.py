from __future__ import annotations

from django.urls import path

import linli.converters  # noqa: F401  (registers the <id:...> URL converter)
from apps.training import views

app_name = "training"

urlpatterns = [
    path("knowledge/", views.knowledge, name="knowledge"),
    path("knowledge/<id:article_id>/", views.article, name="article"),
    path("stores/<id:store_id>/", views.store_training, name="store"),
    path("stores/<id:store_id>/paths/<id:path_id>/enrol/", views.enrol, name="enrol"),
    path("stores/<id:store_id>/courses/<id:course_id>/", views.course, name="course"),
    path("stores/<id:store_id>/courses/<id:course_id>/quiz/", views.quiz, name="quiz"),
    path(
        "stores/<id:store_id>/courses/<id:course_id>/quiz/attempts/<id:attempt_id>/",
        views.attempt,
        name="attempt",
    ),
    path("stores/<id:store_id>/lessons/<id:lesson_id>/", views.lesson, name="lesson"),
]
