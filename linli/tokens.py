"""API tokens for machines (POS terminals, devices): shown once, stored hashed, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32
PREFIX_LENGTH = 8


def token_generate() -> str:
    """A new random token (URL-safe). Show it once; store only `token_hash(token)`."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """SHA-256 hex digest: tokens are high-entropy, so a fast hash is enough (no salt needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_prefix(token: str) -> str:
    """The first characters, kept in clear so staff can tell tokens apart."""
    return token[:PREFIX_LENGTH]


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_hash(token), stored_hash)
