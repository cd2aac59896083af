"""HQ edits the knowledge base and the training catalogue here, and reads enrolments and the
completion report (per store, with the KPI at enrolment against the latest)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext, pgettext_lazy

from apps.stores.access import TRAIN, may
from apps.stores.kpis.definitions import kpi_label, kpi_value
from apps.training import selectors, services
from apps.training.analytics.advice import metric_display
from apps.training.models import (
    Article,
    Choice,
    Course,
    Enrolment,
    Lesson,
    PathCourse,
    Question,
    QuizAttempt,
    TrainingPath,
)
from linli.admin_helpers import RelatedLabelsFromRowsInlineMixin, UndeletableAdminMixin
from linli.admin_utils import truncated
from linli.wording import person_name


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "is_published", "updated_at"]
    list_filter = ["kind", "is_published"]
    search_fields = ["title", "summary"]
    autocomplete_fields = ["products", "categories"]
    fieldsets = [
        (None, {"fields": ["kind", "title", "summary", "body", "is_published"]}),
        (_("Selling points"), {"fields": ["selling_points"]}),
        (_("Linked to"), {"fields": ["products", "categories"]}),
    ]
    actions = ["reindex"]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.article_index(article=form.instance)

    @admin.action(
        description=_("Re-index the selected articles for search"), permissions=["change"]
    )
    def reindex(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        count = 0
        for article in queryset:
            services.article_index(article=article)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d article re-indexed.", "%(count)d articles re-indexed.", count)
            % {"count": count},
        )


class LessonInline(admin.StackedInline):
    model = Lesson
    extra = 0


class QuestionInline(admin.TabularInline):
    model = Question
    fields = ["position", "text"]  # the explanation and choices on the question's own page
    extra = 0
    show_change_link = True


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["title", "skill", "inspection_section", "pass_mark", "quiz_state", "is_active"]
    list_filter = ["skill", "is_active"]
    search_fields = ["title"]
    inlines = [LessonInline, QuestionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Course]:
        return selectors.courses_with_quiz_state(super().get_queryset(request))

    @admin.display(description=pgettext_lazy("training quiz", "Quiz"))
    def quiz_state(self, course: Course) -> str:
        """Learners take the quiz, and can complete the course, only once it is ready."""
        if not course.questions_total:
            return "—"
        if not course.questions_unready:
            return pgettext("training quiz", "Ready")
        return ngettext(
            "In preparation: %(unready)d of %(total)d question has no right answer yet",
            "In preparation: %(unready)d of %(total)d questions have no right answer yet",
            course.questions_total,
        ) % {"unready": course.questions_unready, "total": course.questions_total}


class ChoiceFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        """Answer choices with none marked correct are refused: learners could never answer
        the question right. A question with no choices yet is saved (work in progress); either
        way the course's quiz stays in preparation (`selectors.quizzes_ready`: not offered, the
        course not completable) until every question has a right answer."""
        super().clean()
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if kept and not any(data.get("is_correct") for data in kept):
            raise ValidationError(
                _(
                    "Mark at least one answer choice correct: until every question of the "
                    "course has a right answer, its quiz stays in preparation and learners "
                    "cannot take it or complete the course."
                )
            )


class ChoiceInline(admin.TabularInline):
    model = Choice
    formset = ChoiceFormSet
    extra = 0


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = [truncated("text", model=Question), "course", "position"]
    list_filter = ["course"]
    list_select_related = ["course"]
    search_fields = ["text"]
    inlines = [ChoiceInline]


class PathCourseInline(RelatedLabelsFromRowsInlineMixin, admin.TabularInline):
    model = PathCourse
    extra = 0
    autocomplete_fields = ["course"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PathCourse]:
        # Each row's title names its path and course, its autocomplete box the course.
        return super().get_queryset(request).select_related("path", "course")


@admin.register(TrainingPath)
class TrainingPathAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "skill", "metric", "is_active"]
    list_filter = ["skill", "is_active"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    inlines = [PathCourseInline]

    @admin.display(description=_("KPI it should move"), ordering="metric_code")
    def metric(self, training_path: TrainingPath) -> str:
        return kpi_label(training_path.metric_code) if training_path.metric_code else "—"


class EnrolmentAddForm(forms.ModelForm):
    """HQ enrols a store's staff member as the portal does: only someone who may train at
    that store (its owner or a clerk: `TRAIN`), on a path still offered."""

    class Meta:
        model = Enrolment
        fields = ["user", "store", "path", "reason"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        user, store, path = cleaned.get("user"), cleaned.get("store"), cleaned.get("path")
        if user is not None and store is not None and not may(user, TRAIN, store.pk):
            self.add_error(
                "user",
                ValidationError(
                    _(
                        "%(user)s is not the owner or a clerk of %(store)s: only a store's "
                        "staff train for it."
                    ),
                    code="not_store_staff",
                    params={"user": person_name(user), "store": store.name},
                ),
            )
        if path is not None and not path.is_active:
            self.add_error("path", _("This training path is not offered any more."))
        return cleaned


@admin.register(Enrolment)
class EnrolmentAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    list_display = [
        "user",
        "store",
        "path",
        "enrolled_at",
        "completed_at",
        "metric",
        "metric_at_enrolment_shown",
    ]
    list_filter = ["path", ("completed_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user", "store", "path"]
    search_fields = ["store__code", "store__name", "user__username"]
    raw_id_fields = ["user", "store"]
    # The KPI and its figure at enrolment as the list shows them ("直播转化率", "12.3%"), not
    # the stored code and raw number; both are set by enrolment, never edited.
    exclude = ["metric_code", "metric_at_enrolment"]
    readonly_fields = ["metric", "metric_at_enrolment_shown", "enrolled_at"]
    change_list_template = "admin/training/enrolment/change_list.html"

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        if obj is None:
            kwargs["form"] = EnrolmentAddForm
            kwargs["fields"] = EnrolmentAddForm.Meta.fields
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        # Who, where and which path make the enrolment; another person is another enrolment.
        return ["user", "store", "path", *self.readonly_fields]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return list(EnrolmentAddForm.Meta.fields)
        return super().get_fields(request, obj)

    def save_model(self, request: HttpRequest, obj: Enrolment, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        # Through the service, as in the portal: the path's KPI at enrolment is recorded.
        enrolment = services.enrolment_create(
            user=obj.user, store=obj.store, path=obj.path, reason=obj.reason
        )
        obj.pk = enrolment.pk
        obj.metric_code = enrolment.metric_code
        obj.metric_at_enrolment = enrolment.metric_at_enrolment
        obj.enrolled_at = enrolment.enrolled_at
        obj._state.adding = False
        obj._state.db = enrolment._state.db

    @admin.display(description=_("KPI"), ordering="metric_code")
    def metric(self, enrolment: Enrolment) -> str:
        return kpi_label(enrolment.metric_code) if enrolment.metric_code else "—"

    @admin.display(description=_("KPI at enrolment"), ordering="metric_at_enrolment")
    def metric_at_enrolment_shown(self, enrolment: Enrolment) -> str:
        return kpi_value(enrolment.metric_code, enrolment.metric_at_enrolment)

    def get_urls(self) -> list[URLPattern]:
        report = path(
            "report/",
            self.admin_site.admin_view(self.report_view),
            name="training_enrolment_report",
        )
        return [report, *super().get_urls()]

    def report_view(self, request: HttpRequest) -> HttpResponse:
        """Completion per store, and whether each completed path's KPI moved since enrolment."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = []
        for row in selectors.completion_report():
            rows.append(
                {
                    "row": row,
                    "moves": [
                        {
                            "person": move.person,
                            "path": move.path,
                            "metric": selectors.metric_label(move.metric_code),
                            "before": metric_display(
                                move.before, unit=row.units.get(move.metric_code, "")
                            ),
                            "after": metric_display(
                                move.after, unit=row.units.get(move.metric_code, "")
                            ),
                            "moved": selectors.metric_moved(
                                move.metric_code, move.before, move.after
                            ),
                        }
                        for move in row.moves
                    ],
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Training completion per store"),
            "opts": self.model._meta,
            "rows": rows,
        }
        return TemplateResponse(request, "admin/training/enrolment/report.html", context)


@admin.register(QuizAttempt)
class QuizAttemptAdmin(UndeletableAdminMixin, admin.ModelAdmin):
    list_display = ["user", "course", "store", "score", "passed", "created_at"]
    list_filter = ["passed", "course"]
    list_select_related = ["user", "course", "store"]
    search_fields = ["store__code", "user__username"]
    raw_id_fields = ["user", "store"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
