"""Reads for the knowledge base and training: search, selling points for campaign scripts, a
store's recommendations, a user's progress, and HQ's completion report.

KPI figures are read through ONE function, `store_kpi_figures`, which reads the KPI pack
(`store_kpis(store) -> dict[str, KpiFigure]`; docs/training.md, "Where the figures come from").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from apps.stores.inspections.models import Inspection, InspectionItemResult
from apps.stores.kpis.definitions import KPI_BY_CODE
from apps.stores.kpis.selectors import store_kpis
from apps.stores.models import Store, StoreStaff
from apps.training.analytics import advice, search
from apps.training.models import (
    INSPECTION_SECTIONS,
    Article,
    Choice,
    Course,
    Enrolment,
    Lesson,
    LessonCompletion,
    PathCourse,
    Question,
    QuizAttempt,
    Skill,
    TrainingPath,
)
from linli.wording import person_name

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

SEARCH_LIMIT = 20

# --- knowledge base -------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchHit:
    article: Article
    score: float


def knowledge_search(*, query: str, limit: int = SEARCH_LIMIT) -> list[SearchHit]:
    """Published articles matching `query`, best first (BM25 over the stored jieba tokens, title
    boosted; analytics/search.py). The knowledge base is small (hundreds of entries): the token
    columns of every published article are ranked in Python, then the top `limit` are fetched."""
    query_tokens = search.tokenize(query)
    if not query_tokens:
        return []
    rows = Article.objects.filter(is_published=True).values_list(
        "pk", "title_tokens", "body_tokens"
    )
    documents = [
        search.Document(pk, tuple(title.split()), tuple(body.split())) for pk, title, body in rows
    ]
    ranked = search.bm25_rank(query_tokens, documents)[:limit]
    articles = Article.objects.in_bulk([pk for pk, _score in ranked])
    return [SearchHit(articles[pk], score) for pk, score in ranked if pk in articles]


def article_published(*, article_id: int) -> Article | None:
    return (
        Article.objects.filter(pk=article_id, is_published=True)
        .prefetch_related("products", "categories")
        .first()
    )


def articles_recent(*, limit: int = 10) -> QuerySet[Article]:
    return Article.objects.filter(is_published=True).order_by("-updated_at", "-pk")[:limit]


def product_selling_points(*, product_ids: Iterable[int]) -> dict[int, list[str]]:
    """{product id: selling-point lines} from the published knowledge-base articles linked to
    each product (newest article first, duplicates dropped). Products without such an article
    are absent: the caller keeps the product's own selling points for them. Two queries."""
    ids = list(product_ids)
    if not ids:
        return {}
    links = (
        Article.products.through.objects.filter(product_id__in=ids, article__is_published=True)
        .exclude(article__selling_points="")
        .order_by("product_id", "-article__updated_at", "-article_id")
        .values_list("product_id", "article__selling_points")
    )
    points: dict[int, list[str]] = defaultdict(list)
    for product_id, text in links:
        for line in text.splitlines():
            line = line.strip()
            if line and line not in points[product_id]:
                points[product_id].append(line)
    return dict(points)


# --- KPI figures and recommendations ---------------------------------------------------------


def store_kpi_figures(*, store: Store) -> dict[str, advice.KpiFigureLike]:
    """THE one place training reads KPI figures ({code: figure with value, percentile,
    peer_p25, peer_median, unit}): the store's newest complete month of the KPI pack
    (`apps.stores.kpis.selectors.store_kpis`), as the pack keeps them (a rate in percent, its
    definition's unit "%"); the advice reads each figure's unit."""
    return dict(store_kpis(store))


def inspection_section_failures(*, store: Store) -> list[advice.SectionFailures]:
    """Sections failed repeatedly in the store's last submitted inspections (two queries)."""
    recent = list(
        Inspection.objects.filter(store=store, submitted_at__isnull=False)
        .exclude(status=Inspection.Status.DRAFT)
        .order_by("-submitted_at", "-pk")
        .values_list("pk", flat=True)[: advice.WINDOW]
    )
    by_inspection: dict[int, list[tuple[str, int | None]]] = {pk: [] for pk in recent}
    for inspection_id, section, score in InspectionItemResult.objects.filter(
        inspection_id__in=recent
    ).values_list("inspection_id", "section", "score"):
        by_inspection[inspection_id].append((section, score))
    return advice.repeated_section_failures([by_inspection[pk] for pk in recent])


METRIC_LABELS = {
    advice.LIVE_CONVERSION: lambda: _("Live conversion"),
    advice.LOSS_RATE: lambda: _("Loss rate"),
    advice.INSPECTION_SCORE: lambda: _("Inspection score"),
}
SECTION_LABELS = dict(INSPECTION_SECTIONS)


def metric_label(code: str) -> str:
    label = METRIC_LABELS.get(code)
    return label() if label else code


@dataclass(frozen=True)
class RecommendedPath:
    recommendation: advice.Recommendation
    reason: str  # "直播转化率 1.2%，低于同行 25 分位 2.5%"
    path: TrainingPath | None
    course: Course | None = None  # the inspection section's course

    @property
    def skill_label(self) -> str:
        return str(dict(Skill.choices).get(self.recommendation.skill, self.recommendation.skill))


def recommendation_reason(recommendation: advice.Recommendation) -> str:
    """The sentence that says which figure triggered the recommendation, and against what."""
    rec = recommendation
    if rec.section:
        return _(
            "Inspection section “%(section)s” failed in %(failures)d of the last "
            "%(inspections)d inspections (lowest item score %(lowest)d/10)"
        ) % {
            "section": SECTION_LABELS.get(rec.section, rec.section),
            "failures": rec.failures,
            "inspections": rec.inspections,
            "lowest": rec.lowest,
        }
    values = {
        "metric": metric_label(rec.metric_code),
        "value": advice.metric_display(rec.value, unit=rec.unit),
        "peer": advice.metric_display(rec.peer_value, unit=rec.unit),
    }
    if rec.higher_is_better:
        return _("%(metric)s %(value)s, below the peer 25th percentile %(peer)s") % values
    return _("%(metric)s %(value)s, above the peer 75th percentile %(peer)s") % values


def store_recommendations(*, store: Store) -> list[RecommendedPath]:
    """The paths (and inspection courses) the store's weak metrics call for, with reasons."""
    found = advice.recommendations(
        store_kpi_figures(store=store), inspection_section_failures(store=store)
    )
    if not found:
        return []
    paths: dict[str, TrainingPath] = {}
    for path in TrainingPath.objects.filter(is_active=True).order_by("pk"):
        paths.setdefault(path.skill, path)
    courses: dict[str, Course] = {}
    for course in (
        Course.objects.filter(is_active=True).exclude(inspection_section="").order_by("pk")
    ):
        courses.setdefault(course.inspection_section, course)
    return [
        RecommendedPath(
            recommendation=rec,
            reason=recommendation_reason(rec),
            path=paths.get(rec.skill),
            course=courses.get(rec.section) if rec.section else None,
        )
        for rec in found
    ]


# --- progress ---------------------------------------------------------------------------------


@dataclass
class CourseProgress:
    course: Course
    lessons_total: int
    lessons_done: int
    has_quiz: bool  # the course has questions, ready or not
    quiz_passed: bool  # a stored attempt passed (it keeps counting whatever HQ changed since)
    best_score: int | None = None
    quiz_ready: bool = True  # every question has a right answer (`quizzes_ready`)

    @property
    def quiz_in_preparation(self) -> bool:
        return self.has_quiz and not self.quiz_ready

    @property
    def complete(self) -> bool:
        """Every lesson read, and the quiz passed when the course has one. A course whose quiz
        is still in preparation cannot be completed (nor its path) until the quiz is ready and
        passed: it is not skipped."""
        return self.lessons_done >= self.lessons_total and (self.quiz_passed or not self.has_quiz)


@dataclass
class PathProgress:
    path: TrainingPath
    courses: list[CourseProgress]
    enrolment: Enrolment | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(1 for course in self.courses if course.complete)

    @property
    def complete(self) -> bool:
        return bool(self.courses) and self.done == len(self.courses)


def courses_progress(*, user: AbstractBaseUser, courses: list[Course]) -> dict[int, CourseProgress]:
    """Progress of `user` in each course (four queries whatever the number of courses)."""
    ids = [course.pk for course in courses]
    lessons = dict(
        Lesson.objects.filter(course_id__in=ids)
        .values("course_id")
        .annotate(n=Count("pk"))
        .values_list("course_id", "n")
    )
    done = dict(
        LessonCompletion.objects.filter(user=user, lesson__course_id__in=ids)
        .values("lesson__course_id")
        .annotate(n=Count("pk"))
        .values_list("lesson__course_id", "n")
    )
    quizzes = quizzes_ready(course_ids=ids)
    best: dict[int, int] = {}
    passed: set[int] = set()
    for course_id, score, ok in QuizAttempt.objects.filter(
        user=user, course_id__in=ids
    ).values_list("course_id", "score", "passed"):
        best[course_id] = max(best.get(course_id, 0), score)
        if ok:
            passed.add(course_id)
    return {
        course.pk: CourseProgress(
            course=course,
            lessons_total=lessons.get(course.pk, 0),
            lessons_done=done.get(course.pk, 0),
            has_quiz=course.pk in quizzes,
            quiz_passed=course.pk in passed,
            best_score=best.get(course.pk),
            quiz_ready=quizzes.get(course.pk, True),
        )
        for course in courses
    }


def paths_progress(
    *, user: AbstractBaseUser, store: Store | None, paths: Iterable[TrainingPath] | None = None
) -> list[PathProgress]:
    """Every active path (or `paths`) with its ordered courses, the user's progress in each, and
    the user's enrolment at this store."""
    path_list = (
        list(paths)
        if paths is not None
        else list(TrainingPath.objects.filter(is_active=True).order_by("pk"))
    )
    steps = (
        PathCourse.objects.filter(path__in=path_list, course__is_active=True)
        .select_related("course")
        .order_by("path_id", "position", "pk")
    )
    by_path: dict[int, list[Course]] = defaultdict(list)
    for step in steps:
        by_path[step.path_id].append(step.course)
    all_courses = list(
        {course.pk: course for courses in by_path.values() for course in courses}.values()
    )
    progress = courses_progress(user=user, courses=all_courses)
    enrolments = (
        {
            enrolment.path_id: enrolment
            for enrolment in Enrolment.objects.filter(user=user, store=store, path__in=path_list)
        }
        if store is not None
        else {}
    )
    return [
        PathProgress(
            path=path,
            courses=[progress[course.pk] for course in by_path.get(path.pk, [])],
            enrolment=enrolments.get(path.pk),
        )
        for path in path_list
    ]


def course_detail(*, course_id: int) -> Course | None:
    return Course.objects.filter(pk=course_id, is_active=True).first()


def course_lessons(*, course: Course, user: AbstractBaseUser) -> list[tuple[Lesson, bool]]:
    done = set(
        LessonCompletion.objects.filter(user=user, lesson__course=course).values_list(
            "lesson_id", flat=True
        )
    )
    return [(lesson, lesson.pk in done) for lesson in course.lessons.all()]


def lesson_detail(*, lesson_id: int) -> Lesson | None:
    return (
        Lesson.objects.filter(pk=lesson_id, course__is_active=True).select_related("course").first()
    )


def _has_right_answer() -> Exists:
    return Exists(Choice.objects.filter(question=OuterRef("pk"), is_correct=True))


def quizzes_ready(*, course_ids: Iterable[int]) -> dict[int, bool]:
    """{course id: ready} for those of these courses that have a quiz (any question; one
    query). A quiz is ready when every question has an answer choice marked correct. HQ may
    write the questions first and their choices later (a question added on the course's page
    has none): until every one has a right answer the quiz is "in preparation", offered to no
    one, and the course cannot be completed, rather than passed on the finished questions
    alone or skipped."""
    rows = (
        Question.objects.filter(course_id__in=list(course_ids))
        .values("course_id")
        .annotate(unready=Count("pk", filter=~Q(_has_right_answer())))
        .values_list("course_id", "unready")
    )
    return {course_id: unready == 0 for course_id, unready in rows}


def courses_with_quiz_state(queryset: QuerySet[Course]) -> QuerySet[Course]:
    """`queryset` annotated with `questions_total` and `questions_unready` (those without a
    right answer yet): the quiz is in preparation while `questions_unready` > 0."""
    questions = Question.objects.filter(course=OuterRef("pk")).order_by().values("course")
    return queryset.annotate(
        questions_total=Coalesce(Subquery(questions.annotate(n=Count("pk")).values("n")), 0),
        questions_unready=Coalesce(
            Subquery(questions.filter(~Q(_has_right_answer())).annotate(n=Count("pk")).values("n")),
            0,
        ),
    )


@dataclass(frozen=True)
class Quiz:
    questions: list[Question]  # every question, in quiz order, with its choices

    @property
    def ready(self) -> bool:
        """Every question has a right answer (see `quizzes_ready`)."""
        return all(question.has_right_answer for question in self.questions)


def course_quiz(*, course: Course) -> Quiz:
    """The course's quiz: every question with its choices (two queries); `questions` is empty
    for a course without a quiz."""
    return Quiz(
        questions=list(
            course.questions.annotate(has_right_answer=_has_right_answer()).prefetch_related(
                "choices"
            )
        )
    )


def quiz_attempts(*, user: AbstractBaseUser, course: Course, store: Store) -> list[QuizAttempt]:
    """The user's attempts at the course's quiz taken for this store, newest first."""
    return list(QuizAttempt.objects.filter(user=user, course=course, store=store))


def quiz_attempt_own(
    *, user: AbstractBaseUser, store: Store, attempt_id: int
) -> QuizAttempt | None:
    """One of the user's own attempts taken for this store (None for anyone else's: attempts
    are personal, not the store's)."""
    return (
        QuizAttempt.objects.filter(pk=attempt_id, user=user, store=store)
        .select_related("course")
        .first()
    )


@dataclass(frozen=True)
class AnswerReview:
    number: int  # 1-based, in quiz order
    question: Question
    chosen: Choice | None  # None: unanswered, or the choice was deleted since
    right_choices: list[Choice]

    @property
    def is_right(self) -> bool:
        return self.chosen is not None and self.chosen.is_correct

    @property
    def right_answers(self) -> str:
        """The right choices' texts as one phrase ("" when HQ marked none right)."""
        return pgettext("list separator", ", ").join(choice.text for choice in self.right_choices)


def quiz_attempt_review(*, attempt: QuizAttempt) -> list[AnswerReview]:
    """Per question of the attempt: the learner's answer, the right answer(s) and the
    question's explanation (two queries). Read against the quiz as it stands now: a question
    HQ deleted since is left out, one added since was not part of the attempt; the attempt's
    recorded score is what counted."""
    answered = {int(key): value for key, value in attempt.answers.items()}
    questions = [
        question
        for question in attempt.course.questions.prefetch_related("choices")
        if question.pk in answered
    ]
    review = []
    for number, question in enumerate(questions, start=1):
        choices = list(question.choices.all())
        chosen_id = answered[question.pk]
        review.append(
            AnswerReview(
                number=number,
                question=question,
                chosen=next((choice for choice in choices if choice.pk == chosen_id), None),
                right_choices=[choice for choice in choices if choice.is_correct],
            )
        )
    return review


def path_active(*, path_id: int) -> TrainingPath | None:
    return TrainingPath.objects.filter(pk=path_id, is_active=True).first()


def store_staff_enrolments(*, store: Store) -> list[Enrolment]:
    """Every enrolment at the store (owner's and HQ's view of the store's training)."""
    return list(
        Enrolment.objects.filter(store=store)
        .select_related("user", "path")
        .order_by("path__name", "user__username")
    )


# --- HQ completion report ---------------------------------------------------------------------


@dataclass(frozen=True)
class KpiMove:
    """A completed enrolment's KPI: who completed which path, the figure at enrolment and the
    latest. The person is named because two people at one store may complete the same path."""

    person: str
    path: str
    metric_code: str
    before: Decimal | None
    after: Decimal | None


@dataclass
class StoreCompletion:
    store: Store
    staff: int
    enrolments: int
    completed: int
    # one per completed enrolment with a KPI, by path then person
    moves: list[KpiMove] = field(default_factory=list)
    # {metric code: unit of its figures} for the moves (`advice.metric_display`)
    units: dict[str, str] = field(default_factory=dict)

    @property
    def completion_percent(self) -> int:
        return round(100 * self.completed / self.enrolments) if self.enrolments else 0


def _definition_unit(code: str) -> str:
    """The unit of a KPI by its code (a code the pack does not define: none)."""
    definition = KPI_BY_CODE.get(code)
    return str(definition.unit) if definition is not None else ""


def metric_moved(code: str, before: Decimal | None, after: Decimal | None) -> str:
    """'better', 'worse', 'same' or '' (unknown), in the direction the KPI pack gives the
    code (`higher_is_better`; a code the pack does not define counts higher as better)."""
    if before is None or after is None:
        return ""
    if after == before:
        return "same"
    definition = KPI_BY_CODE.get(code)
    higher_is_better = definition.higher_is_better if definition is not None else True
    improved = after > before if higher_is_better else after < before
    return "better" if improved else "worse"


def completion_report() -> list[StoreCompletion]:
    """Per store with any enrolment: owners and clerks, enrolments, completed, and for each
    completed enrolment with a KPI the figure at enrolment against the latest figure."""
    rows = (
        Enrolment.objects.values("store_id")
        .annotate(total=Count("pk"), done=Count("pk", filter=Q(completed_at__isnull=False)))
        .order_by("store_id")
    )
    counts = {row["store_id"]: row for row in rows}
    stores = Store.objects.in_bulk(list(counts))
    staff = dict(
        StoreStaff.objects.filter(
            store_id__in=list(counts), role__in=[StoreStaff.Role.OWNER, StoreStaff.Role.CLERK]
        )
        .values("store_id")
        .annotate(n=Count("user_id", distinct=True))
        .values_list("store_id", "n")
    )
    completed = (
        Enrolment.objects.filter(store_id__in=list(counts), completed_at__isnull=False)
        .exclude(metric_code="")
        .select_related("path", "user")
        .order_by("store_id")
    )
    moves: dict[int, list[KpiMove]] = defaultdict(list)
    units: dict[int, dict[str, str]] = defaultdict(dict)
    figures_cache: dict[int, dict[str, advice.KpiFigureLike]] = {}
    for enrolment in completed:
        figures = figures_cache.get(enrolment.store_id)
        if figures is None:
            figures = store_kpi_figures(store=stores[enrolment.store_id])
            figures_cache[enrolment.store_id] = figures
        latest = figures.get(enrolment.metric_code)
        units[enrolment.store_id][enrolment.metric_code] = (
            latest.unit if latest is not None else _definition_unit(enrolment.metric_code)
        )
        moves[enrolment.store_id].append(
            KpiMove(
                person=person_name(enrolment.user),
                path=enrolment.path.name,
                metric_code=enrolment.metric_code,
                before=enrolment.metric_at_enrolment,
                after=latest.value if latest is not None else None,
            )
        )
    return [
        StoreCompletion(
            store=stores[store_id],
            staff=staff.get(store_id, 0),
            enrolments=counts[store_id]["total"],
            completed=counts[store_id]["done"],
            moves=sorted(moves.get(store_id, []), key=lambda move: (move.path, move.person)),
            units=units.get(store_id, {}),
        )
        for store_id in sorted(counts, key=lambda pk: stores[pk].code)
    ]


def lesson_next(*, lesson: Lesson) -> Lesson | None:
    lessons = list(Lesson.objects.filter(course_id=lesson.course_id).values_list("pk", flat=True))
    index = lessons.index(lesson.pk)
    if index + 1 < len(lessons):
        return Lesson.objects.get(pk=lessons[index + 1])
    return None


def lesson_done(*, user: AbstractBaseUser, lesson: Lesson) -> bool:
    return LessonCompletion.objects.filter(user=user, lesson=lesson).exists()
