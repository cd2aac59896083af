"""Server processes warm up at startup (linli/warmup.py): the web and websocket entry points and
the Celery worker load the URLconf and jieba's dictionary before their first request, so the
first live page after a deploy or restart does not load them (docs/live-dashboard.md, "The
first request"). Each entry point is loaded in a fresh interpreter: in this test process the
dictionary may already be loaded by another test."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from linli.settings import BASE_DIR
from linli.warmup import warm_up

# Prints, after loading an entry point, whether the process holds what the first request
# would otherwise load.
PROBE = """
import sys
{load}
from apps.campaigns.analytics import comments
print("jieba", comments.tokenizer_loaded())
print("urlconf", "linli.urls" in sys.modules)
"""

ENTRY_POINTS = {
    "asgi": "import linli.asgi",
    "wsgi": "import linli.wsgi",
    # The worker's parent process, before its pool forks (celery.signals.worker_init).
    "celery worker": (
        "import django, linli.celery; django.setup()\n"
        "from celery.signals import worker_init\n"
        "worker_init.send(sender=None)"
    ),
}


def _probe(load: str) -> dict[str, str]:
    result = subprocess.run(  # noqa: S603 — this interpreter, a fixed script
        [sys.executable, "-c", PROBE.format(load=load)],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "linli.settings"},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)


@pytest.mark.parametrize("entry_point", list(ENTRY_POINTS))
def test_a_server_process_loads_the_dictionary_and_the_urlconf_before_its_first_request(
    entry_point,
):
    assert _probe(ENTRY_POINTS[entry_point]) == {"jieba": "True", "urlconf": "True"}


def test_a_management_command_process_does_not_warm_up():
    # Only servers pay the startup cost: `manage.py` and the tests load neither up front.
    assert _probe("import django; django.setup()") == {"jieba": "False", "urlconf": "False"}


calls: list[str] = []


def _step_recorded() -> None:
    calls.append("recorded")


def _step_broken() -> None:
    raise RuntimeError("no dictionary")


def test_a_failing_step_is_logged_and_the_steps_after_it_still_run(settings, caplog):
    calls.clear()
    settings.WARM_UP = [
        f"{__name__}._step_broken",
        f"{__name__}._step_recorded",
    ]

    with caplog.at_level(logging.ERROR, logger="linli.warmup"):
        warm_up()

    assert calls == ["recorded"]
    assert [record.getMessage() for record in caplog.records] == [
        f"warm-up step {__name__}._step_broken failed; the first request will do its work"
    ]
