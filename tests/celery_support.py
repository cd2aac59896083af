"""The real Celery broker and worker in tests.

Each test process sends to a queue of its own (`TEST_QUEUE`, set on the app before any test
runs), so a worker started by one pytest-xdist process never takes another's task (on Redis
each process has its own database already; the file broker's folder is shared), and a test
empties the queue before it starts (nothing left by an earlier test or run is consumed)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from queue import Empty

from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections

from linli.celery import app

TEST_QUEUE = "linli-test-" + os.environ.get("PYTEST_XDIST_WORKER", "main")


def queue_isolate() -> None:
    app.conf.task_default_queue = TEST_QUEUE


class BrokerQueue:
    """This process's queue on the broker the app is configured with (Redis in CI, the file
    broker on a bare machine): what the code under test sent."""

    def __init__(self) -> None:
        self._connection = app.connection_for_write()
        self._queue = self._connection.SimpleQueue(TEST_QUEUE)

    def clear(self) -> None:
        self._queue.clear()

    def sent(self) -> list[tuple[str, list, dict]]:
        """Take every waiting message: (task name, arguments, keyword arguments), in order."""
        messages = []
        while True:
            try:
                message = self._queue.get(block=False)
            except Empty:
                return messages
            args, kwargs, _embed = message.decode()
            messages.append((message.headers["task"], args, kwargs))
            message.ack()

    def close(self) -> None:
        self._queue.close()
        self._connection.release()


def _connections_close(**_kwargs: object) -> None:
    connections.close_all()


@contextmanager
def worker_running() -> Iterator[None]:
    """A real worker (solo pool, in a thread) consuming this process's queue. Each task closes
    the worker thread's database connections when it ends (as a worker process does), so
    none is left open on the test database when the thread stops."""
    task_postrun.connect(_connections_close, weak=False)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield
    finally:
        task_postrun.disconnect(_connections_close)


def wait_until(condition: Callable[[], bool], *, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()
