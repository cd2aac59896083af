"""Admin for delivery plans and store receipts."""

from __future__ import annotations
