"""Admin for after-sales cases, their photos and the compensation policy table."""

from __future__ import annotations
