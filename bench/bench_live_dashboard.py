"""Benchmark: the live dashboard under load — 300 websocket viewers of one broadcast while
group-buy orders arrive at 50/s for 60 s, coalesced updates against one message per order.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli_h5 REDIS_URL=redis://127.0.0.1:6379/5 \
        python bench/bench_live_dashboard.py [--viewers 300] [--rate 50] [--seconds 60] \
        [--producers 4] [--writes service|direct] [--keep]

It creates its own database (`<name>_bench_live` beside DATABASE_URL's, migrated; refused for
`test_*` names) and uses the Redis database of REDIS_URL under prefixes of its own (channel layer
and dashboard state), then starts daphne (`linli.asgi`, DEBUG off) in a subprocess, with one
store, its owner (a real database session), a live broadcast and one open offer with stock.

`--viewers` asyncio websocket clients (a minimal RFC 6455 client on asyncio streams: the venv has
no `websockets` package) open ws/broadcasts/<id>/live/ with the owner's cookie and keep state
exactly as static/linli/live-dashboard.js does (a snapshot replaces, an update applies only onto
its previous version, a gap asks for a resync). Then two phases in the same run, same viewers:

1. coalesced (the design): `--producers` processes (4; a web or worker process each) place
   orders on one schedule of `--rate` per second for `--seconds`, through the real join service
   `group_buy_join` (order, stock, join row, offer counters; `--writes service`, the default) or
   by bumping the join rows and offer counters in one transaction (`--writes direct`, cheaper:
   for a machine that cannot keep the rate through the service); either way
   `broadcast_changed` follows each commit and coalesces per ~300 ms window.
2. naive (the baseline a competent engineer writes first): the same producers and the same
   writes, but each commit computes the snapshot and sends it to the group — one message per
   order (the producers swap `broadcast_changed` for that function).

For each phase: order-to-screen latency p50/p95/max over every (viewer, order) pair — from the
producer's commit to the first message after which that viewer's state counts the order (both
processes read the same clock) —, whether every viewer ends on the final totals (orders and GMV
equal to the database's), the group messages sent (distinct messages every viewer received) and
the frames delivered (their sum over viewers). Ratios compare the two designs. Exits 1 when the
coalesced phase misses p95 < 500 ms (`--target-p95-ms`) or a viewer ends on other totals.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = str(ROOT / ".venv" / "bin" / "python")
if not Path(PYTHON).exists():
    PYTHON = sys.executable
PRICE = Decimal("19.90")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0, help="orders per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of orders per phase")
    parser.add_argument(
        "--producers", type=int, default=4, help="processes placing orders (rate split evenly)"
    )
    parser.add_argument(
        "--writes",
        choices=["service", "direct"],
        default="service",
        help="orders through group_buy_join (order, stock, join), or the join rows bumped directly",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--target-p95-ms", type=float, default=500.0)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    # Internal: the producer process.
    parser.add_argument("--produce", choices=["coalesced", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--offer", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--part", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


def _bench_database(url: str) -> tuple[str, str]:
    parsed = urlsplit(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        sys.exit("DATABASE_URL must point at PostgreSQL for this benchmark.")
    base = parsed.path.lstrip("/") or "linli"
    if base.startswith("test_"):
        sys.exit(f"refusing database {base!r}: the benchmark needs a database of its own")
    name = f"{base}_bench_live"
    return parsed._replace(path=f"/{name}").geturl(), name


def _environment(args: argparse.Namespace, database_url: str, tag: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "linli.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": args.redis_url,
        "CHANNELS_PREFIX": f"bench_live_{tag}",
        "LIVE_DASHBOARD_PREFIX": f"bench-live-{tag}",
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
    }


def _database_prepare(database_url: str, name: str, environment: dict[str, str]) -> None:
    import psycopg

    admin_url = urlsplit(database_url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    subprocess.run(  # noqa: S603 — fixed argv, our own manage.py
        [PYTHON, str(ROOT / "manage.py"), "migrate", "--noinput"],
        env=environment,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _database_drop(database_url: str, name: str) -> None:
    import psycopg

    admin_url = urlsplit(database_url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fixture(total_orders: int) -> dict[str, Any]:
    """A store, its owner with a session, a live broadcast and one open offer with stock."""
    import datetime as dt

    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.utils import timezone

    from apps.campaigns.models import (
        Broadcast,
        Campaign,
        GroupBuyOffer,
        ScenarioTemplate,
        StoreCampaign,
    )
    from apps.catalog.models import Category, Product
    from apps.stores.models import Region, StockLevel, Store, StoreStaff

    now = timezone.now()
    region = Region.objects.create(code="BENCH", name="Bench", city="Bench")
    store = Store.objects.create(code="BENCH-1", name="邻里 Bench", region=region)
    user = get_user_model().objects.create_user(username="bench_live_owner")
    StoreStaff.objects.create(user=user, store=store, role=StoreStaff.Role.OWNER)
    category = Category.objects.create(name="水果")
    product = Product.objects.create(
        sku="BENCH-BLUEBERRY",
        name="云南蓝莓",
        category=category,
        price=Decimal("25.00"),
        selling_points="甜度高\n现摘直发",
    )
    StockLevel.objects.create(store=store, product=product, on_hand=total_orders * 10 + 100)
    template = ScenarioTemplate.objects.create(
        code="bench-live", name="Bench", suggested_hour=20, duration_days=1
    )
    campaign = Campaign.objects.create(
        name="Bench live",
        template=template,
        origin=Campaign.Origin.HQ,
        starts_on=now.date(),
        ends_on=now.date(),
        broadcast_hour=20,
    )
    store_campaign = StoreCampaign.objects.create(
        campaign=campaign, store=store, status=StoreCampaign.Status.CONFIRMED, confirmed_at=now
    )
    broadcast = Broadcast.objects.create(
        store_campaign=store_campaign,
        store=store,
        status=Broadcast.Status.LIVE,
        scheduled_at=now,
        started_at=now,
    )
    offer = GroupBuyOffer.objects.create(
        broadcast=broadcast,
        product=product,
        price=PRICE,
        threshold=100,
        cap=total_orders * 10 + 100,
        deadline=now + dt.timedelta(days=1),
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    connection.close()
    return {"broadcast": broadcast.pk, "offer": offer.pk, "session": session.session_key}


# --- the producer (its own process: a web or worker process taking orders) -------------------


def _produce(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.db import transaction
    from django.db.models import F

    from apps.campaigns.models import GroupBuyJoin, GroupBuyOffer
    from apps.campaigns.selectors.live import broadcast_snapshot
    from apps.campaigns.services import group_buys, live
    from linli import realtime

    offer = GroupBuyOffer.objects.select_related("broadcast__store").get(pk=args.offer)
    broadcast = offer.broadcast
    notify = live.broadcast_changed
    sent = {"messages": 0}  # group sends by this process (naive design only)
    if args.produce == "naive":
        import redis

        versions = redis.Redis.from_url(os.environ["REDIS_URL"])
        version_key = os.environ["LIVE_DASHBOARD_PREFIX"] + ":naive-version"
        versions.set(version_key, 10_000_000, nx=True)  # above any coalesced version

        def naive_changed(*, broadcast_id: int) -> None:
            def send() -> None:
                sent["messages"] += 1
                version = int(versions.incr(version_key))  # shared by every producer
                broadcast.refresh_from_db()
                snapshot = broadcast_snapshot(broadcast=broadcast, version=version)
                realtime.broadcast(
                    live.live_broadcast_group(broadcast_id),
                    event=live.UPDATE_EVENT,
                    payload={"kind": "snapshot", "sent_at": time.time(), "snapshot": snapshot},
                )

            transaction.on_commit(send)

        notify = naive_changed
        group_buys.broadcast_changed = naive_changed  # the one difference between the phases

    def place(number: int) -> None:
        if args.writes == "service":
            group_buys.group_buy_join(
                offer=offer,
                quantity=1,
                idempotency_key=f"{args.produce}-{number}",
                display_name=f"邻居{number}",
            )
            return
        with transaction.atomic():
            GroupBuyJoin.objects.create(
                offer=offer,
                quantity=1,
                source=GroupBuyJoin.Source.API,
                idempotency_key=f"{args.produce}-{number}",
                display_name=f"邻居{number}",
            )
            GroupBuyOffer.objects.filter(pk=offer.pk).update(
                units_joined=F("units_joined") + 1, participants=F("participants") + 1
            )
            notify(broadcast_id=broadcast.pk)

    # This process places every `producers`-th order of the schedule, starting at `part`.
    total = int(args.rate * args.seconds)
    interval = 1.0 / args.rate
    started = time.perf_counter()
    committed = []
    for number in range(args.part, total, args.producers):
        due = started + number * interval
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        place(number)
        committed.append(time.time())  # after commit and the on-commit notice
    lag = time.perf_counter() - started - (total - 1) * interval
    # Let the last window end (its timer runs in this process) before exiting.
    time.sleep(live.live_window_seconds() * 4)
    Path(args.out).write_text(
        json.dumps({"committed": committed, "lag": lag, "sent": sent["messages"]})
    )


# --- the viewers ------------------------------------------------------------------------------


@dataclass
class Viewer:
    number: int
    snapshot: dict[str, Any] | None = None
    seen: list[tuple[float, int]] = field(default_factory=list)  # (time, orders in state)
    group_messages: set[Any] = field(default_factory=set)
    frames: int = 0
    resyncs: int = 0
    connects: int = 0
    writer: asyncio.StreamWriter | None = None

    def apply(self, data: dict[str, Any]) -> bool:
        """The page's rule; True when a resync must be asked."""
        payload = data.get("payload", {})
        current = self.snapshot["version"] if self.snapshot else -1
        if data.get("event") != "live.snapshot":
            self.frames += 1
            key = payload.get("version") or payload.get("snapshot", {}).get("version")
            self.group_messages.add(key)
        if payload.get("kind") == "snapshot":
            if data.get("event") == "live.snapshot" or payload["snapshot"]["version"] > current:
                self.snapshot = payload["snapshot"]
        elif payload.get("kind") == "update" and payload["version"] > current:
            if self.snapshot is not None and payload["previous_version"] == current:
                self.snapshot = {**self.snapshot, **payload["changes"]}
                self.snapshot["version"] = payload["version"]
            else:
                self.resyncs += 1
                return True
        if self.snapshot is not None:
            self.seen.append((time.time(), self.snapshot["orders"]))
        return False


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readexactly(2)
    opcode, length = head[0] & 0x0F, head[1] & 0x7F
    if length == 126:
        length = struct.unpack("!H", await reader.readexactly(2))[0]
    elif length == 127:
        length = struct.unpack("!Q", await reader.readexactly(8))[0]
    return opcode, await reader.readexactly(length)


def _client_frame(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return header + mask + masked


async def _viewer_session(
    viewer: Viewer, port: int, path: str, cookie: str, ready: asyncio.Event
) -> None:
    """One socket's life: handshake, then frames until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=2**22)
    viewer.writer = writer
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Origin: http://127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nCookie: sessionid={cookie}\r\n\r\n"
            ).encode()
        )
        status = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in status.split(b"\r\n", 1)[0]:
            return
        buffer = b""
        while True:
            opcode, payload = await _read_frame(reader)
            if opcode == 0x8:
                return
            if opcode == 0x9:
                writer.write(_client_frame(0xA, payload))
                continue
            buffer += payload
            data = json.loads(buffer.decode())
            buffer = b""
            if viewer.apply(data):
                writer.write(_client_frame(0x1, b'{"type": "resync"}'))
            if viewer.snapshot is not None:
                ready.set()
    except (asyncio.IncompleteReadError, ConnectionError, OSError):
        return
    finally:
        writer.close()


async def _viewer(viewer: Viewer, port: int, path: str, cookie: str, ready: asyncio.Event) -> None:
    """A page: reconnects (with backoff, as live-dashboard.js does) until cancelled; each
    reconnect starts from the connect's snapshot."""
    delay = 0.5
    while True:
        viewer.connects += 1
        await _viewer_session(viewer, port, path, cookie, ready)
        await asyncio.sleep(delay)
        delay = min(delay * 2, 8.0)


# --- measuring --------------------------------------------------------------------------------


def _latencies(viewers: list[Viewer], committed: list[float], first_order: int) -> list[float]:
    """Per (viewer, order): from the order's commit to the first state that counts it."""
    latencies = []
    for viewer in viewers:
        seen = viewer.seen
        index = 0
        for number, at in enumerate(committed, start=first_order + 1):
            while index < len(seen) and seen[index][1] < number:
                index += 1
            if index == len(seen):
                break
            latencies.append(max(0.0, seen[index][0] - at))
    return latencies


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Phase:
    name: str
    orders: int
    latencies: list[float]
    on_final: int
    viewers: int
    group_messages: int
    frames: int
    resyncs: int
    lag: float
    settle: float


async def _phase(
    name: str,
    args: argparse.Namespace,
    environment: dict[str, str],
    fixture: dict[str, Any],
    viewers: list[Viewer],
    first_order: int,
) -> Phase:
    import psycopg

    out = ROOT / "var" / f"bench_live_{name}"
    out.parent.mkdir(exist_ok=True)
    marks = [(len(v.seen), set(v.group_messages), v.frames, v.resyncs) for v in viewers]
    producers = [
        await asyncio.create_subprocess_exec(
            PYTHON,
            str(Path(__file__).resolve()),
            "--produce",
            name,
            "--offer",
            str(fixture["offer"]),
            "--rate",
            str(args.rate),
            "--seconds",
            str(args.seconds),
            "--producers",
            str(args.producers),
            "--writes",
            args.writes,
            "--part",
            str(part),
            "--out",
            str(out.with_suffix(f".{part}.json")),
            env=environment,
            cwd=ROOT,
        )
        for part in range(args.producers)
    ]
    if [await producer.wait() for producer in producers] != [0] * len(producers):
        raise RuntimeError(f"{name}: a producer failed")
    parts = [
        json.loads(out.with_suffix(f".{part}.json").read_text()) for part in range(args.producers)
    ]
    # The k-th commit of the phase (in time) is the one a state of k orders first counts.
    result = {
        "committed": sorted(at for part in parts for at in part["committed"]),
        "lag": max(part["lag"] for part in parts),
        "sent": sum(part["sent"] for part in parts),
    }
    # Frames still in flight: wait until none has arrived for 3 s (at most 120 s).
    settle_started = time.monotonic()
    frames = -1
    while time.monotonic() - settle_started < 120:
        now_frames = sum(v.frames for v in viewers)
        if now_frames == frames:
            break
        frames = now_frames
        await asyncio.sleep(3.0)
    settle = time.monotonic() - settle_started
    with psycopg.connect(environment["DATABASE_URL"]) as connection:
        orders, units = connection.execute(
            "SELECT count(*), coalesce(sum(quantity), 0) FROM campaigns_groupbuyjoin "
            "WHERE offer_id = %s AND status <> 'cancelled'",
            [fixture["offer"]],
        ).fetchone()
    gmv = str((PRICE * units).quantize(Decimal("0.01")))
    on_final = sum(
        1
        for v in viewers
        if v.snapshot is not None and (v.snapshot["orders"], v.snapshot["gmv"]) == (orders, gmv)
    )
    phase_viewers = []
    for viewer, (seen_mark, _messages, _frames, _resyncs) in zip(viewers, marks, strict=True):
        phase_viewers.append(Viewer(viewer.number, viewer.snapshot, viewer.seen[seen_mark:]))
    received = max(
        (len(v.group_messages - mark[1]) for v, mark in zip(viewers, marks, strict=True)),
        default=0,
    )
    # The naive producers count their sends; a coalesced flush is seen by every viewer (no
    # version is skipped when no resync was needed), so the distinct versions received count it.
    group_messages = result["sent"] if name == "naive" else received
    return Phase(
        name=name,
        orders=len(result["committed"]),
        latencies=_latencies(phase_viewers, result["committed"], first_order),
        on_final=on_final,
        viewers=len(viewers),
        group_messages=group_messages,
        frames=sum(v.frames - mark[2] for v, mark in zip(viewers, marks, strict=True)),
        resyncs=sum(v.resyncs - mark[3] for v, mark in zip(viewers, marks, strict=True)),
        lag=result["lag"],
        settle=settle,
    )


def _report(phase: Phase) -> None:
    ms = [value * 1000 for value in phase.latencies]
    print(
        f"{phase.name:>9}: {phase.orders} orders, latency p50 {_percentile(ms, 0.5):.0f} ms, "
        f"p95 {_percentile(ms, 0.95):.0f} ms, max {max(ms, default=float('nan')):.0f} ms "
        f"({len(ms)} viewer-order pairs); {phase.on_final}/{phase.viewers} viewers on the final "
        f"totals; {phase.group_messages} group messages sent, {phase.frames} frames delivered "
        f"({phase.group_messages * phase.viewers - phase.frames} dropped at full channels), "
        f"{phase.resyncs} resyncs; producers behind schedule by {phase.lag:.2f} s; frames "
        f"settled {phase.settle:.0f} s after the last order"
    )


async def _run(args: argparse.Namespace, environment: dict[str, str], fixture: dict) -> int:
    path = f"/ws/broadcasts/{fixture['broadcast']}/live/"
    viewers = [Viewer(number) for number in range(args.viewers)]
    readiness = [asyncio.Event() for _ in viewers]
    tasks = []
    for viewer, ready in zip(viewers, readiness, strict=True):
        tasks.append(
            asyncio.create_task(_viewer(viewer, args.port, path, fixture["session"], ready))
        )
        await asyncio.sleep(0.02)  # a page opened every 20 ms, not one burst of handshakes
    await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readiness)), 300)
    await asyncio.sleep(3.0)  # the viewer-count updates settle
    reconnects = sum(viewer.connects - 1 for viewer in viewers)
    print(f"{len(viewers)} viewers connected, each with a snapshot ({reconnects} reconnects)")

    coalesced = await _phase("coalesced", args, environment, fixture, viewers, first_order=0)
    _report(coalesced)
    naive = await _phase("naive", args, environment, fixture, viewers, coalesced.orders)
    _report(naive)
    for task in tasks:
        task.cancel()
    for viewer in viewers:
        if viewer.writer is not None:
            viewer.writer.close()

    coalesced_p95 = _percentile(coalesced.latencies, 0.95) * 1000
    naive_p95 = _percentile(naive.latencies, 0.95) * 1000
    print(
        "ratios (naive / coalesced): group messages "
        f"{naive.group_messages / max(coalesced.group_messages, 1):.1f}×, frames delivered "
        f"{naive.frames / max(coalesced.frames, 1):.1f}×, p95 latency "
        f"{naive_p95 / max(coalesced_p95, 1e-9):.2f}×; coalesced messages per order "
        f"{coalesced.group_messages / max(coalesced.orders, 1):.3f}"
    )
    failed = coalesced_p95 >= args.target_p95_ms or coalesced.on_final != coalesced.viewers
    print(
        f"target: coalesced p95 {coalesced_p95:.0f} ms < {args.target_p95_ms:.0f} ms and every "
        f"viewer on the final totals: {'FAIL' if failed else 'ok'}"
    )
    return 1 if failed else 0


def main() -> int:
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # the finally below stops daphne
    args = _arguments()
    if args.produce:
        _produce(args)
        return 0
    if not args.database_url or not args.redis_url:
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL (channels-redis needs Redis).")
    database_url, name = _bench_database(args.database_url)
    environment = _environment(args, database_url, secrets.token_hex(4))
    os.environ.update(environment)
    started = time.perf_counter()
    _database_prepare(database_url, name, environment)
    import django

    django.setup()
    total = int(args.rate * args.seconds) * 2
    fixture = _fixture(total)
    print(f"database {name} ready in {time.perf_counter() - started:.0f} s")
    log = (ROOT / "var" / "bench_live_daphne.log").open("w")
    server = subprocess.Popen(  # noqa: S603 — fixed argv
        [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(args.port), "linli.asgi:application"],
        env=environment,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        import socket

        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", args.port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("daphne did not start (see var/bench_live_daphne.log)")
                time.sleep(0.2)
        return asyncio.run(_run(args, environment, fixture))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            _database_drop(database_url, name)


if __name__ == "__main__":
    sys.exit(main())
