"""PostgreSQL connection settings: a bounded psycopg pool per process, and timeouts.

Every request thread used to keep a persistent connection of its own (`CONN_MAX_AGE`), so the
number of PostgreSQL connections grew with the number of threads the server happened to run and
ended in "too many clients". With the pool, each process holds at most `DB_POOL_MAX`
connections; a thread that needs one while all are out waits up to `DB_POOL_TIMEOUT` seconds and
then fails, instead of opening another. The bound for a whole deployment is the sum over its
processes; `bin/run --print` prints it for the processes it starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

POOL_DEFAULTS = {"DB_POOL_MIN": 1, "DB_POOL_MAX": 8}
POOL_TIMEOUT_DEFAULT = 10.0
CONNECT_TIMEOUT_DEFAULT = 5
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _integer(environ: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from error
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def _flag(environ: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def postgresql_connection_settings(
    database: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, Any]:
    """The `DATABASES` entry for PostgreSQL, from the parsed `DATABASE_URL` and the environment.

    `DB_POOL` (default on): Django's psycopg pool with `DB_POOL_MIN`..`DB_POOL_MAX` connections
    per process and `DB_POOL_TIMEOUT` seconds to wait for one; `CONN_MAX_AGE` is then 0 (a
    connection goes back to the pool at the end of each request; Django refuses a pool with
    persistent connections). `DB_POOL=false` falls back to one connection per thread kept for
    `CONN_MAX_AGE` seconds. `DB_STATEMENT_TIMEOUT` (milliseconds, 0 = none) cancels a statement
    that runs longer; `DB_CONNECT_TIMEOUT` (seconds) bounds opening a connection. Options given
    in the URL's query string are kept.
    """
    options = dict(database.get("OPTIONS") or {})
    options.setdefault(
        "connect_timeout",
        _integer(environ, "DB_CONNECT_TIMEOUT", CONNECT_TIMEOUT_DEFAULT, minimum=1),
    )
    statement_timeout = _integer(environ, "DB_STATEMENT_TIMEOUT", 0, minimum=0)
    if statement_timeout:
        options["options"] = (
            f"{options.get('options', '')} -c statement_timeout={statement_timeout}".strip()
        )
    settings = {**database, "CONN_HEALTH_CHECKS": True}
    if _flag(environ, "DB_POOL", default=True):
        minimum = _integer(environ, "DB_POOL_MIN", POOL_DEFAULTS["DB_POOL_MIN"], minimum=0)
        maximum = _integer(environ, "DB_POOL_MAX", POOL_DEFAULTS["DB_POOL_MAX"], minimum=1)
        if minimum > maximum:
            raise ImproperlyConfigured(
                f"DB_POOL_MIN ({minimum}) must not exceed DB_POOL_MAX ({maximum})."
            )
        raw_timeout = environ.get("DB_POOL_TIMEOUT", str(POOL_TIMEOUT_DEFAULT))
        try:
            timeout = float(raw_timeout)
        except ValueError as error:
            raise ImproperlyConfigured(
                f"DB_POOL_TIMEOUT must be a number of seconds, not {raw_timeout!r}."
            ) from error
        if timeout <= 0:
            raise ImproperlyConfigured("DB_POOL_TIMEOUT must be more than 0 seconds.")
        options["pool"] = {"min_size": minimum, "max_size": maximum, "timeout": timeout}
        settings["CONN_MAX_AGE"] = 0
    else:
        options.pop("pool", None)
        settings["CONN_MAX_AGE"] = _integer(environ, "CONN_MAX_AGE", 60, minimum=0)
    settings["OPTIONS"] = options
    return settings


# Redis databases 0..9 are left to the run's own REDIS_URL; parallel test workers use 10 up.
XDIST_REDIS_FIRST_DB = 10
REDIS_LAST_DB = 15  # a default Redis server has databases 0-15


def redis_url_for_worker(url: str, worker: str) -> str:
    """The Redis URL a pytest-xdist worker ("gw0", "gw1", ...) uses instead of `url`: the same
    server, database XDIST_REDIS_FIRST_DB + the worker's number."""
    number = int(worker.removeprefix("gw"))
    if XDIST_REDIS_FIRST_DB + number > REDIS_LAST_DB:
        raise ImproperlyConfigured(
            f"pytest-xdist worker {worker} would need Redis database "
            f"{XDIST_REDIS_FIRST_DB + number}; run at most "
            f"{REDIS_LAST_DB - XDIST_REDIS_FIRST_DB + 1} workers"
        )
    return urlsplit(url)._replace(path=f"/{XDIST_REDIS_FIRST_DB + number}").geturl()
