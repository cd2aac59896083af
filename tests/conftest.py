"""Suite-wide setup.

With CI=true the real services are required: PostgreSQL (DATABASE_URL), Redis (REDIS_URL) and
Chromium must all be there, or the run fails instead of skipping. On a bare machine, tests that
need them skip with the reason.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.conf import settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _database_is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _redis_reachable() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def pytest_configure(config: pytest.Config) -> None:
    from tests.celery_support import queue_isolate

    queue_isolate()


def pytest_sessionstart(session: pytest.Session) -> None:
    if not IN_CI:
        return
    missing = []
    if not _database_is_postgres():
        missing.append("DATABASE_URL must point at PostgreSQL")
    if not _redis_reachable():
        missing.append("REDIS_URL must point at a reachable Redis")
    if not CHROMIUM:
        missing.append("chromium must be installed for browser tests")
    if missing:
        pytest.exit("CI=true but: " + "; ".join(missing), returncode=3)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_postgres = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)")
    skip_redis = pytest.mark.skip(reason="needs Redis (set REDIS_URL=redis://...)")
    skip_browser = pytest.mark.skip(reason="needs Chromium (apt-get install chromium)")
    postgres = _database_is_postgres()
    redis_ok = bool(settings.REDIS_URL)
    for item in items:
        if "postgres" in item.keywords and not postgres:
            item.add_marker(skip_postgres)
        if "redis" in item.keywords and not redis_ok:
            item.add_marker(skip_redis)
        if "browser" in item.keywords and not CHROMIUM:
            item.add_marker(skip_browser)


@pytest.fixture(autouse=True)
def _portal_cache() -> None:
    """Each test starts with empty caches: the "portal" cache (this process's memory under
    pytest) holds the store page's figures and the default one the suggestions' store
    popularity and repurchase intervals, all named by store ids or days, which tests repeat
    (on SQLite a rolled-back test's ids come again)."""
    from django.core.cache import caches

    caches["portal"].clear()
    caches["default"].clear()


@pytest.fixture(autouse=True)
def _api_rate_limits_off(settings: object) -> None:
    """Tests post many readings and orders through one token: the API rate limits are off
    (every scope unlimited, the throttle cache untouched) except in the tests that turn them
    on with real limits (tests/linli/test_api_rate_limits.py)."""
    rest_framework = settings.REST_FRAMEWORK
    settings.REST_FRAMEWORK = {
        **rest_framework,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(rest_framework["DEFAULT_THROTTLE_RATES"]),
    }


@pytest.fixture
def broker_queue() -> object:
    """This test process's queue on the real broker, empty at the start and the end."""
    from tests.celery_support import BrokerQueue

    queue = BrokerQueue()
    queue.clear()
    yield queue
    queue.clear()
    queue.close()


@pytest.fixture(autouse=True)
def _media_root(settings: object, tmp_path_factory: pytest.TempPathFactory) -> None:
    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


@pytest.fixture
def roles(db: None) -> None:
    from linli.roles import roles_sync

    roles_sync()


@pytest.fixture
def hq_user(db: None, roles: None) -> object:
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    user = UserFactory(is_staff=True, is_superuser=True, username="hq")
    user.groups.add(Group.objects.get(name="HQ operations"))
    return user


@pytest.fixture
def store(db: None) -> object:
    from tests.factories import StoreFactory

    return StoreFactory()


@pytest.fixture
def other_store(db: None) -> object:
    from tests.factories import StoreFactory

    return StoreFactory()


@pytest.fixture
def owner(store: object) -> object:
    from tests.factories import owner_of

    return owner_of(store)


@pytest.fixture
def clerk(store: object) -> object:
    from tests.factories import clerk_of

    return clerk_of(store)


@pytest.fixture
def other_owner(other_store: object) -> object:
    from tests.factories import owner_of

    return owner_of(other_store)


@pytest.fixture
def supplier_user(db: None) -> object:
    from tests.factories import SupplierUserFactory

    return SupplierUserFactory().user


@pytest.fixture
def inspector(store: object) -> object:
    from apps.stores.models import StoreStaff
    from tests.factories import UserFactory

    user = UserFactory()
    StoreStaff.objects.create(user=user, store=store, role=StoreStaff.Role.INSPECTOR)
    return user
