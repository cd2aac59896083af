"""The store page's figures (the last 7 days' KPIs, the recent orders, low stock), rendered once
and kept in the "portal" cache (Redis in production, settings.CACHES) for a short while, so
owners reloading their pages do not each run the same three queries and render the same rows.

How fresh the figures are:
- A new order (`order_create`) and every stock movement (`stock_move`: sales, receiving, loss,
  counts) drop the store's figures when their transaction commits: the next load of the page
  shows them.
- Any other change the figures show (sales or stock imports, the nightly KPI snapshots, a
  refund, a member renamed or merged) shows within `STORE_FIGURES_TTL` seconds (30). So does a
  drop that raced a render of the figures read just before the change committed.
- Device alerts and new orders also reach an open page at once through its websocket
  (linli.realtime); nothing on that path is cached.

Access is never cached: the view checks it on every request before asking for the figures, and
the key holds every flag that changes what the fragment shows (language, member names, low
stock). The cache is a shortcut, never a dependency: when it fails (Redis down) the page renders
from the database, the failure is logged, and a drop that failed is made good by the TTL.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.db import transaction

STORE_FIGURES_TTL = 30  # seconds
CACHE_ALIAS = "portal"

logger = logging.getLogger(__name__)


def store_figures_key(*, store_id: int, language: str, with_members: bool, with_stock: bool) -> str:
    return f"store-figures:{store_id}:{language}:{int(with_members)}{int(with_stock)}"


def _store_figures_keys(store_id: int) -> list[str]:
    return [
        store_figures_key(store_id=store_id, language=code, with_members=members, with_stock=stock)
        for code, _name in settings.LANGUAGES
        for members in (False, True)
        for stock in (False, True)
    ]


def store_figures(
    *,
    store_id: int,
    language: str,
    with_members: bool,
    with_stock: bool,
    render: Callable[[], str],
) -> str:
    """The store's figures as HTML: from the cache, or `render()` (which reads the database)
    stored for `STORE_FIGURES_TTL` seconds. The caller has checked access."""
    key = store_figures_key(
        store_id=store_id, language=language, with_members=with_members, with_stock=with_stock
    )
    cache = caches[CACHE_ALIAS]
    try:
        html = cache.get(key)
    except Exception:  # noqa: BLE001 — a cache outage must not fail the page
        logger.warning("store figures cache unreachable; rendering store %s", store_id)
        return render()
    if html is not None:
        return html
    html = render()
    try:
        cache.set(key, html, STORE_FIGURES_TTL)
    except Exception:  # noqa: BLE001
        logger.warning("store figures cache unreachable; not keeping store %s", store_id)
    return html


def _forget(store_id: int) -> None:
    try:
        caches[CACHE_ALIAS].delete_many(_store_figures_keys(store_id))
    except Exception:  # noqa: BLE001 — the TTL ends stale figures
        logger.warning("store figures cache unreachable; store %s may lag 30 s", store_id)


def store_figures_forget(*, store_id: int) -> None:
    """Drop the store's cached figures when the current transaction commits (at once outside
    one). Never raises: a failed drop is logged and the figures expire within the TTL."""

    def forget() -> None:  # a function, not a partial: robust on_commit logs __qualname__
        _forget(store_id)

    transaction.on_commit(forget, robust=True)
