"""Deterministic demo data for Linli (`manage.py seed_demo`); see docs/demo-data.md."""
