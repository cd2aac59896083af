"""Portal notifications in the reader's language: a registry of renderers by `kind`.

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

The writing apps register their renderers in their `AppConfig.ready()` (this package imports no
app above it: procurement and devices import notifications, never the other way round), and use
the same renderer, under `translation.override(settings.LANGUAGE_CODE)`, for the text they store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

logger = logging.getLogger(__name__)

Renderer = Callable[[Mapping[str, Any]], tuple[str, str]]

_renderers: dict[str, Renderer] = {}


def notification_renderer_register(*, kind: str, renderer: Renderer) -> None:
    """Render notifications of `kind` from their payload when read. Registering the same
    renderer again (a second `ready()`, a reloaded module) is harmless; a different renderer
    for a kind already taken is a programming error."""
    current = _renderers.get(kind)
    if current is not None and _name(current) != _name(renderer):
        raise ValueError(f"notification kind {kind!r} already has a renderer: {current!r}")
    _renderers[kind] = renderer


def _name(renderer: Renderer) -> str:
    return f"{renderer.__module__}.{renderer.__qualname__}"


def notification_has_renderer(kind: str) -> bool:
    return kind in _renderers


def notification_texts(*, kind: str, payload: object, title: str, body: str) -> tuple[str, str]:
    """(title, body) in the active language: the kind's renderer applied to `payload`, or the
    stored `title` / `body` when the kind has no renderer or the payload lacks its parameters
    (an old row)."""
    renderer = _renderers.get(kind)
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
