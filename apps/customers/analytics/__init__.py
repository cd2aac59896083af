"""Numeric work on arrays and frames (no ORM)."""
