"""Chinese names for the admin sections of third-party apps that ship no zh_Hans catalogue.

django-axes and django-auditlog mark their names for translation but carry no Chinese. Their
messages are looked up in every catalogue, ours included, so the strings below only need to be
in ours: they are listed here, word for word as those apps write them, so that `makemessages`
extracts them and keeps them (a string no project file names would be dropped as obsolete).
Only their own wording goes here; generic words such as "Yes" or "User" would override Django's
translations everywhere and are left to Django's catalogue.
"""

from __future__ import annotations

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, ngettext_lazy


class AxesConfig(AxesAppConfig):
    """django-axes under a translatable name: its own has none, so the admin showed "Axes"."""

    verbose_name = _("Login throttling")


VENDOR_MESSAGES = (
    # django-auditlog: the app, its model and the log's columns and filters
    gettext_noop("Audit log"),
    gettext_noop("log entry"),
    gettext_noop("log entries"),
    gettext_noop("actor"),
    gettext_noop("action"),
    gettext_noop("timestamp"),
    gettext_noop("create"),
    gettext_noop("update"),
    gettext_noop("delete"),
    gettext_noop("access"),
    gettext_noop("object pk"),
    gettext_noop("object id"),
    gettext_noop("object representation"),
    gettext_noop("change message"),
    gettext_noop("remote address"),
    gettext_noop("remote port"),
    gettext_noop("additional data"),
    gettext_noop("actor email"),
    gettext_noop("Correlation ID"),
    gettext_noop("Resource Type"),
    gettext_noop("Resource"),
    gettext_noop("Changes"),
    gettext_noop("Click to filter by records with this correlation id"),
    # django-auditlog: the table of changes on a log entry's page
    gettext_noop("Field"),
    gettext_noop("From"),
    gettext_noop("To"),
    gettext_noop("Relationship"),
    gettext_noop("system"),
    gettext_noop("No field changes"),
    # django-axes: its models and the columns of their admin pages
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("Attempt Time"),
    gettext_noop("Logout Time"),
    gettext_noop("IP Address"),
    gettext_noop("User Agent"),
    gettext_noop("Failed Logins"),
    gettext_noop("Attempt Remaining"),
    gettext_noop("Locked Out"),
    gettext_noop("Form Data"),
    gettext_noop("Meta Data"),
    gettext_noop("Clean up expired attempts"),
    # django-import-export: the export page's toggle of every column and its error when no
    # column is ticked (both empty in its zh_Hans)
    gettext_noop("Select all"),
    gettext_noop('Select at least 1 field for "%(resource_name)s" to export'),
    # django-celery-beat: what its zh_Hans catalogue lacks (or holds only as fuzzy, which is
    # not compiled) on the periodic task and crontab pages; the labels it writes with no
    # gettext at all are set in apps/ops/admin.py.
    gettext_noop("Schedule"),
    gettext_noop("Arguments"),
    gettext_noop("Execution Options"),
    gettext_noop("Periodic Tasks Using This Schedule"),
    gettext_noop('Cron Months (1-12) Of The Year to Run. Use "*" for "all". (Example: "1,12")'),
    gettext_noop(
        'Cron Days Of The Week to Run. Use "*" for "all", Sunday is 0 or 7, Monday is 1. '
        '(Example: "0,5")'
    ),
    # Theirs gives the example as "0,5" (there is no day 0 of a month); the source says "1,15".
    gettext_noop('Cron Days Of The Month to Run. Use "*" for "all". (Example: "1,15")'),
)

# Django's form label suffix ("Name:"): Django's own zh_Hans catalogue keeps the ASCII colon,
# so every form label read "粘贴群里的接龙:"; Chinese takes the full-width "：". Ours is
# looked up first (LOCALE_PATHS), so this one entry corrects every form, portal and admin.
DJANGO_MESSAGES = (
    gettext_noop(":"),
    # The admin app list's table headers (read by screen readers on every admin page): new in
    # Django 5.2 and not yet in its zh_Hans catalogue, so they stayed English.
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
)

# Django's zh_Hans catalogue ends two DecimalField messages with an ASCII "." ("确认总共不超过
# 5 个数字.") where their sibling ("…小数点前不超过 %(max)s 位。") and every other sentence
# take the full-width "。". Ours corrects them, word for word otherwise. Plural messages: a
# lazy ngettext (never evaluated) is how `makemessages` extracts and keeps a plural entry.
DJANGO_PLURAL_MESSAGES = (
    ngettext_lazy(
        "Ensure that there are no more than %(max)s digit in total.",
        "Ensure that there are no more than %(max)s digits in total.",
        "max",
    ),
    ngettext_lazy(
        "Ensure that there are no more than %(max)s decimal place.",
        "Ensure that there are no more than %(max)s decimal places.",
        "max",
    ),
)
