"""The audit trail's admin (django-auditlog's), with entries about members kept to staff who
may see members: an entry on a member names the member and holds its changed fields
(docs/access.md, member data)."""

from __future__ import annotations

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from auditlog.render import get_field_verbose_name
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext

from linli.admin_helpers import may_see_members


class MemberAwareLogEntryAdmin(LogEntryAdmin):
    @admin.display(description=_("Correlation ID"))
    def cid_url(self, obj: LogEntry) -> str:
        # auditlog's own label is a plain string; this one is translated (linli.vendor_apps).
        return super().cid_url(obj)

    @admin.display(description=_("User"))
    def user_url(self, obj: LogEntry) -> str:
        # auditlog writes a change made by no user (a job, a command) as a plain "system".
        return super().user_url(obj) if obj.actor else _("system")

    @admin.display(description=_("Changes"))
    def msg_short(self, obj: LogEntry) -> str:
        # auditlog's "2 changes: name, code" is plain English with field codes; the same with
        # the fields' names, counted by ngettext.
        if obj.action in (LogEntry.Action.DELETE, LogEntry.Action.ACCESS):
            return ""
        changes = obj.changes_dict
        fields = pgettext("list separator", ", ").join(
            get_field_verbose_name(obj, field) for field in changes
        )
        return ngettext(
            "%(count)d change: %(fields)s", "%(count)d changes: %(fields)s", len(changes)
        ) % {"count": len(changes), "fields": Truncator(fields).chars(60)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[LogEntry]:
        entries = super().get_queryset(request)
        if may_see_members(request.user):
            return entries
        return entries.exclude(content_type__app_label="customers", content_type__model="member")


# auditlog registers its admin first (it is listed before the apps in INSTALLED_APPS).
if admin.site.is_registered(LogEntry):
    admin.site.unregister(LogEntry)
admin.site.register(LogEntry, MemberAwareLogEntryAdmin)
