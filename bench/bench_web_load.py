"""Benchmark: N logged-in store owners on their dashboards, against a bare Django view.

    python bench/bench_web_load.py                       # 200 clients, 60 s per phase
    python bench/bench_web_load.py --clients 50 --seconds 20

It starts Linli with `bin/run` exactly as production runs it (gunicorn gthread for pages,
daphne for /ws/, a Celery worker and one beat, each with its bounded psycopg pool) on loopback
ports, against a database of its own (`linli_bench`, created, migrated and seeded with
`seed_demo --stores N` when it has no stores; `--fresh` rebuilds it) and Redis db 13. It never
touches a test database (`test_*` names are refused). Each client is one owner of its own store,
logged in with a real database session (made as `Client.force_login` makes it: password
logins would measure PBKDF2), looping on `GET /portal/stores/<own id>/` over a keep-alive
connection for `--seconds`, `--think` seconds apart (0: back to back, as in the load issue).
First every owner opens the store page's live socket on daphne, as the page does; each
handshake must be accepted.

Baseline, in the same run, with the same clients, cookies and server: `GET /healthz/`, the
barest view the project serves. It goes through the whole stack (gunicorn, every middleware,
including the session and user lookups the audit log's middleware makes for any logged-in
request, a pooled connection and a `SELECT 1`, a Redis PING) but does none of the page's own
work (access checks, the page's figures, the template). The ratios say what the dashboard costs
over serving any Django request at all on this machine. The page's figures are kept 30 s in
the portal cache (apps/stores/page_cache.py) and nothing changes them during a run, so after
each owner's first load the dashboard phase measures the page as an owner reloading it gets it:
access checked, figures from Redis; a cold page costs three more queries and their rendering.

Every second a sampler counts `pg_stat_activity` rows for the benchmark database; the maximum
must stay at or below the bound `bin/run --print` computes from the pools' sizes. Prints
req/s, p50/p95/p99, errors (any status but 200, timeouts, resets) and the maximum number of
connections for both phases, and the ratios; exits 1 when the dashboard phase has errors,
exceeds the connection bound, or misses p95 < 500 ms (`--target-p95-ms`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import secrets
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():
    PYTHON = sys.executable
OWNER_PREFIX = "bench_owner_"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="concurrent logged-in owners")
    parser.add_argument("--seconds", type=float, default=60, help="measured seconds per phase")
    parser.add_argument("--warmup", type=float, default=5, help="unmeasured seconds per phase")
    parser.add_argument("--think", type=float, default=0.0, help="pause between requests (s)")
    parser.add_argument("--timeout", type=float, default=30, help="per request (s)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/linli_bench"
        ),
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--ws-port", type=int, default=8101)
    parser.add_argument("--fresh", action="store_true", help="drop and reseed the database")
    parser.add_argument("--target-p95-ms", type=float, default=500)
    return parser.parse_args()


# --- database and accounts ---------------------------------------------------------------------


def _server_environment(args: argparse.Namespace, secret_key: str) -> dict[str, str]:
    """Production settings on loopback: DEBUG off, no HTTPS redirect (no TLS here)."""
    return {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CHANNELS_PREFIX": "linli_bench",
        "DEBUG": "false",
        "SECRET_KEY": secret_key,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "HOST": "127.0.0.1",
        "PORT": str(args.port),
        "WS_PORT": str(args.ws_port),
        "LOG_LEVEL": "WARNING",
    }


def _manage(environment: dict[str, str], *arguments: str) -> None:
    subprocess.run(  # noqa: S603 — fixed argv, our own manage.py
        [PYTHON, str(ROOT / "manage.py"), *arguments],
        env=environment,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _database_prepare(args: argparse.Namespace, environment: dict[str, str]) -> None:
    import psycopg

    url = urlsplit(args.database_url)
    name = url.path.lstrip("/")
    if not name or name.startswith("test_"):
        sys.exit(f"refusing database {name!r}: the benchmark needs a database of its own")
    admin_url = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        if args.fresh:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    started = time.perf_counter()
    _manage(environment, "migrate", "--noinput")
    _manage(environment, "setup_roles")
    with psycopg.connect(args.database_url) as connection:
        stores = connection.execute("SELECT count(*) FROM stores_store").fetchone()[0]
    if stores < args.clients:
        if stores:
            sys.exit(f"{name} has {stores} stores, fewer than --clients: use --fresh")
        _manage(
            environment,
            "seed_demo",
            f"--stores={max(args.clients, 1)}",
            "--members=2000",
            "--days=14",
        )
    print(f"database {name} ready in {time.perf_counter() - started:.0f} s")


def _owner_sessions(count: int) -> list[tuple[int, str]]:
    """(store id, session key) for `count` owners, one per store, each logged in."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection, transaction

    from apps.stores.models import Store, StoreStaff
    from linli import roles

    user_model = get_user_model()
    stores = list(Store.objects.order_by("pk")[:count])
    password = make_password(secrets.token_urlsafe(16))
    backend = "django.contrib.auth.backends.ModelBackend"
    assert backend in settings.AUTHENTICATION_BACKENDS
    with transaction.atomic():
        user_model.objects.bulk_create(
            [
                user_model(username=f"{OWNER_PREFIX}{store.pk}", password=password)
                for store in stores
            ],
            ignore_conflicts=True,
        )
        users = {
            user.username: user
            for user in user_model.objects.filter(username__startswith=OWNER_PREFIX)
        }
        owners = Group.objects.get(name=roles.STORE_OWNERS)
        owners.user_set.add(*users.values())
        StoreStaff.objects.bulk_create(
            [
                StoreStaff(
                    user=users[f"{OWNER_PREFIX}{store.pk}"],
                    store=store,
                    role=StoreStaff.Role.OWNER,
                )
                for store in stores
            ],
            ignore_conflicts=True,
        )
        sessions = []
        for store in stores:
            user = users[f"{OWNER_PREFIX}{store.pk}"]
            session = SessionStore()
            session[SESSION_KEY] = str(user.pk)
            session[BACKEND_SESSION_KEY] = backend
            session[HASH_SESSION_KEY] = user.get_session_auth_hash()
            session.create()
            sessions.append((store.pk, session.session_key))
    connection.close()  # the run counts the server's connections only
    return sessions


# --- the server --------------------------------------------------------------------------------


def _connection_bound(environment: dict[str, str]) -> int:
    printed = subprocess.run(  # noqa: S603
        [str(ROOT / "bin" / "run"), "--print"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in printed.splitlines():
        if line.startswith("web:"):
            print("web command:", shlex.join(shlex.split(line.removeprefix("web:"))))
        if line.startswith("postgresql-connections-max:"):
            return int(line.split(":")[1])
    sys.exit("bin/run --print named no connection bound (is DATABASE_URL PostgreSQL?)")


def _server_start(environment: dict[str, str], ports: list[int], log: Path) -> subprocess.Popen:
    """Starts `bin/run`; returns once every port answers /healthz/ (daphne serves it too)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(  # noqa: S603
        [str(ROOT / "bin" / "run")],
        env=environment,
        cwd=ROOT,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, stopped as one at the end
    )
    deadline = time.monotonic() + 90
    waiting = list(ports)
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"bin/run exited with {server.returncode}; see {log}")
        with contextlib.suppress(OSError):
            url = f"http://127.0.0.1:{waiting[0]}/healthz/"
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    waiting.pop(0)
                    if not waiting:
                        return server
                    continue
        time.sleep(0.5)
    _server_stop(server)
    sys.exit(f"the server did not answer /healthz/ within 90 s; see {log}")


def _server_stop(server: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


class ConnectionSampler(threading.Thread):
    """Counts the benchmark database's backends once a second (its own one excluded)."""

    def __init__(self, database_url: str) -> None:
        super().__init__(daemon=True)
        self.database_url = database_url
        self.samples: list[int] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        import psycopg

        name = urlsplit(self.database_url).path.lstrip("/")
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            while not self.stopped.is_set():
                row = connection.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    [name],
                ).fetchone()
                self.samples.append(row[0])
                self.stopped.wait(1)

    def take(self) -> list[int]:
        taken, self.samples = self.samples, []
        return taken


# --- the clients -------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    name: str
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    connections: list[int] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _get(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bool]:
    """One HTTP/1.1 keep-alive exchange; (status, the server keeps the connection open)."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    else:
        await reader.read()
        return status, False
    return status, headers.get("connection", "").lower() != "close"


async def _client(
    port: int,
    path: str,
    cookie: str,
    *,
    measure_from: float,
    stop_at: float,
    think: float,
    timeout: float,
    result: PhaseResult,
) -> None:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: sessionid={cookie}\r\n"
        "Accept-Language: zh-hans\r\n\r\n"
    ).encode()
    reader = writer = None
    while time.monotonic() < stop_at:
        started = time.monotonic()
        outcome = "ok"
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", port), timeout
                )
            status, keep_open = await asyncio.wait_for(_get(reader, writer, request), timeout)
            if status != 200:
                outcome = f"HTTP {status}"
            if not keep_open:
                writer.close()
                writer = None
        except TimeoutError:
            outcome = "timeout"
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as error:
            outcome = type(error).__name__
        if outcome != "ok" and writer is not None:
            writer.close()
            writer = None
        finished = time.monotonic()
        if started >= measure_from and finished <= stop_at:
            result.latencies.append(finished - started)
            if outcome != "ok":
                result.errors[outcome] = result.errors.get(outcome, 0) + 1
        if think:
            await asyncio.sleep(think)
    if writer is not None:
        writer.close()


async def _websocket_accepted(port: int, store_id: int, cookie: str) -> bool:
    """Opens the store page's live socket as the browser would; True when daphne accepts it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            (
                f"GET /ws/stores/{store_id}/notifications/ HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                f"Sec-WebSocket-Key: {base64.b64encode(secrets.token_bytes(16)).decode()}\r\n"
                f"Cookie: sessionid={cookie}\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        return head.split(b" ", 2)[1] == b"101"
    finally:
        writer.close()


async def _websockets_check(port: int, sessions: list[tuple[int, str]]) -> int:
    accepted = await asyncio.gather(
        *(_websocket_accepted(port, store_id, key) for store_id, key in sessions),
        return_exceptions=True,
    )
    return sum(result is True for result in accepted)


async def _phase(
    name: str,
    paths_and_cookies: list[tuple[str, str]],
    args: argparse.Namespace,
    sampler: ConnectionSampler,
) -> PhaseResult:
    result = PhaseResult(name=name, seconds=args.seconds)
    measure_from = time.monotonic() + args.warmup
    stop_at = measure_from + args.seconds
    clients = [
        _client(
            args.port,
            path,
            cookie,
            measure_from=measure_from,
            stop_at=stop_at,
            think=args.think,
            timeout=args.timeout,
            result=result,
        )
        for path, cookie in paths_and_cookies
    ]
    sampler.take()
    await asyncio.gather(*clients)
    result.connections = sampler.take()
    return result


def _report(result: PhaseResult, bound: int) -> None:
    rate = result.requests / result.seconds
    p50, p95, p99 = (result.percentile(fraction) * 1000 for fraction in (0.50, 0.95, 0.99))
    print(
        f"{result.name:10} {rate:8.1f} req/s  p50 {p50:7.0f} ms  "
        f"p95 {p95:7.0f} ms  p99 {p99:7.0f} ms"
        f"  errors {result.error_count}/{result.requests} {result.errors or ''}"
        f"  PostgreSQL connections max {max(result.connections, default=0)}"
        f" (mean {statistics.fmean(result.connections or [0]):.1f}, bound {bound})"
    )


def main() -> int:
    args = _arguments()
    secret_key = secrets.token_urlsafe(64)
    environment = _server_environment(args, secret_key)
    for key in ("DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"):
        os.environ[key] = environment[key]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    sys.path.insert(0, str(ROOT))

    _database_prepare(args, environment)
    sessions = _owner_sessions(args.clients)
    bound = _connection_bound(environment)
    log = ROOT / "var" / "bench" / "web_load_server.log"
    server = _server_start(environment, [args.port, args.ws_port], log)
    sampler = ConnectionSampler(args.database_url)
    sampler.start()
    print(
        f"{len(sessions)} owners, {args.seconds:.0f} s per phase after {args.warmup:.0f} s warm-up,"
        f" think {args.think} s, {os.cpu_count()} cores; server log {log}"
    )
    try:
        accepted = asyncio.run(_websockets_check(args.ws_port, sessions))
        print(f"websockets: {accepted}/{len(sessions)} owners' live sockets accepted by daphne")
        dashboard = asyncio.run(
            _phase(
                "dashboard",
                [(f"/portal/stores/{store_id}/", key) for store_id, key in sessions],
                args,
                sampler,
            )
        )
        _report(dashboard, bound)
        baseline = asyncio.run(
            _phase("healthz", [("/healthz/", key) for _store_id, key in sessions], args, sampler)
        )
        _report(baseline, bound)
    finally:
        sampler.stopped.set()
        _server_stop(server)

    print(
        f"ratios dashboard / healthz: req/s {dashboard.requests / max(baseline.requests, 1):.2f}"
        f", p50 {dashboard.percentile(0.5) / baseline.percentile(0.5):.1f}x"
        f", p95 {dashboard.percentile(0.95) / baseline.percentile(0.95):.1f}x"
    )
    p95_ms = dashboard.percentile(0.95) * 1000
    highest = max(dashboard.connections + baseline.connections, default=0)
    verdicts = {
        "0 errors": dashboard.error_count == 0,
        "every live socket accepted": accepted == len(sessions),
        f"p95 < {args.target_p95_ms:.0f} ms ({p95_ms:.0f} ms)": p95_ms < args.target_p95_ms,
        f"connections <= {bound} ({highest})": highest <= bound,
    }
    for verdict, met in verdicts.items():
        print(f"{'met' if met else 'MISSED':6} {verdict}")
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
