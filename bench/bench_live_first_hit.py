"""Benchmark: the live dashboard's first request in a fresh server process — what a store owner
waits for when opening the live page just before going live, right after a deploy or restart.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/linli_h5 REDIS_URL=redis://127.0.0.1:6379/5 \
        python bench/bench_live_first_hit.py [--rounds 5] [--keep]

Like bench_live_dashboard.py (whose helpers it uses) it creates its own database
(`<name>_bench_live`, migrated) with one store, its owner (a real database session), a live
broadcast with one open offer and 150 viewer comments, and a catalogue of 200 products (a
one-product broadcast reads the others' names for its talking points). Redis keys go under
prefixes of its own.

Each round starts a fresh daphne (`linli.asgi`, DEBUG off) for each case below, waits for its
port (the startup time, printed too: work moved to startup shows there), sends one request
with the owner's cookie, times it and a second one, and stops the server:

- baseline: the broadcast's own portal page (`/portal/campaigns/broadcasts/<id>/`, the page
  the owner starts the broadcast from and opens the live page from), a plain page: what any
  first request costs (the URLconf, the templates, the middleware), measured in the same run;
- live, new feed: the live page when the broadcast has no snapshot in Redis yet (the first
  opening of a broadcast: the page computes the snapshot);
- live, stored feed: the live page when Redis still holds the snapshot (a restart during the
  broadcast);
- websocket: `ws/broadcasts/<id>/live/` from the handshake to its first snapshot frame, on a
  fresh process with no snapshot stored (a page whose socket lands on a fresh process).

Prints the medians over the rounds and each case's first request as a ratio of the baseline's.
The baseline is the honest one: the same process start, the same user, a page that does nothing
special. No pass/fail target: machines differ; compare ratios, before and after a change.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_live_dashboard as live_bench  # noqa: E402

ROOT = live_bench.ROOT
PYTHON = live_bench.PYTHON
COMMENTS = 150
CATALOGUE = 200
OTHER_PRODUCTS = ("赣南脐橙", "麒麟西瓜", "新鲜鸡蛋", "阳光玫瑰", "海南香蕉")
CASES = ("baseline", "live_new_feed", "live_stored_feed", "websocket")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    return parser.parse_args()


def _fixture() -> dict[str, Any]:
    """bench_live_dashboard's store, owner, session, live broadcast and offer, plus comments
    and a catalogue around the offered product."""
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from apps.campaigns.models import Broadcast, BroadcastComment
    from apps.catalog.models import Category, Product

    fixture = live_bench._fixture(100)
    broadcast = Broadcast.objects.get(pk=fixture["broadcast"])
    category = Category.objects.first()
    Product.objects.bulk_create(
        Product(
            sku=f"BENCH-{number:04d}",
            name=f"{OTHER_PRODUCTS[number % len(OTHER_PRODUCTS)]} {number}",
            category=category,
            price=Decimal("9.90"),
        )
        for number in range(CATALOGUE - 1)
    )
    asked = ("甜不甜", "多少钱一盒", "怎么接龙", "还有吗", "什么时候到", "看着很新鲜", "来两盒")
    now = timezone.now()
    BroadcastComment.objects.bulk_create(
        BroadcastComment(
            broadcast=broadcast,
            author=f"邻居{number}",
            text=("蓝莓" if number % 2 else "") + asked[number % len(asked)],
            created_at=now - dt.timedelta(seconds=COMMENTS - number),
        )
        for number in range(COMMENTS)
    )
    return fixture


def _wait_for_port(port: int, server: subprocess.Popen[bytes]) -> float:
    started = time.perf_counter()
    deadline = time.monotonic() + 120
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return time.perf_counter() - started
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit("daphne did not start (see var/bench_live_first_hit.log)")
            time.sleep(0.02)


def _get(port: int, path: str, cookie: str) -> float:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Cookie": f"sessionid={cookie}"})
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {response.getheader('Location')}")
    return elapsed


def _websocket_snapshot(port: int, path: str, cookie: str) -> float:
    """From the TCP connect to the first snapshot frame (blocking socket; one frame read)."""
    import json

    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as connection:
        key = base64.b64encode(os.urandom(16)).decode()
        connection.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Origin: http://127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nCookie: sessionid={cookie}\r\n\r\n"
            ).encode()
        )
        stream = connection.makefile("rb")
        status = stream.readline()
        if b" 101 " not in status:
            raise RuntimeError(f"websocket handshake: {status!r}")
        while stream.readline() not in (b"\r\n", b""):
            pass
        head = stream.read(2)
        length = head[1] & 0x7F
        if length == 126:
            length = int.from_bytes(stream.read(2), "big")
        elif length == 127:
            length = int.from_bytes(stream.read(8), "big")
        frame = json.loads(stream.read(length))
        elapsed = time.perf_counter() - started
    if frame.get("event") != "live.snapshot":
        raise RuntimeError(f"first frame: {frame.get('event')}")
    return elapsed


def _forget_feeds(redis_url: str, prefix: str) -> None:
    """Drop the dashboard's stored snapshots and counters: the feed is new."""
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def _one(
    case: str, args: argparse.Namespace, environment: dict[str, str], fixture: dict[str, Any]
) -> tuple[float, float, float]:
    """(startup, first, second) of one case on a fresh daphne."""
    live_path = f"/portal/campaigns/broadcasts/{fixture['broadcast']}/live/"
    if case != "live_stored_feed":
        _forget_feeds(args.redis_url, environment["LIVE_DASHBOARD_PREFIX"])
    log = (ROOT / "var" / "bench_live_first_hit.log").open("a")
    server = subprocess.Popen(  # noqa: S603 — fixed argv
        [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(args.port), "linli.asgi:application"],
        env=environment,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        startup = _wait_for_port(args.port, server)
        cookie = fixture["session"]
        if case == "websocket":
            path = f"/ws/broadcasts/{fixture['broadcast']}/live/"
            return startup, *(_websocket_snapshot(args.port, path, cookie) for _ in range(2))
        path = (
            f"/portal/campaigns/broadcasts/{fixture['broadcast']}/"
            if case == "baseline"
            else live_path
        )
        return startup, *(_get(args.port, path, cookie) for _ in range(2))
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def main() -> int:
    args = _arguments()
    if not args.database_url or not args.redis_url:
        sys.exit("Set DATABASE_URL (PostgreSQL) and REDIS_URL (the dashboard's feeds).")
    database_url, name = live_bench._bench_database(args.database_url)
    environment = live_bench._environment(args, database_url, secrets.token_hex(4))
    os.environ.update(environment)
    live_bench._database_prepare(database_url, name, environment)
    import django

    django.setup()
    fixture = _fixture()
    (ROOT / "var").mkdir(exist_ok=True)
    # In each round the new-feed case stores the snapshot that the stored-feed case then finds.
    results: dict[str, list[tuple[float, float, float]]] = {case: [] for case in CASES}
    try:
        for number in range(args.rounds):
            for case in CASES:
                results[case].append(_one(case, args, environment, fixture))
            print(
                f"round {number + 1}: "
                + ", ".join(f"{case} {results[case][-1][1] * 1000:.0f} ms" for case in CASES),
                flush=True,
            )
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            live_bench._database_drop(database_url, name)
            _forget_feeds(args.redis_url, environment["LIVE_DASHBOARD_PREFIX"])
    baseline = statistics.median(first for _startup, first, _second in results["baseline"])
    print(f"medians over {args.rounds} rounds, each case on a fresh daphne:")
    for case in CASES:
        startup = statistics.median(row[0] for row in results[case])
        first = statistics.median(row[1] for row in results[case])
        second = statistics.median(row[2] for row in results[case])
        print(
            f"{case:>17}: startup {startup:.2f} s, first {first * 1000:.0f} ms "
            f"({first / baseline:.2f}× the baseline's first), second {second * 1000:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
