"""The audit trail's admin (django-auditlog's), with entries about members kept to staff who
may see members: an entry on a member names the member and holds its changed fields
(docs/access.md, member data)."""

from __future__ import annotations

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from linli.admin_helpers import may_see_members


class MemberAwareLogEntryAdmin(LogEntryAdmin):
    @admin.display(description=_("Correlation ID"))
    def cid_url(self, obj: LogEntry) -> str:
        # auditlog's own label is a plain string; this one is translated (linli.vendor_apps).
        return super().cid_url(obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet[LogEntry]:
        entries = super().get_queryset(request)
        if may_see_members(request.user):
            return entries
        return entries.exclude(content_type__app_label="customers", content_type__model="member")


# auditlog registers its admin first (it is listed before the apps in INSTALLED_APPS).
if admin.site.is_registered(LogEntry):
    admin.site.unregister(LogEntry)
admin.site.register(LogEntry, MemberAwareLogEntryAdmin)
