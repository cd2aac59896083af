"""Admin pieces shared by every app: phone columns that mask unless the viewer may see phones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from linli.phones import phone_for_viewer

PHONE_PERMISSION = "customers.view_phone"


def request_cached(request: HttpRequest, key: str, build: Callable[[], Any]) -> Any:
    """One object per request and key.

    The admin builds a form from `get_fields()` and excludes `get_readonly_fields()`, calling
    them separately and comparing callables by identity: a column rebuilt on every call would
    be reported as an unknown form field. Caching on the request keeps the viewer out of the
    shared ModelAdmin instance and the callable stable within the request.
    """
    cache = request.__dict__.setdefault("_linli_admin_columns", {})
    if key not in cache:
        cache[key] = build()
    return cache[key]


def phone_column(
    request: HttpRequest, *, field: str = "phone", description: Any = None
) -> Callable[[Any], str]:
    """A list_display / readonly callable bound to this request's user (ModelAdmin instances
    are shared between requests, so the viewer must not be stored on them)."""
    user = request.user

    def build() -> Callable[[Any], str]:
        def column(obj: Any) -> str:
            return phone_for_viewer(getattr(obj, field), user=user)

        column.short_description = description or _("phone")  # type: ignore[attr-defined]
        column.admin_order_field = field  # type: ignore[attr-defined]
        column.__name__ = f"{field}_shown"
        return column

    return request_cached(request, f"phone_column:{field}", build)


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
