"""Figures as the evaluation scripts under bench/ print them."""

from __future__ import annotations


def pct(value: float | None) -> str:
    """A share as a percentage with one decimal ("n/a" for none)."""
    return "n/a" if value is None else f"{value * 100:.1f}%"


def signed_pct(value: float | None) -> str:
    """A bias as a signed whole percentage ("n/a" for none)."""
    return "n/a" if value is None else f"{value * 100:+.0f}%"
