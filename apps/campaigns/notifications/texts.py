"""The kinds of notification, with their labels, and portal notifications in the reader's
language: a registry of kinds, each with its label and (staff notifications) its renderer.

A notification row stores its title and body as they were sent, in the project language
(`LANGUAGE_CODE`): that is the record, and what an SMS or WeChat message to a member said. A
portal notification to a staff user (an owner's device alert, a supplier's new purchase order)
is read later, by someone who may read English; so its writer also stores the message's
parameters in `payload` and registers a renderer for its `kind`, and every reader (the inbox
pages, the admin) shows `Notification.display_title` / `display_body`: the renderer's words in
the language active when read.

A renderer is a pure function of the payload: `(payload) -> (title, body)`, with gettext, no
database. It raises KeyError (or TypeError / ValueError) when the payload lacks its parameters —
a row written before its kind had a renderer — and the stored text is shown instead. A kind with
no renderer (messages to members, sent once as text) always shows its stored text.

Every kind is registered, with its label (what the admin's kind column, filter and page call
it) and, for a staff notification, its renderer: `notification_kind_register` is the one list of
kinds. The writing apps register theirs in their `AppConfig.ready()` (this package imports no
app above it: procurement and devices import notifications, never the other way round), and use
the same renderer, under `translation.override(settings.LANGUAGE_CODE)`, for the text they store.
The services refuse to write a kind nobody registered (`notification_kind_check`): a new kind
fails its own tests until it has a label, so the admin never shows a bare code.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise

logger = logging.getLogger(__name__)

Renderer = Callable[[Mapping[str, Any]], tuple[str, str]]
StrOrPromise = str | Promise


@dataclass(frozen=True)
class NotificationKind:
    """A kind of notification: its code (`Notification.kind`), its label (lazy, read in the
    active language) and, for a staff notification worded per reader, its renderer (None: a
    message to members, sent once as text)."""

    code: str
    label: StrOrPromise
    renderer: Renderer | None = None


_kinds: dict[str, NotificationKind] = {}


def notification_kind_register(
    *, kind: str, label: StrOrPromise, renderer: Renderer | None = None
) -> None:
    """Register `kind` with its label and (staff notifications) its renderer. Registering the
    same again (a second `ready()`, a reloaded module) is harmless; a different label or
    renderer for a kind already taken is a programming error."""
    if not str(label).strip():
        raise ValueError(f"notification kind {kind!r} needs a label")
    entry = NotificationKind(code=kind, label=label, renderer=renderer)
    current = _kinds.get(kind)
    if current is not None and _identity(current) != _identity(entry):
        raise ValueError(f"notification kind {kind!r} is already registered: {current!r}")
    _kinds[kind] = entry


def _identity(entry: NotificationKind) -> tuple[str, str]:
    renderer = entry.renderer
    name = f"{renderer.__module__}.{renderer.__qualname__}" if renderer is not None else ""
    return str(entry.label), name


def notification_kinds() -> list[NotificationKind]:
    """Every registered kind, by code."""
    return [_kinds[code] for code in sorted(_kinds)]


def notification_kind_label(kind: str) -> str:
    """The kind's label in the active language; an unregistered kind (a row of a kind since
    retired and unregistered) shows its code."""
    entry = _kinds.get(kind)
    return str(entry.label) if entry is not None else kind


def notification_kind_check(kind: str, *, to_staff: bool = False) -> None:
    """Raise ValueError unless `kind` is registered, and (`to_staff`: a portal notification
    to a user) has a renderer, so that each reader sees it in their language. The writing
    services call this for every row: a new kind fails its first test until it is
    registered."""
    entry = _kinds.get(kind)
    if entry is None:
        raise ValueError(
            f"notification kind {kind!r} is not registered: register it with its label (and, "
            "for a staff notification, its renderer) with notification_kind_register() in its "
            "app's AppConfig.ready()"
        )
    if to_staff and entry.renderer is None:
        raise ValueError(
            f"notification kind {kind!r} is written to a user's portal inbox but has no "
            "renderer: register one so that each reader sees it in their language"
        )


def notification_has_renderer(kind: str) -> bool:
    entry = _kinds.get(kind)
    return entry is not None and entry.renderer is not None


def notification_texts(*, kind: str, payload: object, title: str, body: str) -> tuple[str, str]:
    """(title, body) in the active language: the kind's renderer applied to `payload`, or the
    stored `title` / `body` when the kind has no renderer or the payload lacks its parameters
    (an old row)."""
    entry = _kinds.get(kind)
    renderer = entry.renderer if entry is not None else None
    if renderer is None or not isinstance(payload, Mapping):
        return title, body
    try:
        return renderer(payload)
    except KeyError:
        # A row written before its kind stored this parameter: its stored text, as sent.
        return title, body
    except (TypeError, ValueError):
        # A parameter of the wrong shape is a bug in a writer or a renderer, not an old row:
        # the reader still gets the stored text, and the log says which kind failed.
        logger.warning("notification %s: renderer failed, stored text shown", kind, exc_info=True)
        return title, body
