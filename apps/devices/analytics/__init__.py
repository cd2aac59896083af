"""Numeric work for devices: pure functions on plain sequences, no ORM."""
