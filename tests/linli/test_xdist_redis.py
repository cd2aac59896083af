"""Parallel test workers get Redis databases of their own (linli/database.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from linli.database import redis_url_for_worker


def test_each_worker_gets_its_own_database_on_the_same_server():
    assert redis_url_for_worker("redis://127.0.0.1:6379/0", "gw0") == "redis://127.0.0.1:6379/10"
    assert redis_url_for_worker("redis://:secret@cache:6380/3", "gw1") == (
        "redis://:secret@cache:6380/11"
    )
    assert redis_url_for_worker("redis://cache", "gw5") == "redis://cache/15"


def test_a_worker_past_the_last_database_is_refused_with_the_limit():
    with pytest.raises(ImproperlyConfigured, match="at most 6 workers"):
        redis_url_for_worker("redis://cache/0", "gw6")
