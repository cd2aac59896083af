"""Catalog admin: master data (categories, products, weather) and the decision engine."""

from apps.catalog.admin import decisions, master  # noqa: F401  (registers the model admins)
