"""Writes for members, split by subdomain: identity, imports, profiles, segments."""
