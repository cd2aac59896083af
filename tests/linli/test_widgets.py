"""Native date pickers get ISO values in every language: a browser drops any other format."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from django.conf import settings
from django.utils import translation

from linli.widgets import NativeDateInput, NativeDateTimeInput


def test_the_date_input_renders_an_iso_date_in_chinese():
    with translation.override("zh-hans"):
        html = NativeDateInput().render("ship_date", dt.date(2026, 12, 6))
    assert 'type="date"' in html
    assert 'value="2026-12-06"' in html


def test_the_datetime_input_renders_an_iso_minute_in_chinese():
    with translation.override("zh-hans"):
        html = NativeDateTimeInput().render(
            "deadline", dt.datetime(2026, 12, 6, 20, 5, 30, tzinfo=dt.UTC)
        )
    assert 'type="datetime-local"' in html
    assert 'value="2026-12-06T20:05"' in html


def test_no_form_builds_a_native_picker_of_its_own():
    # A DateInput given type="date" by hand renders the locale's format (2026/12/06 in zh-hans).
    hand_made = re.compile(r"""["']type["']\s*:\s*["'](date|datetime-local|time|month)["']""")
    root = Path(settings.BASE_DIR)
    offenders = [
        str(path.relative_to(root))
        for folder in ("apps", "linli")
        for path in (root / folder).rglob("*.py")
        if hand_made.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
