"""DRF authentication for store terminals: `Authorization: Terminal <token>`.

A successful request has `request.auth` = the `StoreTerminal` (with its store) and
`request.user` = AnonymousUser: a till is not a person and gets no user permissions.
The mechanics (hash lookup, 401 with a challenge) are `linli.api_auth`'s.

A store that is not open for trade (`Store.is_trading`: preparing, suspended or closed) does not
sell: its terminals may still read (GET), but every write — a sale, a group-buy join, a comment,
a viewer report, a batch of tracking events — is refused here, in `IsStoreTerminal`, with 409
`store_closed`, before the view runs. One exception keeps a till's retry queue honest: a view
may define `terminal_replay(request) -> bool`, true when the request repeats one recorded while
the store was open (the same idempotency key); such a request goes on to the view, which answers
it as any retry (the first result, or 409 `idempotency_key_reused`) and writes nothing new.
Such a view reads the body's key with `replay_key`, before the view's serializer has checked it.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import status
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from apps.stores.models import Store, StoreTerminal
from linli.api_auth import HashedTokenAuthentication, HashedTokenScheme
from linli.errors import ApiError, ErrorItem

STORE_CLOSED = "store_closed"


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


def store_closed_error(store: Store) -> ApiError:
    """409 `store_closed`: the store is not open for trade (its status in `store_status`)."""
    detail = gettext(
        "Store %(store)s is not open for trade (%(status)s): its terminals cannot record "
        "sales, group-buy joins or other changes."
    ) % {"store": store.code, "status": store.get_status_display()}
    return ApiError(
        status_code=status.HTTP_409_CONFLICT,
        code=STORE_CLOSED,
        detail=detail,
        errors=[
            ErrorItem(
                index=None,
                field="",
                code=STORE_CLOSED,
                message=detail,
                extra={"store_status": store.status},
            )
        ],
    )


def replay_key(request: Request) -> str | None:
    """The body's `idempotency_key` for `terminal_replay` to look up, or None when it cannot be
    the key of a recorded request: not text, or text with a NUL character (PostgreSQL text
    cannot hold one: the lookup would fail, a 500). The permission runs before the view's
    serializer, which refuses such a key (400) when the store is open."""
    key = request.data.get("idempotency_key") if hasattr(request.data, "get") else None
    return key if isinstance(key, str) and "\x00" not in key else None


class IsStoreTerminal(BasePermission):
    """Only requests authenticated by an active store terminal token; a write only while the
    terminal's store is open for trade (else 409 `store_closed`), save the view's replays of
    what was recorded before (`terminal_replay`, see the module docstring)."""

    def has_permission(self, request: Request, view: object) -> bool:
        terminal = request.auth
        if not isinstance(terminal, StoreTerminal):
            return False
        if request.method in SAFE_METHODS or terminal.store.is_trading:
            return True
        replay = getattr(view, "terminal_replay", None)
        if replay is not None and replay(request):
            return True
        raise store_closed_error(terminal.store)


class TerminalAuthenticationScheme(HashedTokenScheme):
    target_class = "apps.stores.terminal_auth.TerminalAuthentication"
    name = "terminalToken"
    description = "Store terminal token, issued in the admin: `Terminal <token>`."
