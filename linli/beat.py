"""Exactly one acting `celery beat`, however many are started: a leader lock for the scheduler.

`LeaderDatabaseScheduler` is django-celery-beat's DatabaseScheduler that sends due tasks only
while it holds the beat lock; `CELERY_BEAT_SCHEDULER` names it, so every `celery -A linli beat`
uses it. A second beat (started by mistake, or a standby) logs once that it stands by, asks for
the lock every few seconds and sends nothing. When the leader dies its lock goes with it, and a
standby becomes leader at its next attempt; it re-reads the schedule from the database first,
where the leader records each send at once (`sync_every_tasks = 1`), so nothing it already sent
is sent again.

The lock lives where the schedule lives, so it works in both setups:
- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a connection of its own.
  The server drops it the moment the session ends (the process died or closed it); for a host
  that vanishes without closing its socket, TCP keepalives on both ends end the session within
  `CELERY_BEAT_LOCK_TTL` seconds. Needs a direct connection (not a transaction-pooling proxy).
- SQLite (the embedded default, one machine): an exclusive `flock` on a file next to the
  database file (`CELERY_BEAT_LOCK_FILE` to choose it), dropped by the kernel when the process
  ends.

Imports no app (linli is the floor).
"""

from __future__ import annotations

import datetime
import fcntl
import logging
import os
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, InterfaceError, connections
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

# pg_try_advisory_lock(int, int): "LNLI", 1 = celery beat. Advisory locks are per database.
ADVISORY_KEY = (0x4C4E4C49, 1)


class BeatLock(Protocol):
    description: str

    def acquire(self) -> bool:
        """Take the lock, or confirm it is still held; False when another process holds it
        (or the lock cannot be reached)."""

    def release(self) -> None: ...


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock on a connection of its own (not Django's
    per-thread connection, which beat closes and reopens at will)."""

    def __init__(self, *, alias: str = "default", ttl: int = 30) -> None:
        self.alias = alias
        self.ttl = max(ttl, 6)
        self.description = f"PostgreSQL advisory lock {ADVISORY_KEY}"
        self._db: Any = None
        self._held = False

    def _connect(self) -> Any:
        base = connections[self.alias]
        options = dict(base.settings_dict.get("OPTIONS", {}))
        # Client side: notice a dead server or network within the TTL instead of hanging.
        options.update(
            keepalives=1,
            keepalives_idle=max(self.ttl // 3, 1),
            keepalives_interval=max(self.ttl // 6, 1),
            keepalives_count=3,
            tcp_user_timeout=self.ttl * 1000,
        )
        options.pop("pool", None)
        db = type(base)({**base.settings_dict, "OPTIONS": options}, alias=f"{self.alias}-beat")
        db.ensure_connection()
        with db.cursor() as cursor:
            # Server side: end the session (releasing the lock) of a vanished host within the TTL.
            cursor.execute(f"SET tcp_keepalives_idle = {max(self.ttl // 3, 1)}")
            cursor.execute(f"SET tcp_keepalives_interval = {max(self.ttl // 6, 1)}")
            cursor.execute("SET tcp_keepalives_count = 3")
        return db

    def acquire(self) -> bool:
        try:
            if self._db is None:
                self._db = self._connect()
                self._held = False
            with self._db.cursor() as cursor:
                if self._held:
                    # Same live session ⇒ still ours; checked in pg_locks all the same.
                    cursor.execute(
                        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                        "AND classid = %s AND objid = %s AND objsubid = 2 "
                        "AND pid = pg_backend_pid() AND granted)",
                        list(ADVISORY_KEY),
                    )
                else:
                    cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", list(ADVISORY_KEY))
                self._held = bool(cursor.fetchone()[0])
        except (DatabaseError, InterfaceError) as error:
            logger.warning("beat lock: %s unreachable: %s", self.description, error)
            self._drop()
        return self._held

    def _drop(self) -> None:
        self._held = False
        if self._db is not None:
            try:
                self._db.close()
            except (DatabaseError, InterfaceError):
                pass
            self._db = None

    def release(self) -> None:
        # Closing the session releases the lock; nothing else runs on this connection.
        self._drop()


class FileLock:
    """An exclusive, non-blocking `flock` on a file (one machine: the SQLite setup). flock
    locks belong to the open file, so two schedulers even in one process exclude each other."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.description = f"file lock {path}"
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def beat_lock(alias: str = "default") -> BeatLock:
    """The lock for the configured database: advisory on PostgreSQL, a file on SQLite."""
    database = connections[alias].settings_dict
    ttl = getattr(settings, "CELERY_BEAT_LOCK_TTL", 30)
    if database["ENGINE"] == "django.db.backends.postgresql":
        return AdvisoryLock(alias=alias, ttl=ttl)
    if database["ENGINE"] == "django.db.backends.sqlite3":
        path = getattr(settings, "CELERY_BEAT_LOCK_FILE", "")
        if not path:
            name = str(database["NAME"])
            in_memory = name == ":memory:" or name.startswith("file:")
            path = (
                Path(settings.VAR_DIR) / "celery" / "beat.lock"
                if in_memory
                else Path(name).with_name(Path(name).name + ".beat.lock")
            )
        return FileLock(Path(path))
    raise ImproperlyConfigured(f"no beat leader lock for {database['ENGINE']}")


class LeaderDatabaseScheduler(DatabaseScheduler):
    """DatabaseScheduler that sends only while it holds the beat lock (see the module doc)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.lock = beat_lock()
        self.is_leader = False
        self._standby_logged = False
        super().__init__(*args, **kwargs)
        # Record each send at once, so that a successor does not send it again.
        self.sync_every_tasks = 1

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self.lock.acquire():
            if self.is_leader:
                logger.warning("beat: lost the %s; standing by", self.lock.description)
                self.is_leader = False
            elif not self._standby_logged:
                logger.warning(
                    "beat: another beat holds the %s; standing by (sending nothing) and "
                    "retrying every %s s",
                    self.lock.description,
                    self.max_interval,
                )
            self._standby_logged = True
            return self.max_interval
        if not self.is_leader:
            logger.info("beat: leader (holding the %s)", self.lock.description)
            self.is_leader = True
            self._standby_logged = False
            self._reload()
        return super().tick(*args, **kwargs)

    def _reload(self) -> None:
        """Start from the schedule as the previous leader left it (with its last sends).

        One full read with the change stamp taken first (a change during the read is seen at
        the next tick), then a fresh heap. DatabaseScheduler's own `_initial_read` path is not
        used: with a change stamp pending it reads twice in one tick and the rebuilt heap keeps
        entries whose `last_run_at` predates the send, so the entry would be sent again.
        """
        self.sync()
        self._last_timestamp = self.Changes.last_change()
        self._schedule = self.all_as_schedule()
        self._initial_read = False
        self._last_full_sync = datetime.datetime.now()  # noqa: DTZ005 - naive, as its base class
        self._heap = None

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.lock.release()
            self.is_leader = False
