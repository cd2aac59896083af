"""Admin pieces shared by every app: phone columns that mask unless the viewer may see phones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from linli.phones import phone_for_viewer

PHONE_PERMISSION = "customers.view_phone"


def phone_column(
    request: HttpRequest, *, field: str = "phone", description: Any = None
) -> Callable[[Any], str]:
    """A list_display callable bound to this request's user (ModelAdmin instances are shared
    between requests, so the viewer must not be stored on them)."""
    user = request.user

    def column(obj: Any) -> str:
        return phone_for_viewer(getattr(obj, field), user=user)

    column.short_description = description or _("phone")  # type: ignore[attr-defined]
    column.admin_order_field = field  # type: ignore[attr-defined]
    column.__name__ = f"{field}_shown"
    return column


class PhoneMaskingAdminMixin:
    """Lists show `phone_field` masked, and the change form shows it read-only and masked, for
    staff without `customers.view_phone`."""

    phone_field = "phone"

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        columns = list(super().get_list_display(request))  # type: ignore[misc]
        return [
            phone_column(request, field=self.phone_field) if name == self.phone_field else name
            for name in columns
        ]

    def _may_see_phone(self, request: HttpRequest) -> bool:
        return request.user.has_perm(PHONE_PERMISSION)

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> list[str]:
        excluded = list(super().get_exclude(request, obj) or [])  # type: ignore[misc]
        if obj is not None and not self._may_see_phone(request):
            excluded.append(self.phone_field)
        return excluded

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        readonly = list(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        if obj is not None and not self._may_see_phone(request):
            readonly.append(phone_column(request, field=self.phone_field))
        return readonly
