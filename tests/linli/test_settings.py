"""Settings fail loudly on unsafe production values, and pass the deploy check on safe ones.

Each case runs `manage.py check` in a subprocess with a clean environment (no DATABASE_URL,
REDIS_URL or CI from the outer run), from a temporary working directory.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from linli.settings import BASE_DIR

STRONG_KEY = secrets.token_urlsafe(64)


def _manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'check.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        **env,
    }
    return subprocess.run(  # noqa: S603 — fixed argv, our own manage.py
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        cwd=tmp_path,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("secret_key", "reason"),
    [
        pytest.param(None, "missing", id="missing"),
        ("", "empty"),
        ("short-key-1234", "shorter than 50 characters"),
        # A fixed id: parallel workers must collect the same test names.
        pytest.param(
            "django-insecure-" + secrets.token_urlsafe(48),
            "django-insecure prefix",
            id="django-insecure prefix",
        ),
        ("ab" * 40, "fewer than 5 distinct characters"),
        ("linli-development-only-key-never-use-in-production", "the development key"),
    ],
)
def test_check_fails_with_debug_off_and_missing_or_weak_secret_key(tmp_path, secret_key, reason):
    env = {"DEBUG": "False", "ALLOWED_HOSTS": "linli.example.com"}
    if secret_key is not None:
        env["SECRET_KEY"] = secret_key
    result = _manage(tmp_path, "check", **env)
    assert result.returncode != 0, reason
    assert "django.core.exceptions.ImproperlyConfigured: SECRET_KEY is missing or weak" in (
        result.stderr
    ), reason


@pytest.mark.parametrize("hosts", [None, "", " , ", ","])
def test_check_fails_with_debug_off_and_no_allowed_hosts(tmp_path, hosts):
    env = {"DEBUG": "False", "SECRET_KEY": STRONG_KEY}
    if hosts is not None:
        env["ALLOWED_HOSTS"] = hosts
    result = _manage(tmp_path, "check", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured: ALLOWED_HOSTS must be set when DEBUG is off." in result.stderr


def test_deploy_check_passes_at_warning_level_with_strong_key_and_hosts(tmp_path):
    result = _manage(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="False",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="linli.example.com,www.linli.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_passes_in_development_without_any_variable(tmp_path):
    result = _manage(tmp_path, "check")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_settings_cache_templates_and_keep_the_store_figures_on_redis(tmp_path):
    """With DEBUG off the templates are compiled once per process (cached loader), and the
    store page's figures live in Redis under a prefix named by the database, where every
    process can drop them (apps/stores/page_cache.py); sessions stay in the database."""
    code = (
        "from django.conf import settings; from django.template import engines;"
        "print(type(engines['django'].engine.template_loaders[0]).__module__);"
        "print(settings.CACHES['portal']['BACKEND']);"
        "print(settings.CACHES['portal']['KEY_PREFIX']);"
        "print(settings.SESSION_ENGINE)"
    )
    result = _manage(
        tmp_path,
        "shell",
        "--no-imports",
        "-c",
        code,
        DEBUG="false",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="linli.example",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.template.loaders.cached",
        "django.core.cache.backends.redis.RedisCache",
        f"linli:{tmp_path / 'check.sqlite3'}",
        "django.contrib.sessions.backends.db",
    ]


def test_api_rates_come_from_the_environment_and_a_bad_one_stops_the_start(tmp_path):
    code = (
        "from django.conf import settings;"
        "rates = settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'];"
        "print(rates['pos_orders'], rates['device'], rates['broadcast_viewers']);"
        "print(settings.CACHES['throttle']['BACKEND'])"
    )
    configured = _manage(
        tmp_path,
        "shell",
        "--no-imports",
        "-c",
        code,
        API_RATE_POS_ORDERS="300/min",
        API_RATE_DEVICE="off",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert configured.returncode == 0, configured.stderr
    assert configured.stdout.split() == [
        "300/min",
        "None",
        "12/min",
        "django.core.cache.backends.redis.RedisCache",
    ]

    typo = _manage(tmp_path, "check", API_RATE_POS_ORDERS="120 per minute")
    assert typo.returncode != 0
    assert "ImproperlyConfigured: API_RATE_POS_ORDERS='120 per minute'" in typo.stderr
