"""Writes for the knowledge base (search tokens) and training (enrolment, lessons, quizzes).

Progress is per user: a lesson read or a quiz passed counts on every path that contains the
course. An enrolment is complete when every active course of its path is; completing is
recorded by the service that made the last course complete (no signals).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.stores.models import Store
from apps.training import selectors
from apps.training.analytics import quiz, search
from apps.training.models import (
    Article,
    Course,
    Enrolment,
    Lesson,
    LessonCompletion,
    Question,
    QuizAttempt,
    TrainingPath,
)
from linli.params import is_ascii_number

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def article_index(*, article: Article) -> None:
    """Store the article's jieba tokens (title; summary, body and selling points) for search."""
    body = "\n".join((article.summary, article.body, article.selling_points))
    article.title_tokens = " ".join(search.tokenize(article.title))
    article.body_tokens = " ".join(search.tokenize(body))
    Article.objects.filter(pk=article.pk).update(
        title_tokens=article.title_tokens, body_tokens=article.body_tokens
    )


def articles_reindex() -> int:
    """Re-cut every article (after the tokenizer's vocabulary changed). Idempotent."""
    count = 0
    for article in Article.objects.all().iterator():
        article_index(article=article)
        count += 1
    return count


@transaction.atomic
def enrolment_create(
    *, user: AbstractBaseUser, store: Store, path: TrainingPath, reason: str = ""
) -> Enrolment:
    """Enrol `user` on `path` for `store` (the caller checked TRAIN at the store). Idempotent:
    enrolling twice returns the first enrolment. Records the path's KPI as it stands now."""
    if not path.is_active:
        raise ValidationError(_("This training path is not offered any more."))
    existing = Enrolment.objects.filter(user=user, store=store, path=path).first()
    if existing is not None:
        return existing
    value = None
    if path.metric_code:
        figure = selectors.store_kpi_figures(store=store).get(path.metric_code)
        value = figure.value if figure is not None else None
    enrolment, _created = Enrolment.objects.get_or_create(
        user=user,
        store=store,
        path=path,
        defaults={
            "reason": reason[:240],
            "metric_code": path.metric_code,
            "metric_at_enrolment": value,
        },
    )
    _enrolments_complete(user=user)
    return enrolment


def _enrolments_complete(*, user: AbstractBaseUser) -> int:
    """Mark complete every open enrolment of `user` whose path's courses are all complete."""
    open_enrolments = list(
        Enrolment.objects.filter(user=user, completed_at__isnull=True).select_related("path")
    )
    if not open_enrolments:
        return 0
    paths = {enrolment.path_id: enrolment.path for enrolment in open_enrolments}
    progress = {
        item.path.pk: item
        for item in selectors.paths_progress(user=user, store=None, paths=paths.values())
    }
    done_ids = [
        enrolment.pk for enrolment in open_enrolments if progress[enrolment.path_id].complete
    ]
    if not done_ids:
        return 0
    return Enrolment.objects.filter(pk__in=done_ids, completed_at__isnull=True).update(
        completed_at=timezone.now()
    )


@transaction.atomic
def lesson_complete(*, user: AbstractBaseUser, lesson: Lesson) -> bool:
    """Record that `user` read `lesson`. Idempotent; True the first time."""
    _completion, created = LessonCompletion.objects.get_or_create(user=user, lesson=lesson)
    if created:
        _enrolments_complete(user=user)
    return created


def _question_numbers_display(numbers: list[int]) -> str:
    """ "第 2 题、第 3 题" ("question 2, question 3" in English)."""
    return pgettext("list separator", ", ").join(
        _("question %(number)d") % {"number": number} for number in numbers
    )


def _parse_answers(questions: list[Question], raw: Mapping[str, str]) -> dict[int, int | None]:
    """{question id: choice id} from form fields `q<question id>` = choice id, in the quiz's
    order. A choice that is not one of its question's choices is an error (nothing is
    recorded)."""
    answers: dict[int, int | None] = {}
    for question in questions:
        value = (raw.get(f"q{question.pk}") or "").strip()
        if not value:
            answers[question.pk] = None
            continue
        own = {choice.pk for choice in question.choices.all()}
        if not is_ascii_number(value) or int(value) not in own:
            raise ValidationError(
                _("An answer does not belong to its question."), code="foreign_choice"
            )
        answers[question.pk] = int(value)
    return answers


@transaction.atomic
def quiz_submit(
    *, user: AbstractBaseUser, store: Store, course: Course, raw_answers: Mapping[str, str]
) -> QuizAttempt:
    """Score one attempt at the course's quiz and record it. Refused (ValidationError, nothing
    recorded): a course without questions (code "no_quiz"); a quiz still in preparation, some
    question without a right answer yet (code "quiz_in_preparation": it is graded on every
    question or not at all); a submission with any question unanswered (code "unanswered",
    naming the unanswered questions by their 1-based number in quiz order); an answer naming
    another question's choice (code "foreign_choice")."""
    found = selectors.course_quiz(course=course)
    if not found.questions:
        raise ValidationError(_("This course has no quiz."), code="no_quiz")
    if not found.ready:
        raise ValidationError(
            _("This quiz is still in preparation: it can be taken once it is ready."),
            code="quiz_in_preparation",
        )
    answers = _parse_answers(found.questions, raw_answers)
    unanswered = [
        number for number, choice_id in enumerate(answers.values(), start=1) if choice_id is None
    ]
    if unanswered:
        raise ValidationError(
            _("Please answer every question before submitting. Not answered yet: %(numbers)s."),
            code="unanswered",
            params={"numbers": _question_numbers_display(unanswered)},
        )
    result = quiz.quiz_score(
        correct_choices={
            question.pk: frozenset(
                choice.pk for choice in question.choices.all() if choice.is_correct
            )
            for question in found.questions
        },
        answers=answers,
        pass_mark=course.pass_mark,
    )
    attempt = QuizAttempt.objects.create(
        user=user,
        course=course,
        store=store,
        correct=result.correct,
        total=result.total,
        score=result.score,
        passed=result.passed,
        answers={str(key): value for key, value in answers.items()},
    )
    if result.passed:
        _enrolments_complete(user=user)
    return attempt
