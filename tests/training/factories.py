"""Factories for the knowledge base and training (also picked up by the admin smoke test)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factory

from apps.stores.models import KpiSnapshot
from apps.training.models import (
    Article,
    Choice,
    Course,
    Enrolment,
    Lesson,
    PathCourse,
    Question,
    QuizAttempt,
    Skill,
    TrainingPath,
)
from tests.factories import StoreFactory, UserFactory

KPI_PERIOD = datetime.date(2026, 10, 1)


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article

    kind = Article.Kind.PRODUCT
    title = factory.Sequence(lambda n: f"知识文章{n}")
    body = "正文"


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    title = factory.Sequence(lambda n: f"课程{n}")
    skill = Skill.LIVE_SELLING
    pass_mark = 80


class LessonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lesson

    course = factory.SubFactory(CourseFactory)
    position = factory.Sequence(lambda n: n)
    title = factory.Sequence(lambda n: f"第{n}课")
    body = "课文"


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    course = factory.SubFactory(CourseFactory)
    position = factory.Sequence(lambda n: n)
    text = factory.Sequence(lambda n: f"问题{n}？")


class ChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Choice

    question = factory.SubFactory(QuestionFactory)
    text = factory.Sequence(lambda n: f"选项{n}")
    is_correct = False


class TrainingPathFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingPath

    code = factory.Sequence(lambda n: f"path-{n}")
    name = factory.Sequence(lambda n: f"路径{n}")
    skill = Skill.LIVE_SELLING


class PathCourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PathCourse

    path = factory.SubFactory(TrainingPathFactory)
    course = factory.SubFactory(CourseFactory)
    position = factory.Sequence(lambda n: n)


class EnrolmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrolment

    user = factory.SubFactory(UserFactory)
    store = factory.SubFactory(StoreFactory)
    path = factory.SubFactory(TrainingPathFactory)


class QuizAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuizAttempt

    user = factory.SubFactory(UserFactory)
    course = factory.SubFactory(CourseFactory)
    store = factory.SubFactory(StoreFactory)
    correct = 1
    total = 2
    score = 50
    passed = False


def course_with_quiz(
    *, lessons: int = 2, questions: int = 2, pass_mark: int = 80, **kwargs: object
) -> tuple[Course, list[Lesson], list[tuple[Question, Choice, Choice]]]:
    """A course with `lessons` lessons and `questions` questions of two choices each (the first
    right, the second wrong)."""
    course = CourseFactory(pass_mark=pass_mark, **kwargs)
    made_lessons = [LessonFactory(course=course, position=i) for i in range(lessons)]
    made_questions = []
    for i in range(questions):
        question = QuestionFactory(course=course, position=i)
        made_questions.append(
            (
                question,
                ChoiceFactory(question=question, is_correct=True),
                ChoiceFactory(question=question, is_correct=False),
            )
        )
    return course, made_lessons, made_questions


def kpi_month(
    store: object, period: datetime.date = KPI_PERIOD, **figures: tuple[Decimal, Decimal | None]
) -> None:
    """The KPI pack's figures for a complete month, as its monthly job stores them: for each
    code, the store's value and the network's row with the peer 25th percentile (rates in
    percent, as the pack keeps them)."""
    for code, (value, peer_p25) in figures.items():
        KpiSnapshot.objects.create(
            scope=KpiSnapshot.Scope.STORE, store=store, period=period, code=code, value=value
        )
        KpiSnapshot.objects.get_or_create(
            scope=KpiSnapshot.Scope.NETWORK,
            period=period,
            code=code,
            defaults={"peer_p25": peer_p25, "peer_count": 2, "is_complete": True},
        )
