"""Quiz scoring and pass mark, lessons read, enrolment and its completion (per user)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from apps.training import selectors, services
from apps.training.analytics.quiz import quiz_score
from apps.training.models import Enrolment, LessonCompletion, QuizAttempt
from tests.factories import StoreFactory, UserFactory
from tests.training.factories import (
    ChoiceFactory,
    PathCourseFactory,
    QuestionFactory,
    TrainingPathFactory,
    course_with_quiz,
    kpi_month,
)


def test_score_rounds_half_up_and_meets_the_pass_mark_inclusively() -> None:
    right = {1: frozenset({10}), 2: frozenset({20}), 3: frozenset({30})}
    result = quiz_score(correct_choices=right, answers={1: 10, 2: 20, 3: 31}, pass_mark=67)
    assert (result.correct, result.total, result.score, result.passed) == (2, 3, 67, True)
    assert not quiz_score(correct_choices=right, answers={1: 10, 2: 20}, pass_mark=80).passed


def test_unanswered_and_unknown_questions_count_as_wrong() -> None:
    right = {1: frozenset({10}), 2: frozenset({20})}
    result = quiz_score(correct_choices=right, answers={1: None, 99: 10}, pass_mark=0)
    assert (result.correct, result.score, result.passed) == (0, 0, True)


def test_a_quiz_without_questions_cannot_be_scored() -> None:
    with pytest.raises(ValueError, match="at least one question"):
        quiz_score(correct_choices={}, answers={}, pass_mark=50)


@pytest.fixture
def setup(db: None) -> dict:
    course, lessons, questions = course_with_quiz(lessons=2, questions=2, pass_mark=100)
    path = TrainingPathFactory(metric_code="live_conversion")
    PathCourseFactory(path=path, course=course, position=0)
    return {
        "course": course,
        "lessons": lessons,
        "questions": questions,
        "path": path,
        "store": StoreFactory(),
        "user": UserFactory(),
    }


def _answers(questions: list, *, right: bool) -> dict[str, str]:
    return {
        f"q{question.pk}": str((good if right else bad).pk) for question, good, bad in questions
    }


def test_quiz_submit_records_the_attempt_with_its_score(setup: dict) -> None:
    (q1, good1, _bad1), (q2, _good2, bad2) = setup["questions"]
    attempt = services.quiz_submit(
        user=setup["user"],
        store=setup["store"],
        course=setup["course"],
        raw_answers={f"q{q1.pk}": str(good1.pk), f"q{q2.pk}": str(bad2.pk)},
    )
    assert (attempt.correct, attempt.total, attempt.score, attempt.passed) == (1, 2, 50, False)
    assert attempt.answers == {str(q1.pk): good1.pk, str(q2.pk): bad2.pk}


@pytest.mark.parametrize(
    ("answered", "named"),
    [((), "question 1, question 2"), ((0,), "question 2"), ((1,), "question 1")],
)
def test_a_quiz_with_unanswered_questions_is_refused_naming_them_and_nothing_is_recorded(
    setup: dict, answered: tuple[int, ...], named: str
) -> None:
    raw = {
        f"q{question.pk}": str(good.pk)
        for index, (question, good, _bad) in enumerate(setup["questions"])
        if index in answered
    }
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.quiz_submit(
            user=setup["user"], store=setup["store"], course=setup["course"], raw_answers=raw
        )
    [error] = refused.value.error_list
    assert error.code == "unanswered"
    with translation.override("en"):
        assert refused.value.messages == [
            f"Please answer every question before submitting. Not answered yet: {named}."
        ]
    assert not QuizAttempt.objects.exists()
    progress = selectors.courses_progress(user=setup["user"], courses=[setup["course"]])
    assert progress[setup["course"].pk].best_score is None


def test_the_refusal_names_unanswered_questions_in_chinese(setup: dict) -> None:
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        services.quiz_submit(
            user=setup["user"], store=setup["store"], course=setup["course"], raw_answers={}
        )
    assert refused.value.messages == ["请答完所有题目再提交。还没有作答：第 1 题、第 2 题。"]


def test_the_review_shows_each_answer_right_or_wrong_with_the_right_answer(setup: dict) -> None:
    (q1, good1, _bad1), (q2, good2, bad2) = setup["questions"]
    q2.explanation = "开场先报主题"
    q2.save()
    attempt = services.quiz_submit(
        user=setup["user"],
        store=setup["store"],
        course=setup["course"],
        raw_answers={f"q{q1.pk}": str(good1.pk), f"q{q2.pk}": str(bad2.pk)},
    )
    first, second = selectors.quiz_attempt_review(attempt=attempt)
    assert (first.number, first.question, first.chosen, first.is_right) == (1, q1, good1, True)
    assert (second.number, second.question, second.chosen, second.is_right) == (2, q2, bad2, False)
    assert second.right_choices == [good2]
    assert second.right_answers == good2.text
    assert second.question.explanation == "开场先报主题"


def test_the_review_leaves_out_a_question_deleted_since_and_keeps_the_recorded_score(
    setup: dict,
) -> None:
    (q1, good1, _bad1), (q2, _good2, bad2) = setup["questions"]
    attempt = services.quiz_submit(
        user=setup["user"],
        store=setup["store"],
        course=setup["course"],
        raw_answers={f"q{q1.pk}": str(good1.pk), f"q{q2.pk}": str(bad2.pk)},
    )
    q1.delete()
    attempt.refresh_from_db()
    [only] = selectors.quiz_attempt_review(attempt=attempt)
    assert (only.number, only.question, only.chosen) == (1, q2, bad2)
    assert (attempt.correct, attempt.score) == (1, 50)


def test_an_answer_from_another_question_is_refused_and_nothing_is_recorded(setup: dict) -> None:
    (q1, _good1, _bad1), (_q2, good2, _bad2) = setup["questions"]
    with pytest.raises(ValidationError):
        services.quiz_submit(
            user=setup["user"],
            store=setup["store"],
            course=setup["course"],
            raw_answers={f"q{q1.pk}": str(good2.pk)},
        )
    assert not QuizAttempt.objects.exists()


def test_enrolment_completes_when_every_lesson_is_read_and_the_quiz_passed(
    setup: dict,
) -> None:
    user, store = setup["user"], setup["store"]
    kpi_month(store, live_conversion=(Decimal("1.2000"), Decimal("2.5000")))  # 1.2 %
    enrolment = services.enrolment_create(user=user, store=store, path=setup["path"])
    assert enrolment.metric_code == "live_conversion"
    assert enrolment.metric_at_enrolment == Decimal("1.2000")  # as the KPI pack keeps it

    services.quiz_submit(
        user=user,
        store=store,
        course=setup["course"],
        raw_answers=_answers(setup["questions"], right=True),
    )
    enrolment.refresh_from_db()
    assert enrolment.completed_at is None  # lessons still unread

    assert services.lesson_complete(user=user, lesson=setup["lessons"][0]) is True
    assert services.lesson_complete(user=user, lesson=setup["lessons"][0]) is False  # idempotent
    enrolment.refresh_from_db()
    assert enrolment.completed_at is None
    services.lesson_complete(user=user, lesson=setup["lessons"][1])
    enrolment.refresh_from_db()
    assert enrolment.completed_at is not None
    assert LessonCompletion.objects.filter(user=user).count() == 2


def test_a_failed_quiz_leaves_the_course_incomplete(setup: dict) -> None:
    user = setup["user"]
    for lesson in setup["lessons"]:
        services.lesson_complete(user=user, lesson=lesson)
    services.quiz_submit(
        user=user,
        store=setup["store"],
        course=setup["course"],
        raw_answers=_answers(setup["questions"], right=False),
    )
    progress = selectors.courses_progress(user=user, courses=[setup["course"]])[setup["course"].pk]
    assert (progress.lessons_done, progress.quiz_passed, progress.complete) == (2, False, False)
    assert progress.best_score == 0


def test_enrolling_twice_keeps_one_enrolment_and_progress_is_per_user(setup: dict) -> None:
    user, store, path = setup["user"], setup["store"], setup["path"]
    first = services.enrolment_create(user=user, store=store, path=path)
    assert services.enrolment_create(user=user, store=store, path=path) == first
    assert Enrolment.objects.count() == 1
    services.lesson_complete(user=user, lesson=setup["lessons"][0])
    other = UserFactory()
    [theirs] = selectors.paths_progress(user=other, store=store, paths=[path])
    [mine] = selectors.paths_progress(user=user, store=store, paths=[path])
    assert theirs.courses[0].lessons_done == 0
    assert theirs.enrolment is None
    assert mine.courses[0].lessons_done == 1
    assert mine.enrolment == first


def test_an_inactive_path_cannot_be_joined(setup: dict) -> None:
    setup["path"].is_active = False
    setup["path"].save()
    with pytest.raises(ValidationError):
        services.enrolment_create(user=setup["user"], store=setup["store"], path=setup["path"])
    assert not Enrolment.objects.exists()


UNFINISHED = pytest.mark.parametrize(
    "choices", [[], [False, False]], ids=["no choice yet", "none right"]
)


def _unfinished_question(course: object, choices: list[bool], position: int = 99) -> object:
    """A question as HQ leaves it mid-way: added on the course's admin page (no choices: the
    inline has none) or with choices but none marked correct yet."""
    question = QuestionFactory(course=course, position=position)
    for is_correct in choices:
        ChoiceFactory(question=question, is_correct=is_correct)
    return question


@UNFINISHED
@pytest.mark.parametrize("lessons", [1, 0])
def test_a_course_whose_questions_all_lack_a_right_answer_cannot_be_completed(
    db: None, choices: list[bool], lessons: int
) -> None:
    """Questions first, choices later (as HQ writes a quiz): the course has a quiz in
    preparation, not no quiz. Reading its lessons (or, with none, merely enrolling) does not
    complete it or its path, and nothing can be submitted."""
    course, made_lessons, _none = course_with_quiz(lessons=lessons, questions=0)
    _unfinished_question(course, choices)
    path = TrainingPathFactory()
    PathCourseFactory(path=path, course=course)
    user, store = UserFactory(), StoreFactory()

    enrolment = services.enrolment_create(user=user, store=store, path=path)
    for lesson in made_lessons:
        services.lesson_complete(user=user, lesson=lesson)
    progress = selectors.courses_progress(user=user, courses=[course])[course.pk]
    assert (progress.has_quiz, progress.complete) == (True, False)
    enrolment.refresh_from_db()
    assert enrolment.completed_at is None
    assert (progress.quiz_ready, progress.quiz_in_preparation) == (False, True)
    with pytest.raises(ValidationError) as refused:
        services.quiz_submit(user=user, store=store, course=course, raw_answers={})
    assert refused.value.code == "quiz_in_preparation"
    assert not QuizAttempt.objects.exists()


@UNFINISHED
def test_a_quiz_with_one_question_unfinished_is_not_passed_on_the_others_until_it_is_ready(
    setup: dict, choices: list[bool]
) -> None:
    """With one question of three unfinished, the two finished ones answered right do not pass
    the quiz (nothing is recorded) and the course and path stay open; once HQ marks a right
    answer, the quiz is graded on all three and passing it completes them as before. Attempts
    keep their stored pass: a question HQ adds afterwards reopens the quiz for the others, not
    for those who passed it."""
    user, store, course = setup["user"], setup["store"], setup["course"]
    unfinished = _unfinished_question(course, choices)
    enrolment = services.enrolment_create(user=user, store=store, path=setup["path"])
    for lesson in setup["lessons"]:
        services.lesson_complete(user=user, lesson=lesson)

    with pytest.raises(ValidationError) as refused:
        services.quiz_submit(
            user=user,
            store=store,
            course=course,
            raw_answers=_answers(setup["questions"], right=True),
        )
    assert refused.value.code == "quiz_in_preparation"
    assert not QuizAttempt.objects.exists()
    progress = selectors.courses_progress(user=user, courses=[course])[course.pk]
    assert (progress.quiz_in_preparation, progress.complete) == (True, False)
    enrolment.refresh_from_db()
    assert enrolment.completed_at is None

    right = ChoiceFactory(question=unfinished, is_correct=True)
    assert selectors.course_quiz(course=course).ready
    with pytest.raises(ValidationError) as refused:  # now every question must be answered
        services.quiz_submit(
            user=user,
            store=store,
            course=course,
            raw_answers=_answers(setup["questions"], right=True),
        )
    assert refused.value.code == "unanswered"
    attempt = services.quiz_submit(
        user=user,
        store=store,
        course=course,
        raw_answers={
            **_answers(setup["questions"], right=True),
            f"q{unfinished.pk}": str(right.pk),
        },
    )
    assert (attempt.correct, attempt.total, attempt.score, attempt.passed) == (3, 3, 100, True)
    progress = selectors.courses_progress(user=user, courses=[course])[course.pk]
    assert (progress.quiz_in_preparation, progress.complete) == (False, True)
    enrolment.refresh_from_db()
    assert enrolment.completed_at is not None

    _unfinished_question(course, choices, position=100)
    progress = selectors.courses_progress(user=user, courses=[course])[course.pk]
    assert (progress.quiz_in_preparation, progress.quiz_passed, progress.complete) == (
        True,
        True,
        True,
    )
    attempt.refresh_from_db()
    assert (attempt.score, attempt.passed) == (100, True)
    newcomer = UserFactory()
    for lesson in setup["lessons"]:
        services.lesson_complete(user=newcomer, lesson=lesson)
    assert not selectors.courses_progress(user=newcomer, courses=[course])[course.pk].complete


def test_one_right_answer_of_two_questions_does_not_pass_while_the_other_has_none(
    setup: dict,
) -> None:
    """HQ unmarks the right answer of question 2 (one of two ready): question 1 answered right
    is not a 100 % pass, nothing is recorded and the course stays open."""
    user, store, course = setup["user"], setup["store"], setup["course"]
    (q1, good1, _bad1), (q2, good2, _bad2) = setup["questions"]
    good2.is_correct = False
    good2.save()
    for lesson in setup["lessons"]:
        services.lesson_complete(user=user, lesson=lesson)
    for raw in (
        {f"q{q1.pk}": str(good1.pk)},
        {f"q{q1.pk}": str(good1.pk), f"q{q2.pk}": str(good2.pk)},
    ):
        with pytest.raises(ValidationError) as refused:
            services.quiz_submit(user=user, store=store, course=course, raw_answers=raw)
        assert refused.value.code == "quiz_in_preparation"
    assert not QuizAttempt.objects.exists()
    assert not selectors.courses_progress(user=user, courses=[course])[course.pk].complete
