"""Form widgets for the browser's native date pickers.

An `<input type="date">` only accepts a value in `YYYY-MM-DD` and a `datetime-local` one in
`YYYY-MM-DDTHH:MM`, whatever the page's language; Django's plain `DateInput` renders the active
locale's format (zh-hans: `2026/12/06`), which the browser discards, so a pre-filled field looks
empty. These widgets always render the ISO value; Django reads ISO input in every locale.
"""

from __future__ import annotations

from typing import Any

from django import forms


class NativeDateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class NativeDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class NativeMonthInput(forms.DateInput):
    """`<input type="month">`: the value is `YYYY-MM` in every language (read it with
    `input_formats=["%Y-%m"]`)."""

    input_type = "month"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m")
