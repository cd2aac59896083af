"""Exactly one beat acts: two schedulers of the configured class (`CELERY_BEAT_SCHEDULER`), each
with its real lock (a PostgreSQL advisory lock, or a file lock on SQLite), tick side by side; only
the leader sends, and when it goes the other takes over without sending anything twice."""

from __future__ import annotations

import datetime as dt

import pytest
from celery import Celery
from celery.utils.imports import symbol_by_name
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

from linli.beat import ADVISORY_KEY

pytestmark = pytest.mark.django_db(transaction=True)

TASK = "tests.beat.ping"


@pytest.fixture
def beat_app(settings: object, tmp_path: object) -> Celery:
    settings.CELERY_BEAT_LOCK_FILE = str(tmp_path / "beat.lock")  # used on SQLite only
    app = Celery("beat-test", broker="memory://", set_as_current=False)
    app.conf.timezone = settings.TIME_ZONE
    app.conf.result_expires = None  # no celery.backend_cleanup entry
    return app


def _schedulers(app: Celery, sent: list[tuple[str, str]]) -> list:
    configured = symbol_by_name(settings.CELERY_BEAT_SCHEDULER)

    class Counting(configured):
        """The configured scheduler; sending is counted instead of published."""

        def send_task(self, name: str, *args: object, **kwargs: object) -> None:
            sent.append((self.label, name))

    first, second = Counting(app=app), Counting(app=app)
    first.label, second.label = "first", "second"
    return [first, second]


def _make_due() -> None:
    PeriodicTask.objects.filter(task=TASK).update(
        last_run_at=timezone.now() - dt.timedelta(hours=2)
    )
    PeriodicTasks.update_changed()


def _tick(*schedulers: object, times: int = 4) -> None:
    for _ in range(times):
        for scheduler in schedulers:
            scheduler.tick()


@pytest.fixture
def hourly_task(transactional_db: None) -> PeriodicTask:
    every_hour, _created = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.HOURS
    )
    return PeriodicTask.objects.create(
        name="test: ping",
        task=TASK,
        interval=every_hour,
        last_run_at=timezone.now() - dt.timedelta(hours=2),
    )


def test_two_beats_send_a_due_task_once_and_the_standby_takes_over(
    beat_app: Celery, hourly_task: PeriodicTask
) -> None:
    sent: list[tuple[str, str]] = []
    first, second = _schedulers(beat_app, sent)
    try:
        _tick(first, second)

        assert [name for _who, name in sent] == [TASK]
        leader, standby = (first, second) if sent[0][0] == "first" else (second, first)

        # The leader goes (its lock with it); the standby becomes leader at its next tick and
        # does not send again what the leader already sent.
        leader.close()
        _tick(standby)
        assert len(sent) == 1
        _make_due()
        _tick(standby)
        assert sent == [(leader.label, TASK), (standby.label, TASK)]
    finally:
        first.close()
        second.close()


@pytest.mark.postgres
def test_a_crashed_leader_loses_the_lock_and_the_standby_sends(
    beat_app: Celery, hourly_task: PeriodicTask
) -> None:
    sent: list[tuple[str, str]] = []
    first, second = _schedulers(beat_app, sent)
    try:
        _tick(first, second)
        leader, standby = (first, second) if sent[0][0] == "first" else (second, first)
        # The leader's database session dies (its host crashed): PostgreSQL drops its lock.
        # Only the session holding the beat's own key in this database is ended: any other
        # advisory lock on the server (another test worker's consolidation, a demo seeding)
        # belongs to someone else, whose connection this must not cut.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() "
                "AND classid = %s::oid AND objid = %s::oid AND objsubid = 2 "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                list(ADVISORY_KEY),
            )
        _make_due()
        _tick(standby, leader)

        assert sent == [(leader.label, TASK), (standby.label, TASK)]
    finally:
        first.close()
        second.close()
