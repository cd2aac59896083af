"""DRF authentication for store terminals: `Authorization: Terminal <token>`.

A successful request has `request.auth` = the `StoreTerminal` (with its store) and
`request.user` = AnonymousUser: a till is not a person and gets no user permissions.
The mechanics (hash lookup, 401 with a challenge) are `linli.api_auth`'s.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from apps.stores.models import StoreTerminal
from linli.api_auth import HashedTokenAuthentication, HashedTokenScheme


class TerminalAuthentication(HashedTokenAuthentication):
    keyword = "Terminal"
    malformed_header_message = _("Invalid terminal header: use “Terminal <token>”.")
    invalid_characters_message = _("Invalid terminal token.")
    unknown_token_message = _("Invalid terminal token.")
    revoked_message = _("This terminal token has been revoked.")
    # last_used_at is for humans ("is this till still posting?"): one write a minute is plenty.
    last_used_field = "last_used_at"

    def get_queryset(self) -> QuerySet[StoreTerminal]:
        return StoreTerminal.objects.select_related("store", "store__region")


class IsStoreTerminal(BasePermission):
    """Only requests authenticated by an active store terminal token."""

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.auth, StoreTerminal)


class TerminalAuthenticationScheme(HashedTokenScheme):
    target_class = "apps.stores.terminal_auth.TerminalAuthentication"
    name = "terminalToken"
    description = "Store terminal token, issued in the admin: `Terminal <token>`."
