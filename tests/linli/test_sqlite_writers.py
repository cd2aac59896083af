"""Two writers on one SQLite file with the project's settings (the embedded default: web,
worker and beat share `var/linli.sqlite3`): a transaction that reads and then writes waits for
the other writer instead of failing with "database is locked".

In WAL mode a DEFERRED transaction that has read and then writes while another connection
holds the write lock (or has committed since the read) gets SQLITE_BUSY at once, without the
busy timeout; channels-lite's `group_add` (a read-then-write `update_or_create`) failed so on
every websocket connect during the nightly run's chunks. The interleaving here is fixed by
events, not by sleeping.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections, transaction

SQLITE = "django.db.backends.sqlite3"
ALIAS = "sqlite_writers_probe"


@pytest.fixture
def probe_alias(tmp_path: Path, django_db_blocker: object):
    """A database alias with the project's SQLite options on a file of its own, and a raw
    connection to that file standing for another process."""
    path = tmp_path / "writers.sqlite3"
    other = sqlite3.connect(path, isolation_level=None, timeout=20)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE membership (name TEXT PRIMARY KEY, hits INTEGER NOT NULL)")
    connections.settings[ALIAS] = connections.configure_settings(
        {
            "default": connections.settings["default"],
            ALIAS: {
                "ENGINE": SQLITE,
                "NAME": str(path),
                # The options the embedded default gets (`SQLITE_OPTIONS`), whatever this
                # run's database is: the probe has a file of its own, so this runs in CI too.
                "OPTIONS": dict(settings.SQLITE_OPTIONS),
            },
        }
    )[ALIAS]
    try:
        with django_db_blocker.unblock():  # the probe's own file, not the test database
            yield other
    finally:
        other.close()
        connections[ALIAS].close()
        del connections[ALIAS]
        del connections.settings[ALIAS]


def test_a_read_then_write_transaction_waits_for_the_other_writer(probe_alias) -> None:
    other = probe_alias
    # The other process is in the middle of a write transaction (a chunk of the nightly run).
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO membership VALUES ('worker', 1)")
    asking_for_the_write_lock = threading.Event()
    outcome: list[object] = []

    def connect_websocket() -> None:
        """What channels-lite's group_add does: in one transaction, look the row up, then
        write it."""
        connection = connections[ALIAS]
        try:
            connection.ensure_connection()

            def traced(statement: str) -> None:
                # The statement that takes the write lock starts: BEGIN IMMEDIATE with the
                # project's settings, else the first write of a deferred transaction.
                if statement.startswith(("BEGIN IMMEDIATE", "INSERT")):
                    asking_for_the_write_lock.set()

            connection.connection.set_trace_callback(traced)
            with transaction.atomic(using=ALIAS), connection.cursor() as cursor:
                cursor.execute("SELECT hits FROM membership WHERE name = 'socket'")
                assert cursor.fetchone() is None
                cursor.execute("INSERT INTO membership VALUES ('socket', 1)")
            outcome.append("written")
        except Exception as error:  # the assertion below shows it
            outcome.append(error)
        finally:
            asking_for_the_write_lock.set()
            connection.close()

    websocket = threading.Thread(target=connect_websocket)
    websocket.start()
    assert asking_for_the_write_lock.wait(timeout=60)
    other.execute("COMMIT")  # the other writer finishes while this one asks for the lock
    websocket.join(timeout=60)

    assert outcome == ["written"]
    rows = other.execute("SELECT name, hits FROM membership ORDER BY name").fetchall()
    assert rows == [("socket", 1), ("worker", 1)]


def test_the_embedded_database_takes_the_write_lock_when_a_transaction_begins() -> None:
    options = settings.SQLITE_OPTIONS
    if settings.DATABASES["default"]["ENGINE"] == SQLITE:
        assert settings.DATABASES["default"]["OPTIONS"] == options
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["init_command"] == "PRAGMA journal_mode=WAL;"
    assert options["timeout"] == 20
