"""Customers admin: members, identities and merges, community messages, tags, profiles,
segments and NPS."""

from apps.customers.admin import audit, identity, members, messages, profiles  # noqa: F401  (registers the model admins)
