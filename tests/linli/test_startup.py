"""`django.setup()` loads no numeric library: every process (a web server, a Celery worker, each
management command) ran it, and the admin's autodiscovery imported the decision engine through
the admin modules' imports (pandas, scikit-learn and scipy, 2–5 s of a process start). The
engine's modules load when a computation needs them (the admin action that accepts insight
cards imports the composition root inside it, tested by tests/catalog/test_decision_pages.py;
the frames' selectors import pandas where they build a frame). Checked in a fresh
interpreter: this test process has loaded them already."""

from __future__ import annotations

import os
import subprocess
import sys

from linli.settings import BASE_DIR

HEAVY = ("pandas", "sklearn", "scipy")

PROBE = """
import sys
import django
django.setup()
print(" ".join(name for name in {heavy!r} if name in sys.modules) or "none")
"""


def _loaded_after(script: str) -> str:
    result = subprocess.run(  # noqa: S603 — this interpreter, a fixed script
        [sys.executable, "-c", script],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "linli.settings"},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip().splitlines()[-1]


def test_django_setup_imports_no_numeric_library():
    assert _loaded_after(PROBE.format(heavy=HEAVY)) == "none"
