"""Portal pages for the knowledge base and training (docs/knowledge-base.md, docs/training.md).

Knowledge pages: every store's staff and HQ with `training.view_article`
(apps/training/access.py). Training pages are store-scoped through apps/stores/access.py:
VIEW_TRAINING for the store's training page (owner, clerk; HQ with `training.view_enrolment`),
TRAIN for enrolling, lessons and quizzes (owner, clerk; not HQ). An unknown path, course, lesson
or article is a 404, like one the user may not open; so is a quiz attempt that is not the
user's own at this store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.stores.access import TRAIN, VIEW_TRAINING, may, store_or_403
from apps.training import selectors, services
from apps.training.access import may_read_knowledge
from apps.training.models import Question
from linli.params import is_ascii_number, text_param

QUERY_MAX = 100


@login_required
@require_GET
def knowledge(request: HttpRequest) -> HttpResponse:
    if not may_read_knowledge(request.user):
        raise PermissionDenied
    query = text_param(request.GET, "q", max_length=QUERY_MAX)
    return render(
        request,
        "training/knowledge.html",
        {
            "query": query,
            "hits": selectors.knowledge_search(query=query) if query else [],
            "recent": [] if query else selectors.articles_recent(),
        },
    )


@login_required
@require_GET
def article(request: HttpRequest, article_id: int) -> HttpResponse:
    if not may_read_knowledge(request.user):
        raise PermissionDenied
    found = selectors.article_published(article_id=article_id)
    if found is None:
        raise Http404
    return render(request, "training/article.html", {"article": found})


@login_required
@require_GET
def store_training(request: HttpRequest, store_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, VIEW_TRAINING)
    may_train = may(request.user, TRAIN, store.pk)
    recommendations = selectors.store_recommendations(store=store)
    paths = selectors.paths_progress(user=request.user, store=store)
    return render(
        request,
        "training/store.html",
        {
            "store": store,
            "may_train": may_train,
            "recommendations": recommendations,
            "enrolled_path_ids": {item.path.pk for item in paths if item.enrolment is not None},
            "paths": paths,
            "staff_enrolments": selectors.store_staff_enrolments(store=store),
            "may_read_knowledge": may_read_knowledge(request.user),
        },
    )


@login_required
@require_POST
def enrol(request: HttpRequest, store_id: int, path_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, TRAIN)
    path = selectors.path_active(path_id=path_id)
    if path is None:
        raise Http404
    # The reason is recomputed here, never taken from the form.
    reason = next(
        (
            item.reason
            for item in selectors.store_recommendations(store=store)
            if item.path is not None and item.path.pk == path.pk
        ),
        "",
    )
    try:
        services.enrolment_create(user=request.user, store=store, path=path, reason=reason)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("You are enrolled on “%(path)s”.") % {"path": path.name})
    return redirect("training:store", store_id=store.pk)


@login_required
@require_GET
def course(request: HttpRequest, store_id: int, course_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, TRAIN)
    found = selectors.course_detail(course_id=course_id)
    if found is None:
        raise Http404
    progress = selectors.courses_progress(user=request.user, courses=[found])[found.pk]
    return render(
        request,
        "training/course.html",
        {
            "store": store,
            "course": found,
            "progress": progress,
            "lessons": selectors.course_lessons(course=found, user=request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def lesson(request: HttpRequest, store_id: int, lesson_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, TRAIN)
    found = selectors.lesson_detail(lesson_id=lesson_id)
    if found is None:
        raise Http404
    if request.method == "POST":
        services.lesson_complete(user=request.user, lesson=found)
        following = selectors.lesson_next(lesson=found)
        if following is not None:
            return redirect("training:lesson", store_id=store.pk, lesson_id=following.pk)
        return redirect("training:course", store_id=store.pk, course_id=found.course_id)
    return render(
        request,
        "training/lesson.html",
        {
            "store": store,
            "lesson": found,
            "course": found.course,
            "done": selectors.lesson_done(user=request.user, lesson=found),
        },
    )


@dataclass(frozen=True)
class QuizItem:
    """A question on the quiz form, with the answer the learner already picked (kept when a
    submission is refused) and whether it is still to be answered."""

    number: int
    question: Question
    chosen_id: int | None
    missing: bool


def _quiz_items(questions: list[Question], raw: Mapping[str, str] | None) -> list[QuizItem]:
    items = []
    for number, question in enumerate(questions, start=1):
        value = (raw.get(f"q{question.pk}") or "").strip() if raw is not None else ""
        items.append(
            QuizItem(
                number=number,
                question=question,
                chosen_id=int(value) if is_ascii_number(value) else None,
                missing=raw is not None and not value,
            )
        )
    return items


@login_required
@require_http_methods(["GET", "POST"])
def quiz(request: HttpRequest, store_id: int, course_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, TRAIN)
    found = selectors.course_detail(course_id=course_id)
    if found is None:
        raise Http404
    quiz_found = selectors.course_quiz(course=found)
    if not quiz_found.questions:
        raise Http404
    submitted = None
    status = 200
    if request.method == "POST":
        # A quiz in preparation is refused by the service (nothing recorded); its page shows
        # the notice and no form.
        try:
            attempt = services.quiz_submit(
                user=request.user, store=store, course=found, raw_answers=request.POST
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            submitted = request.POST
            status = 400
        else:
            # Post/redirect/get: reloading the result page does not record a second attempt.
            return redirect(
                "training:attempt", store_id=store.pk, course_id=found.pk, attempt_id=attempt.pk
            )
    return render(
        request,
        "training/quiz.html",
        {
            "store": store,
            "course": found,
            "quiz_ready": quiz_found.ready,
            "items": _quiz_items(quiz_found.questions, submitted) if quiz_found.ready else [],
            "attempts": selectors.quiz_attempts(user=request.user, course=found, store=store),
        },
        status=status,
    )


@login_required
@require_GET
def attempt(request: HttpRequest, store_id: int, course_id: int, attempt_id: int) -> HttpResponse:
    store = store_or_403(request.user, store_id, TRAIN)
    found = selectors.quiz_attempt_own(user=request.user, store=store, attempt_id=attempt_id)
    if found is None or found.course_id != course_id:
        raise Http404
    return render(
        request,
        "training/attempt.html",
        {
            "store": store,
            "course": found.course,
            "attempt": found,
            "review": selectors.quiz_attempt_review(attempt=found),
        },
    )
