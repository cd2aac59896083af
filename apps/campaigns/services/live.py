"""The live dashboard's feeds: a versioned snapshot per broadcast (and one HQ overview), sent to
the websockets as coalesced updates — at most one message per feed every `window` (~300 ms)
across every process, and never losing the last change. Design: docs/live-dashboard.md.

Every change (a join, a settlement, a comment, a viewers report) ends with
`broadcast_changed(broadcast_id=...)`, which acts after commit and never raises:

1. INCR the feed's change counter (the snapshot version) in Redis;
2. try to take the feed's window lock (SET NX PX window). The winner flushes at once (leading
   edge: computes the snapshot, swaps it in as the feed's latest, sends it) and arms a timer for
   the window's end in its own process. A loser does nothing more: its change is "dirty" (the
   counter is ahead of the latest snapshot's version) and the holder's timer will see it.
   Steps 1 and 2 for both feeds (the broadcast's and the HQ overview) are one Redis round trip
   (a script), so a change that opens no window costs its caller just that.
3. at the window's end the holder releases its lock (only if still its own) and THEN compares the
   counter with the latest snapshot's version: if dirty, it takes the lock again and flushes (the
   trailing edge carries the final totals). A change that raced with this either INCRed before
   the comparison (seen) or tries the lock after the release (wins it, flushes itself).

State lives in Redis when `REDIS_URL` is set (shared by web and worker processes), else in this
process (the embedded single-process mode). A dead process can strand a dirty feed; the next
change, connect or resync flushes it (`live_feed_current` repairs before answering).

The windows' ends run on one thread per process (started once, not per window), which keeps its
channel-layer event loop (and so its Redis connection) from one send to the next.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, transaction
from django.utils import timezone as django_timezone

from apps.campaigns.models import Broadcast
from apps.campaigns.selectors import live as live_selectors
from linli import realtime

logger = logging.getLogger(__name__)

OVERVIEW_KEY = "overview"
KEY_TTL_SECONDS = 2 * 24 * 3600
UPDATE_EVENT = "live.update"
SNAPSHOT_EVENT = "live.snapshot"
WINDOW_THREAD_NAME = "live-dashboard-window"


def _setting(name: str, default: str) -> str:
    """A setting (linli/settings.py reads it from the environment), else the default."""
    value = getattr(settings, name, None)
    return str(value) if value is not None else default


def live_window_seconds() -> float:
    """The coalescing window: LIVE_DASHBOARD_WINDOW_MS, 300 ms by default."""
    return float(_setting("LIVE_DASHBOARD_WINDOW_MS", "300")) / 1000


def live_broadcast_group(broadcast_id: int) -> str:
    return realtime.group_name("broadcast", broadcast_id, "live")


def live_overview_group() -> str:
    return realtime.group_name("broadcasts", "live", "overview")


# --- shared state ----------------------------------------------------------------------------

# Store the snapshot only if its version is newer than the stored one; return the one replaced
# ("" when none) or nil when the stored one is newer or equal (this flush lost a race).
_SWAP_IF_NEWER = """
local old = redis.call('GET', KEYS[1])
if old then
  local old_version = tonumber(cjson.decode(old)['version'])
  if old_version >= tonumber(ARGV[1]) then return nil end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if old then return old end
return ''
"""
_RELEASE_IF_OWNED = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# For each feed, KEYS holds (its change counter, its window lock): INCR and refresh the counter,
# then try the lock (SET NX PX). Returns one flag per feed: 1 when this call took its lock.
_TOUCH = """
local taken = {}
for index = 1, #KEYS, 2 do
  redis.call('INCR', KEYS[index])
  redis.call('EXPIRE', KEYS[index], ARGV[1])
  if redis.call('SET', KEYS[index + 1], ARGV[3], 'NX', 'PX', ARGV[2]) then
    taken[#taken + 1] = 1
  else
    taken[#taken + 1] = 0
  end
end
return taken
"""


class _RedisState:
    """The feeds' counters, locks and latest snapshots in Redis (all processes share them)."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self.swap = self.client.register_script(_SWAP_IF_NEWER)
        self.release_script = self.client.register_script(_RELEASE_IF_OWNED)
        self.touch_script = self.client.register_script(_TOUCH)

    def touch(self, feeds: list[tuple[str, str]], token: str, seconds: float) -> list[bool]:
        keys = [key for pair in feeds for key in pair]
        taken = self.touch_script(
            keys=keys, args=[KEY_TTL_SECONDS, max(1, int(seconds * 1000)), token]
        )
        return [bool(flag) for flag in taken]

    def get_int(self, key: str) -> int:
        value = self.client.get(key)
        return int(value) if value is not None else 0

    def try_lock(self, key: str, token: str, seconds: float) -> bool:
        return bool(self.client.set(key, token, nx=True, px=max(1, int(seconds * 1000))))

    def release(self, key: str, token: str) -> None:
        self.release_script(keys=[key], args=[token])

    def get_text(self, key: str) -> str | None:
        value = self.client.get(key)
        return value.decode() if value is not None else None

    def swap_if_newer(self, key: str, version: int, text: str) -> str | None:
        old = self.swap(keys=[key], args=[version, text, KEY_TTL_SECONDS])
        return None if old is None else old.decode()


class _LocalState:
    """The same operations inside one process (no Redis configured: one web process)."""

    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.values: dict[str, Any] = {}
        self.locks: dict[str, tuple[str, float]] = {}

    def incr(self, key: str) -> int:
        with self.mutex:
            self.values[key] = int(self.values.get(key, 0)) + 1
            return self.values[key]

    def touch(self, feeds: list[tuple[str, str]], token: str, seconds: float) -> list[bool]:
        taken = []
        for counter, lock in feeds:
            self.incr(counter)
            taken.append(self.try_lock(lock, token, seconds))
        return taken

    def get_int(self, key: str) -> int:
        with self.mutex:
            return int(self.values.get(key, 0))

    def try_lock(self, key: str, token: str, seconds: float) -> bool:
        with self.mutex:
            held = self.locks.get(key)
            if held is not None and held[1] > time.monotonic():
                return False
            self.locks[key] = (token, time.monotonic() + seconds)
            return True

    def release(self, key: str, token: str) -> None:
        with self.mutex:
            if self.locks.get(key, ("", 0.0))[0] == token:
                del self.locks[key]

    def get_text(self, key: str) -> str | None:
        with self.mutex:
            return self.values.get(key)

    def swap_if_newer(self, key: str, version: int, text: str) -> str | None:
        with self.mutex:
            old = self.values.get(key)
            if old is not None and json.loads(old)["version"] >= version:
                return None
            self.values[key] = text
            return old or ""


_states: dict[str, _RedisState | _LocalState] = {}
_states_mutex = threading.Lock()


def _state() -> _RedisState | _LocalState:
    url = settings.REDIS_URL or ""
    with _states_mutex:
        if url not in _states:
            _states[url] = _RedisState(url) if url else _LocalState()
        return _states[url]


def _key(feed: str, part: str) -> str:
    prefix = _setting("LIVE_DASHBOARD_PREFIX", "linli")
    return f"{prefix}:live:{feed}:{part}"


# --- feeds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Feed:
    """One coalesced stream: a broadcast's dashboard or the HQ overview."""

    key: str
    group: str
    compute: Callable[[int], dict[str, Any] | None]


def _broadcast_feed(broadcast_id: int) -> _Feed:
    def compute(version: int) -> dict[str, Any] | None:
        broadcast = Broadcast.objects.select_related("store").filter(pk=broadcast_id).first()
        if broadcast is None:
            return None
        return live_selectors.broadcast_snapshot(broadcast=broadcast, version=version)

    return _Feed(str(broadcast_id), live_broadcast_group(broadcast_id), compute)


def _overview_feed() -> _Feed:
    def compute(version: int) -> dict[str, Any]:
        return live_selectors.live_overview(stores=None, version=version)

    return _Feed(OVERVIEW_KEY, live_overview_group(), compute)


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)


def _message(previous_text: str, snapshot: dict[str, Any]) -> dict[str, Any]:
    """An update carrying only the top-level parts that changed since the snapshot it replaced,
    with both versions; or the whole snapshot when there was none."""
    sent_at = time.time()
    if not previous_text:
        return {"kind": "snapshot", "sent_at": sent_at, "snapshot": snapshot}
    previous = json.loads(previous_text)
    changes = {
        name: value
        for name, value in snapshot.items()
        if name != "version" and previous.get(name) != value
    }
    return {
        "kind": "update",
        "sent_at": sent_at,
        "version": snapshot["version"],
        "previous_version": previous["version"],
        "changes": changes,
    }


def _send(group: str, event: str, payload: dict[str, Any]) -> None:
    """Sent at once: a flush runs after the change committed (on commit or from a timer)."""
    try:
        realtime.broadcast(group, event=event, payload=payload)
    except Exception as error:  # the payload is built here; never fail the caller
        logger.warning("live: send to %s failed: %s: %s", group, type(error).__name__, error)


def _flush(feed: _Feed) -> dict[str, Any] | None:
    """Compute the feed's snapshot once, make it the latest (if no newer one is there) and send
    the update to the group. Returns the snapshot (None when the broadcast is gone)."""
    state = _state()
    # Read the counter first: data committed before it is in the snapshot; a change after it
    # leaves the counter ahead, so the feed stays dirty and the trailing edge flushes again.
    version = state.get_int(_key(feed.key, "version"))
    snapshot = feed.compute(version)
    if snapshot is None:
        return None
    text = _dumps(snapshot)
    snapshot = json.loads(text)
    previous_text = state.swap_if_newer(_key(feed.key, "snapshot"), version, text)
    if previous_text is None:
        return snapshot  # a newer snapshot is already the latest (and was sent)
    _send(feed.group, UPDATE_EVENT, _message(previous_text, snapshot))
    return snapshot


def _is_dirty(feed: _Feed) -> bool:
    """A change was counted after the latest snapshot was made (a feed that never changed and
    was never sent is not dirty: it has nothing to announce)."""
    state = _state()
    latest = state.get_text(_key(feed.key, "snapshot"))
    latest_version = json.loads(latest)["version"] if latest else 0
    return state.get_int(_key(feed.key, "version")) > latest_version


class _WindowThread:
    """One daemon thread per process that runs the functions given to `call_later` when due, in
    order. Started by the first call (and again in a forked child, where the parent's thread
    does not exist). It sends on an event loop of its own (`realtime.keep_event_loop`); its
    database connection is closed after each function, as a request's is: a connection kept
    between windows would outlive the data it was opened for (a test database, a failover)."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.queue: list[tuple[float, int, Callable[[], None]]] = []
        self.order = itertools.count()
        self.thread: threading.Thread | None = None
        self.pid = 0

    def call_later(self, delay: float, function: Callable[[], None]) -> None:
        with self.condition:
            if self.thread is None or self.pid != os.getpid() or not self.thread.is_alive():
                self.pid = os.getpid()
                self.thread = threading.Thread(
                    target=self._run, name=WINDOW_THREAD_NAME, daemon=True
                )
                self.thread.start()
            due = time.monotonic() + max(0.0, delay)
            heapq.heappush(self.queue, (due, next(self.order), function))
            self.condition.notify()

    def _next(self) -> Callable[[], None]:
        with self.condition:
            while True:
                if not self.queue:
                    self.condition.wait()
                    continue
                wait = self.queue[0][0] - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self.queue)[2]
                self.condition.wait(wait)

    def _run(self) -> None:
        realtime.keep_event_loop()
        while True:
            function = self._next()
            try:
                function()
            except Exception as error:  # the functions log their own; never end the thread
                logger.warning("live: window task failed: %s: %s", type(error).__name__, error)
            finally:
                connections.close_all()


_window_thread = _WindowThread()


def _window_thread_reset() -> None:
    """In a forked child: the parent's thread, queue and lock state are not this process's."""
    global _window_thread
    _window_thread = _WindowThread()


os.register_at_fork(after_in_child=_window_thread_reset)


def _run_later(delay: float, function: Callable[[], None]) -> None:
    """Run `function` after `delay` seconds on this process's window thread."""
    _window_thread.call_later(delay, function)


# Replaceable by tests (a manual clock); the default is a timer thread in this process.
scheduler: Callable[[float, Callable[[], None]], None] = _run_later


def _open_window(feed: _Feed) -> bool:
    """Take the feed's window lock; if taken, flush now and arm the trailing edge. False when
    another process holds the window (it will flush this change at its end)."""
    token = uuid.uuid4().hex
    opened = time.monotonic()
    if not _state().try_lock(_key(feed.key, "lock"), token, live_window_seconds()):
        return False
    _window_opened(feed, token, opened)
    return True


def _window_opened(feed: _Feed, token: str, opened: float) -> None:
    """This process took the feed's window lock (with `token`) at `opened`: flush now and arm
    the window's end."""
    try:
        _flush(feed)
    finally:
        # The window runs from the lock, not from the end of the flush: one message per window
        # whatever the flush costs, and a change waits at most one window.
        remaining = max(0.0, live_window_seconds() - (time.monotonic() - opened))
        scheduler(remaining, lambda: _window_ended(feed, token))


def _window_ended(feed: _Feed, token: str) -> None:
    try:
        _state().release(_key(feed.key, "lock"), token)
        if _is_dirty(feed):
            _open_window(feed)
    except Exception as error:
        logger.warning("live: trailing flush of %s failed: %s: %s", feed.key, type(error), error)


def broadcast_changed(*, broadcast_id: int) -> None:
    """Announce that a broadcast's live figures changed (a join, a settlement, a comment, its
    status, its viewers). Acts after the surrounding transaction commits (at once outside one);
    coalesced to at most one message per window per broadcast and for the HQ overview, the last
    change always followed by a message with the final figures. Never raises: a Redis or channel
    layer that cannot be reached is logged and the notice dropped (pages resync on reconnect)."""

    def changed() -> None:
        feeds = (_broadcast_feed(broadcast_id), _overview_feed())
        token = uuid.uuid4().hex
        opened = time.monotonic()
        try:
            taken = _state().touch(
                [(_key(feed.key, "version"), _key(feed.key, "lock")) for feed in feeds],
                token,
                live_window_seconds(),
            )
        except Exception as error:
            logger.warning(
                "live: change of %s dropped: %s: %s", broadcast_id, type(error).__name__, error
            )
            return
        for feed, lock_taken in zip(feeds, taken, strict=True):
            if not lock_taken:
                continue
            try:
                _window_opened(feed, token, opened)
            except Exception as error:
                logger.warning(
                    "live: change of %s dropped: %s: %s", feed.key, type(error).__name__, error
                )

    transaction.on_commit(changed)


def _viewers_went_stale(snapshot: dict[str, Any], now: dt.datetime) -> bool:
    """The snapshot shows a viewers count as current (`viewers_stale` false) whose report has
    since aged past the threshold: time alone made it stale, no change was announced."""
    rows = snapshot.get("broadcasts")
    for row in rows if rows is not None else [snapshot]:
        reported_at = row.get("viewers_reported_at")
        if row.get("viewers_stale") or not reported_at:
            continue
        # Overview rows are live broadcasts; a broadcast snapshot names its status.
        status = row.get("status", Broadcast.Status.LIVE)
        if live_selectors.viewers_report_stale(
            status=status, reported_at=dt.datetime.fromisoformat(reported_at), now=now
        ):
            return True
    return False


def _changed_now(feed: _Feed) -> None:
    """Count a change of this feed and flush it if its window is free (else the window's
    holder flushes it at the window's end): `broadcast_changed` for one feed, at once."""
    token = uuid.uuid4().hex
    opened = time.monotonic()
    [taken] = _state().touch(
        [(_key(feed.key, "version"), _key(feed.key, "lock"))], token, live_window_seconds()
    )
    if taken:
        _window_opened(feed, token, opened)


def _current(feed: _Feed) -> dict[str, Any] | None:
    state = _state()
    if _is_dirty(feed):
        _open_window(feed)  # repairs a feed whose window holder died; no-op if one is open
    text = state.get_text(_key(feed.key, "snapshot"))
    if text is None:
        return _flush(feed)
    snapshot = json.loads(text)
    if not _viewers_went_stale(snapshot, django_timezone.now()):
        return snapshot
    # A viewers report aged past the threshold since the snapshot was made: a new version
    # says so to every socket of the feed (and to this caller).
    _changed_now(feed)
    text = state.get_text(_key(feed.key, "snapshot"))
    return json.loads(text) if text is not None else snapshot


def live_broadcast_current(*, broadcast_id: int) -> dict[str, Any] | None:
    """The broadcast's latest snapshot, as last sent to its group (so the updates that follow
    chain onto its version); computed now if there is none. None for an unknown broadcast.
    Reads the database when the feed is dirty or new: call from a sync context."""
    return _current(_broadcast_feed(broadcast_id))


def live_overview_current() -> dict[str, Any]:
    """The HQ overview's latest snapshot (every live broadcast), as last sent to its group."""
    return _current(_overview_feed()) or {}


def live_viewers_went_stale(*, now: dt.datetime | None = None) -> int:
    """Mark, on the dashboards, the viewers counts that went stale (a live broadcast whose last
    report is older than LIVE_VIEWERS_STALE_SECONDS): nothing is announced when a platform
    stops reporting, so every minute (linli/schedules.py) the feeds of those broadcasts and the
    overview are re-read, and one whose latest snapshot still shows the count as current is
    flushed anew (`viewers_stale` true), reaching the open sockets. Idempotent: a feed already
    showing it stale is left alone. Returns the number of live broadcasts with a stale count."""
    now = now or django_timezone.now()
    threshold = now - dt.timedelta(seconds=live_selectors.viewers_stale_after())
    stale = list(
        Broadcast.objects.filter(
            status=Broadcast.Status.LIVE, viewers_reported_at__lt=threshold
        ).values_list("pk", flat=True)
    )
    for broadcast_id in stale:
        _current(_broadcast_feed(broadcast_id))
    if stale:
        _current(_overview_feed())
    return len(stale)
