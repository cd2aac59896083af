"""Reads for members, split by subdomain."""
