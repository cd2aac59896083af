"""PostgreSQL runs on a bounded connection pool, and bin/run starts fixed production processes.

The settings helper is a pure function of the parsed DATABASE_URL and the environment, so it is
tested directly; `bin/run --print` prints the command lines it would start (and the sum of the
pools' maximums) without starting anything.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from linli.database import postgresql_connection_settings
from linli.settings import BASE_DIR, SQLITE_OPTIONS

PARSED_URL = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "linli",
    "HOST": "127.0.0.1",
    "PORT": 5432,
    "USER": "postgres",
    "OPTIONS": {"sslmode": "prefer"},
}


def test_postgresql_settings_build_a_pool_with_the_env_bounds_and_no_persistent_connections():
    settings = postgresql_connection_settings(
        PARSED_URL,
        {"DB_POOL_MIN": "3", "DB_POOL_MAX": "12", "DB_POOL_TIMEOUT": "2.5", "CONN_MAX_AGE": "60"},
    )

    assert settings["OPTIONS"]["pool"] == {"min_size": 3, "max_size": 12, "timeout": 2.5}
    assert settings["CONN_MAX_AGE"] == 0
    assert settings["CONN_HEALTH_CHECKS"] is True
    assert settings["OPTIONS"]["sslmode"] == "prefer"
    assert settings["NAME"] == "linli"


def test_pool_is_on_by_default_with_its_default_bounds():
    settings = postgresql_connection_settings(PARSED_URL, {})

    assert settings["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 8, "timeout": 10.0}
    assert settings["OPTIONS"]["connect_timeout"] == 5
    assert "options" not in settings["OPTIONS"]
    assert settings["CONN_MAX_AGE"] == 0


def test_statement_timeout_is_passed_to_the_server_in_milliseconds():
    settings = postgresql_connection_settings(PARSED_URL, {"DB_STATEMENT_TIMEOUT": "30000"})

    assert settings["OPTIONS"]["options"] == "-c statement_timeout=30000"


def test_pool_can_be_turned_off_for_persistent_per_thread_connections():
    settings = postgresql_connection_settings(PARSED_URL, {"DB_POOL": "false", "CONN_MAX_AGE": "0"})

    assert "pool" not in settings["OPTIONS"]
    assert settings["CONN_MAX_AGE"] == 0


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"DB_POOL_MIN": "9", "DB_POOL_MAX": "4"},
            "DB_POOL_MIN (9) must not exceed DB_POOL_MAX (4)",
        ),
        ({"DB_POOL_MAX": "0"}, "DB_POOL_MAX must be at least 1"),
        ({"DB_POOL_MAX": "many"}, "DB_POOL_MAX must be an integer"),
        ({"DB_POOL_TIMEOUT": "0"}, "DB_POOL_TIMEOUT must be more than 0 seconds"),
        ({"DB_POOL": "maybe"}, "DB_POOL must be true or false"),
    ],
)
def test_unusable_pool_settings_stop_the_start_up(environ, message):
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        postgresql_connection_settings(PARSED_URL, environ)


def test_the_configured_database_uses_the_pool_on_postgresql(settings):
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        assert "pool" not in database.get("OPTIONS", {})
        return
    assert database["CONN_MAX_AGE"] == 0
    assert database["OPTIONS"]["pool"]["max_size"] >= 1


# --- bin/run ----------------------------------------------------------------------------------


def _printed(tmp_path: Path, **env: str) -> dict[str, str]:
    clean_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), **env}
    result = subprocess.run(  # noqa: S603 — our own script, fixed argv
        [str(BASE_DIR / "bin" / "run"), "--print"],
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = dict(line.split(":", 1) for line in result.stdout.splitlines())
    return {name: value.strip() for name, value in lines.items()}


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_bin_run_production_starts_fixed_gunicorn_workers_daphne_for_websockets_and_one_beat(
    tmp_path,
):
    printed = _printed(
        tmp_path,
        DATABASE_URL="postgres://linli@db:5432/linli",
        REDIS_URL="redis://cache:6379/0",
        WEB_WORKERS="3",
        WEB_THREADS="6",
        WS_DB_POOL_MAX="4",
        CELERY_CONCURRENCY="2",
        CELERY_DB_POOL_MAX="2",
        PORT="9000",
        WS_PORT="9001",
    )

    assert printed["mode"] == "production"
    web = shlex.split(printed["web"])
    assert web[web.index("env") + 1 : web.index(".venv/bin/gunicorn")] == [
        "DB_POOL_MIN=2",
        "DB_POOL_MAX=6",
        "DB_STATEMENT_TIMEOUT=30000",
    ]
    assert "linli.wsgi:application" in web
    assert _option(web, "--worker-class") == "gthread"
    assert _option(web, "--workers") == "3"
    assert _option(web, "--threads") == "6"
    assert _option(web, "--bind") == "127.0.0.1:9000"
    assert _option(web, "--timeout") == "30"
    assert "--no-control-socket" in web  # two instances on one host share no socket path
    websockets = shlex.split(printed["websockets"])
    assert ".venv/bin/daphne" in websockets
    assert _option(websockets, "-p") == "9001"
    assert "DB_POOL_MAX=4" in websockets
    assert "beat" in shlex.split(printed["beat"])
    assert sorted(printed) == [
        "beat",
        "mode",
        "postgresql-connections-max",
        "web",
        "websockets",
        "worker",
    ]
    # web 3 x 6 + websockets 4 + worker (2 children + parent) x 2 + beat pool 2 + its lock 1
    assert printed["postgresql-connections-max"] == "31"


def test_bin_run_embedded_serves_pages_and_websockets_from_one_daphne(tmp_path):
    printed = _printed(tmp_path, PORT="8000")

    assert printed["mode"] == "embedded"
    web = shlex.split(printed["web"])
    assert web[0] == ".venv/bin/daphne"
    assert _option(web, "-p") == "8000"
    assert "linli.asgi:application" in web
    # A socket's connect writes its groups to the SQLite channel layer, waiting up to the lock
    # timeout for each of its two groups: the handshake outlasts both (daphne's default is 5 s).
    assert int(_option(web, "--websocket_connect_timeout")) > 2 * SQLITE_OPTIONS["timeout"]
    assert "websockets" not in printed
    assert "postgresql-connections-max" not in printed
    assert "beat" in shlex.split(printed["beat"])


# --- bin/run: DEBUG in production mode ---------------------------------------------------------

PRODUCTION = {"DATABASE_URL": "postgres://linli@db:5432/linli", "REDIS_URL": "redis://cache:6379/0"}


def _print_run(tmp_path: Path, dotenv: str | None = None, **env: str) -> tuple[str, str]:
    """`bin/run --print` from a copy of the script in an empty checkout (`tmp_path`), so that
    no developer's .env decides the outcome; `dotenv` is written as that checkout's .env."""
    (tmp_path / "bin").mkdir()
    script = tmp_path / "bin" / "run"
    script.write_text((BASE_DIR / "bin" / "run").read_text())
    script.chmod(0o755)
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv)
    clean_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), **env}
    result = subprocess.run(  # noqa: S603 — our own script, fixed argv
        [str(script), "--print"],
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout, result.stderr


def test_bin_run_production_warns_when_debug_is_left_at_its_default(tmp_path):
    stdout, stderr = _print_run(tmp_path, **PRODUCTION)

    assert "mode: production" in stdout.splitlines()
    assert "WARNING: production mode (PostgreSQL and Redis) with DEBUG on" in stderr
    assert "DEBUG is not set, and it defaults to on" in stderr
    assert "Set DEBUG=false" in stderr


@pytest.mark.parametrize("value", ["true", "1", "yes", "On"])
def test_bin_run_production_warns_when_debug_is_on(tmp_path, value):
    _stdout, stderr = _print_run(tmp_path, DEBUG=value, **PRODUCTION)

    assert f"with DEBUG on (DEBUG={value} in the environment)" in stderr


@pytest.mark.parametrize("value", ["false", "False", "0", "no", "off"])
def test_bin_run_production_is_quiet_when_debug_is_explicitly_false(tmp_path, value):
    stdout, stderr = _print_run(tmp_path, DEBUG=value, **PRODUCTION)

    assert "mode: production" in stdout.splitlines()
    assert "WARNING" not in stderr + stdout


def test_bin_run_reads_debug_from_dotenv_as_the_settings_do_and_the_environment_wins(tmp_path):
    quiet = tmp_path / "quiet"
    quiet.mkdir()
    loud = tmp_path / "loud"
    loud.mkdir()
    overridden = tmp_path / "overridden"
    overridden.mkdir()

    _out, quiet_err = _print_run(quiet, dotenv="SECRET_KEY=x\nexport DEBUG='false'\n", **PRODUCTION)
    _out, loud_err = _print_run(loud, dotenv="DEBUG=true  # local\n", **PRODUCTION)
    _out, overridden_err = _print_run(overridden, dotenv="DEBUG=false\n", DEBUG="1", **PRODUCTION)

    assert "WARNING" not in quiet_err
    assert "with DEBUG on (DEBUG=true in the .env)" in loud_err
    assert "with DEBUG on (DEBUG=1 in the environment)" in overridden_err


def test_bin_run_embedded_does_not_warn_about_debug(tmp_path):
    stdout, stderr = _print_run(tmp_path)

    assert "mode: embedded" in stdout.splitlines()
    assert "WARNING" not in stderr


def test_bin_run_takes_the_mode_from_dotenv_as_the_settings_do_and_the_environment_wins(tmp_path):
    """The processes read DATABASE_URL and REDIS_URL from .env too (linli/settings.py), so
    bin/run chooses the mode — gunicorn and daphne apart, the PostgreSQL bound — from the same
    place: a production .env runs production, unless the environment says otherwise."""
    from_dotenv = tmp_path / "from_dotenv"
    from_dotenv.mkdir()
    overridden = tmp_path / "overridden"
    overridden.mkdir()
    dotenv = (
        "export DATABASE_URL='postgres://linli@db:5432/linli'  # production\n"
        'REDIS_URL="redis://cache:6379/0"\nDEBUG=false\n'
    )

    stdout, stderr = _print_run(from_dotenv, dotenv=dotenv)
    overridden_out, _err = _print_run(overridden, dotenv=dotenv, DATABASE_URL="sqlite:///x")

    assert "mode: production" in stdout.splitlines()
    assert any(line.startswith("postgresql-connections-max: ") for line in stdout.splitlines())
    assert "WARNING" not in stderr
    assert "mode: embedded" in overridden_out.splitlines()
    assert not any(
        line.startswith("postgresql-connections") for line in overridden_out.splitlines()
    )
