"""Knowledge base (articles and FAQ entries) and training (paths, courses, lessons, quizzes,
enrolments and progress). See docs/knowledge-base.md and docs/training.md.

Models point at products, categories, stores and users lazily; search tokens are written by
`apps.training.services.article_index`, never by a model method.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The same sections as apps.stores.inspections.models.ChecklistItem.Section (copied as plain
# values: models import no other app's models module).
INSPECTION_SECTIONS = (
    ("shelf_display", _("Shelf display")),
    ("freshness", _("Freshness")),
    ("hygiene", _("Hygiene")),
    ("cold_chain", _("Cold chain")),
    ("price_tags", _("Price tags")),
    ("other", _("Other")),
)


class Article(models.Model):
    """One knowledge-base entry: an article or an FAQ entry (kind FAQ: title is the question,
    body the answer). `selling_points` (one per line) feed campaign live scripts and live
    talking points for the linked products."""

    class Kind(models.TextChoices):
        PRODUCT = "product", _("Product knowledge")
        SELLING_POINTS = "selling_points", _("Selling points")
        STORAGE = "storage", _("Storage and handling")
        AFTER_SALES = "after_sales", _("After-sales rules")
        FAQ = "faq", _("FAQ")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.PRODUCT)
    title = models.CharField(_("title"), max_length=120)
    summary = models.CharField(_("summary"), max_length=240, blank=True, default="")
    body = models.TextField(_("body"), blank=True, default="")
    selling_points = models.TextField(
        _("selling points"),
        blank=True,
        default="",
        help_text=_(
            "One per line. Used in campaign live scripts and live talking points for the "
            "linked products, in place of the product's own selling points."
        ),
    )
    products = models.ManyToManyField(
        "catalog.Product", verbose_name=_("products"), blank=True, related_name="articles"
    )
    categories = models.ManyToManyField(
        "catalog.Category", verbose_name=_("categories"), blank=True, related_name="articles"
    )
    is_published = models.BooleanField(_("published"), default=True)
    # Space-separated jieba tokens (services.article_index), for ranking without re-cutting.
    title_tokens = models.TextField(_("title tokens"), blank=True, default="", editable=False)
    body_tokens = models.TextField(_("body tokens"), blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("knowledge article")
        verbose_name_plural = _("knowledge articles")
        ordering = ["kind", "title"]
        indexes = [models.Index(fields=["is_published", "kind"])]

    def __str__(self) -> str:
        return self.title

    @property
    def selling_point_lines(self) -> list[str]:
        return [line.strip() for line in self.selling_points.splitlines() if line.strip()]


class Skill(models.TextChoices):
    LIVE_SELLING = "live_selling", _("Live selling")
    COMMUNITY = "community", _("Community operation")
    FRESH_GOODS = "fresh_goods", _("Fresh-goods handling")
    COLD_CHAIN = "cold_chain", _("Cold chain")
    INSPECTION = "inspection", _("Inspection standards")


class Course(models.Model):
    title = models.CharField(_("title"), max_length=120)
    summary = models.TextField(_("summary"), blank=True, default="")
    skill = models.CharField(_("skill"), max_length=16, choices=Skill.choices)
    inspection_section = models.CharField(
        _("inspection section"),
        max_length=16,
        choices=INSPECTION_SECTIONS,
        blank=True,
        default="",
        help_text=_(
            "The inspection checklist section this course teaches; repeated failures in that "
            "section recommend it."
        ),
    )
    pass_mark = models.PositiveSmallIntegerField(
        _("pass mark (%)"), default=80, help_text=_("Quiz score in percent needed to pass.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["skill", "title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(pass_mark__gte=0, pass_mark__lte=100),
                name="training_course_pass_mark_percent",
                violation_error_message=_("The pass mark must be between 0 and 100."),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Lesson(models.Model):
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="lessons"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("body"))

    class Meta:
        verbose_name = _("lesson")
        verbose_name_plural = _("lessons")
        ordering = ["course", "position", "id"]

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="questions"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    text = models.CharField(_("question"), max_length=240)
    explanation = models.TextField(
        _("explanation"),
        blank=True,
        default="",
        help_text=_("Why the right answer is right; shown with the learner's results."),
    )

    class Meta:
        verbose_name = _("quiz question")
        verbose_name_plural = _("quiz questions")
        ordering = ["course", "position", "id"]

    def __str__(self) -> str:
        return self.text


class Choice(models.Model):
    question = models.ForeignKey(
        Question, verbose_name=_("question"), on_delete=models.CASCADE, related_name="choices"
    )
    text = models.CharField(_("answer"), max_length=160)
    is_correct = models.BooleanField(_("correct"), default=False)

    class Meta:
        verbose_name = _("answer choice")
        verbose_name_plural = _("answer choices")
        ordering = ["question", "id"]

    def __str__(self) -> str:
        return self.text


class TrainingPath(models.Model):
    """Ordered courses for one skill. `metric_code` names the KPI the path is meant to move
    (recorded at enrolment so HQ sees whether it moved after completion)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    skill = models.CharField(_("skill"), max_length=16, choices=Skill.choices)
    description = models.TextField(_("description"), blank=True, default="")
    metric_code = models.CharField(_("KPI it should move"), max_length=32, blank=True, default="")
    courses = models.ManyToManyField(
        Course, verbose_name=_("courses"), through="PathCourse", related_name="paths"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("training path")
        verbose_name_plural = _("training paths")
        ordering = ["skill", "name"]

    def __str__(self) -> str:
        return self.name


class PathCourse(models.Model):
    path = models.ForeignKey(
        TrainingPath, verbose_name=_("path"), on_delete=models.CASCADE, related_name="steps"
    )
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.PROTECT, related_name="+"
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("course in path")
        verbose_name_plural = _("courses in path")
        ordering = ["path", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["path", "course"], name="training_path_course_unique")
        ]

    def __str__(self) -> str:
        return f"{self.path} · {self.course}"


class Enrolment(models.Model):
    """A store's staff member (owner or clerk) on a path. The path's KPI at enrolment is kept,
    so the HQ report can compare it with the latest figure after completion."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="training_enrolments",
    )
    store = models.ForeignKey(
        "stores.Store",
        verbose_name=_("store"),
        on_delete=models.CASCADE,
        related_name="training_enrolments",
    )
    path = models.ForeignKey(
        TrainingPath, verbose_name=_("path"), on_delete=models.PROTECT, related_name="enrolments"
    )
    reason = models.CharField(_("why recommended"), max_length=240, blank=True, default="")
    metric_code = models.CharField(_("KPI"), max_length=32, blank=True, default="")
    metric_at_enrolment = models.DecimalField(
        _("KPI at enrolment"), max_digits=18, decimal_places=4, null=True, blank=True
    )
    enrolled_at = models.DateTimeField(_("enrolled"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        verbose_name = _("enrolment")
        verbose_name_plural = _("enrolments")
        ordering = ["-enrolled_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "store", "path"], name="training_enrolment_unique"
            )
        ]
        indexes = [models.Index(fields=["store", "path"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.path}"


class LessonCompletion(models.Model):
    """A user has read a lesson (progress is per user, whichever store they train for)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    lesson = models.ForeignKey(
        Lesson, verbose_name=_("lesson"), on_delete=models.CASCADE, related_name="completions"
    )
    completed_at = models.DateTimeField(_("completed"), default=timezone.now)

    class Meta:
        verbose_name = _("lesson read")
        verbose_name_plural = _("lessons read")
        constraints = [
            models.UniqueConstraint(fields=["user", "lesson"], name="training_lesson_done_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.lesson}"


class QuizAttempt(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    course = models.ForeignKey(
        Course, verbose_name=_("course"), on_delete=models.CASCADE, related_name="attempts"
    )
    store = models.ForeignKey(
        "stores.Store", verbose_name=_("store"), on_delete=models.CASCADE, related_name="+"
    )
    correct = models.PositiveSmallIntegerField(_("correct answers"))
    total = models.PositiveSmallIntegerField(_("questions"))
    score = models.PositiveSmallIntegerField(_("score (%)"))
    passed = models.BooleanField(_("passed"))
    # {question id: chosen choice id or null}, as submitted.
    answers = models.JSONField(_("answers"), default=dict)
    created_at = models.DateTimeField(_("taken"), default=timezone.now)

    class Meta:
        verbose_name = _("quiz attempt")
        verbose_name_plural = _("quiz attempts")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "course", "passed"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.course} · {self.score}%"
