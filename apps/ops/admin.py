"""The admins of Django's groups and users and django-celery-beat's schedules, in HQ's language.

Group and periodic task names are identifiers code looks them up by (linli/roles.py,
linli/schedules.py) and stay as they are; their translated labels, declared next to them, are
shown beside them: a column of the group and periodic task lists, a field of the group page,
and the group choices of the user page ("总部运营（HQ operations）").

django-celery-beat labels some columns and fields with no gettext at all (a method's or a
property's name: "Crontab translation", "Human readable", "Scheduler"; the task field's plain
"Task Name"), and describes cron expressions in English only. Its admins are re-registered here
with translated labels and the cron description in the page's language (cron-descriptor, which
django-celery-beat already uses, speaks Chinese). Its gettext-marked words that its own zh_Hans
catalogue lacks are in ours (linli/vendor_apps.py).
"""

from __future__ import annotations

from typing import Any

from cron_descriptor import ExpressionDescriptor, Options
from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from linli.admin_utils import truncated
from linli.roles import group_label
from linli.schedules import schedule_label

# The field's verbose name is a plain string, which no catalogue can translate; it heads the
# changelist's task filter and the task column of the schedules' inline.
PeriodicTask._meta.get_field("task").verbose_name = _("Task Name")


def crontab_in_words(crontab: CrontabSchedule) -> str:
    """The crontab described in the active language ("在 22:00 Asia/Shanghai"), 24-hour clock."""
    options = Options()
    language = translation.get_language() or ""
    options.locale_code = "zh_CN" if language.startswith("zh") else "en_US"
    options.use_24hour_time_format = True
    expression = " ".join(
        (
            crontab.minute,
            crontab.hour,
            crontab.day_of_month,
            crontab.month_of_year,
            crontab.day_of_week,
        )
    )
    try:
        words = ExpressionDescriptor(expression, options).get_description()
    except Exception:  # noqa: BLE001 - any expression it cannot describe: celery-beat's own text
        return crontab.human_readable
    return f"{words} {crontab.timezone}"


class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin):
    list_display = (
        truncated("name", model=PeriodicTask),
        "label",
        "enabled",
        "schedule_in_words",
        "interval",
        "start_time",
        "last_run_at",
        "one_off",
    )

    @admin.display(description=_("Display name"))
    def label(self, obj: PeriodicTask) -> str:
        # The name is the identifier the schedule sync looks the task up by (linli/schedules.py).
        return schedule_label(obj.name)

    @admin.display(description=_("Scheduler"))
    def schedule_in_words(self, obj: PeriodicTask) -> str:
        if obj.crontab_id:
            return crontab_in_words(obj.crontab)
        return str(obj.scheduler)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().changeform_view(request, object_id, form_url, extra_context)
        # Its view fills {crontab id: text} for the crontab help (static/linli/crontab-help.js)
        # in English; the same words in the page's language instead.
        context = getattr(response, "context_data", None)
        if context is not None and "readable_crontabs" in context:
            context["readable_crontabs"] = {
                crontab.pk: crontab_in_words(crontab) for crontab in CrontabSchedule.objects.all()
            }
        return response

    @admin.display(description=_("Crontab translation"))
    def crontab_translation(self, obj: PeriodicTask) -> str:
        return crontab_in_words(obj.crontab) if obj.crontab_id else ""


class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin):
    list_display = ("__str__", "in_words")
    fields = (
        "in_words",
        "minute",
        "hour",
        "day_of_month",
        "month_of_year",
        "day_of_week",
        "timezone",
    )
    readonly_fields = ("in_words",)

    @admin.display(description=_("Human readable"))
    def in_words(self, obj: CrontabSchedule) -> str:
        return crontab_in_words(obj) if obj.pk else ""


class LabelledGroupAdmin(GroupAdmin):
    """Groups with the translated label of their role next to the name code looks them up by."""

    list_display = ("name", "label")
    fields = ("name", "label", "permissions")
    readonly_fields = ("label",)

    @admin.display(description=_("Display name"))
    def label(self, obj: Group) -> str:
        return group_label(obj.name) if obj.pk else ""


def group_choice_label(group: Group) -> str:
    label = group_label(group.name)
    if label == group.name:
        return label
    return _("%(label)s (%(name)s)") % {"label": label, "name": group.name}


class LabelledGroupsUserAdmin(UserAdmin):
    """Users, their groups chosen by the roles' translated labels."""

    list_display = (
        "username",
        truncated("email", model=get_user_model()),
        "first_name",
        "last_name",
        "is_staff",
    )

    def formfield_for_manytomany(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelMultipleChoiceField | None:
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name == "groups" and formfield is not None:
            formfield.label_from_instance = group_choice_label
        return formfield


for model, model_admin in (
    (Group, LabelledGroupAdmin),
    (get_user_model(), LabelledGroupsUserAdmin),
    (PeriodicTask, PeriodicTaskAdmin),
    (CrontabSchedule, CrontabScheduleAdmin),
):
    # django-celery-beat registers its admins first (it is listed before the apps).
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
