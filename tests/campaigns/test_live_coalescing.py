"""Coalescing of the live dashboard's updates (apps/campaigns/services/live.py): a burst of
changes becomes one message at the window's start and one at its end with the final figures;
updates chain version to version; nothing is sent for a rolled-back change; a Redis and channel
layer that cannot be reached never fail the caller. Across processes (Redis): two processes
changing one broadcast at once send far fewer messages than changes, and the last message
carries the final totals.

Data is committed (`transaction=True`): the notice acts on commit. Within one process the window's
end is fired by hand (`timers`); the cross-process test runs the real timers in the children.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models import F

from apps.campaigns.models import GroupBuyOffer
from apps.campaigns.services import live as live_services
from tests.campaigns.factories import BroadcastFactory, GroupBuyJoinFactory, GroupBuyOfferFactory

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[2]


class ManualTimers:
    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []

    def __call__(self, delay: float, function: Callable[[], None]) -> None:
        self.pending.append(function)

    def fire_all(self) -> None:
        while self.pending:
            due, self.pending = self.pending, []
            for function in due:
                function()


@pytest.fixture
def prefix(settings: Any) -> str:
    settings.LIVE_DASHBOARD_PREFIX = f"test-{uuid.uuid4().hex}"
    return settings.LIVE_DASHBOARD_PREFIX


@pytest.fixture
def timers(prefix: str, settings: Any, monkeypatch: pytest.MonkeyPatch) -> ManualTimers:
    manual = ManualTimers()
    monkeypatch.setattr(live_services, "scheduler", manual)
    # A window ends only when the test fires it (the lock's expiry would end it on its own).
    settings.LIVE_DASHBOARD_WINDOW_MS = 10 * 60 * 1000
    return manual


@pytest.fixture
def offer(db: None) -> GroupBuyOffer:
    return GroupBuyOfferFactory(broadcast=BroadcastFactory(), cap=500)


def _join(offer: GroupBuyOffer, quantity: int = 1) -> None:
    with transaction.atomic():
        GroupBuyJoinFactory(offer=offer, quantity=quantity)
        GroupBuyOffer.objects.filter(pk=offer.pk).update(
            units_joined=F("units_joined") + quantity, participants=F("participants") + 1
        )
        live_services.broadcast_changed(broadcast_id=offer.broadcast_id)


class _Listener:
    """A channel in the broadcast's group, as a consumer would be."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.layer = get_channel_layer()
        self.channel = ""

    async def __aenter__(self) -> _Listener:
        self.channel = await self.layer.new_channel()
        await self.layer.group_add(self.group, self.channel)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.layer.group_discard(self.group, self.channel)

    async def drain(self, quiet: float = 1.0) -> list[dict[str, Any]]:
        """Every message until none has come for `quiet` seconds."""
        messages = []
        while True:
            try:
                message = await asyncio.wait_for(self.layer.receive(self.channel), quiet)
            except TimeoutError:
                return messages
            messages.append(json.loads(message["text"])["payload"])


def _version(message: dict[str, Any]) -> int:
    return message["snapshot"]["version"] if message["kind"] == "snapshot" else message["version"]


def _apply(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The page's rule: a snapshot replaces, an update applies only onto its previous version."""
    state: dict[str, Any] = {}
    for message in messages:
        if message["kind"] == "snapshot":
            state = dict(message["snapshot"])
        else:
            assert message["previous_version"] == state["version"], "a version was skipped"
            state.update(message["changes"], version=message["version"])
    return state


async def test_a_burst_of_changes_sends_one_message_now_and_one_with_the_final_totals(
    offer, timers
):
    group = live_services.live_broadcast_group(offer.broadcast_id)
    async with _Listener(group) as listener:
        for _ in range(30):
            await database_sync_to_async(_join)(offer, 2)
        during = await listener.drain(quiet=0.5)
        await database_sync_to_async(timers.fire_all)()
        after = await listener.drain(quiet=0.5)

    assert [message["kind"] for message in during] == ["snapshot"]
    assert during[0]["snapshot"]["orders"] == 1
    assert [message["kind"] for message in after] == ["update"]
    assert after[0]["previous_version"] == during[0]["snapshot"]["version"]
    assert after[0]["version"] == 30
    assert (after[0]["changes"]["orders"], after[0]["changes"]["units"]) == (30, 60)
    assert timers.pending == []  # the window closed: nothing left to flush


async def test_a_window_without_further_changes_sends_nothing_at_its_end(offer, timers):
    group = live_services.live_broadcast_group(offer.broadcast_id)
    async with _Listener(group) as listener:
        await database_sync_to_async(_join)(offer)
        await database_sync_to_async(timers.fire_all)()
        messages = await listener.drain(quiet=0.5)

    assert [message["kind"] for message in messages] == ["snapshot"]


async def test_updates_chain_version_to_version_across_windows(offer, timers):
    group = live_services.live_broadcast_group(offer.broadcast_id)
    async with _Listener(group) as listener:
        for _window in range(3):
            for _ in range(4):
                await database_sync_to_async(_join)(offer)
            await database_sync_to_async(timers.fire_all)()
        messages = await listener.drain(quiet=0.5)

    # Each quiet period ends with its window closed: the next change is sent at once, the rest
    # of its burst at the end of its window.
    assert [_version(message) for message in messages] == [1, 4, 5, 8, 9, 12]
    state = _apply(messages)
    assert (state["version"], state["orders"]) == (12, 12)


async def test_the_overview_is_coalesced_too(offer, timers):
    async with _Listener(live_services.live_overview_group()) as listener:
        for _ in range(10):
            await database_sync_to_async(_join)(offer)
        await database_sync_to_async(timers.fire_all)()
        messages = await listener.drain(quiet=0.5)

    assert len(messages) == 2
    assert _apply(messages)["version"] == 10


def _rolled_back_change(offer: GroupBuyOffer) -> None:
    try:
        with transaction.atomic():
            live_services.broadcast_changed(broadcast_id=offer.broadcast_id)
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass


async def test_a_rolled_back_change_sends_nothing_and_keeps_the_version(offer, timers):
    group = live_services.live_broadcast_group(offer.broadcast_id)
    async with _Listener(group) as listener:
        await database_sync_to_async(_rolled_back_change)(offer)
        await database_sync_to_async(timers.fire_all)()
        messages = await listener.drain(quiet=0.5)

    assert messages == []
    current = await database_sync_to_async(live_services.live_broadcast_current)(
        broadcast_id=offer.broadcast_id
    )
    assert current["version"] == 0


def _round_trips_of_one_join(offer: GroupBuyOffer, monkeypatch: pytest.MonkeyPatch) -> int:
    """Redis round trips (packets sent by redis-py) made by one change's notice."""
    from redis.connection import AbstractConnection

    sent: list[int] = []
    original = AbstractConnection.send_packed_command

    def counting(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        sent.append(1)
        original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    try:
        _join(offer)
    finally:
        monkeypatch.setattr(AbstractConnection, "send_packed_command", original)
    return len(sent)


@pytest.mark.redis
async def test_a_change_inside_open_windows_costs_one_redis_round_trip_for_both_feeds(
    offer, timers, monkeypatch
):
    group = live_services.live_broadcast_group(offer.broadcast_id)
    async with _Listener(group) as listener:
        await database_sync_to_async(_join)(offer)  # opens both windows (and flushes both)
        round_trips = await database_sync_to_async(_round_trips_of_one_join)(offer, monkeypatch)
        during = await listener.drain(quiet=0.5)

    assert round_trips == 1
    assert [_version(message) for message in during] == [1]  # nothing sent for the second
    state = live_services._state()
    counters = [
        state.get_int(live_services._key(key, "version"))
        for key in (str(offer.broadcast_id), live_services.OVERVIEW_KEY)
    ]
    assert counters == [2, 2]  # both feeds counted the change


@pytest.mark.redis
async def test_window_ends_run_on_one_thread_per_process_and_end_on_the_final_totals(
    offer, prefix, settings
):
    settings.LIVE_DASHBOARD_WINDOW_MS = 50  # the real window thread, short windows
    group = live_services.live_broadcast_group(offer.broadcast_id)
    async with _Listener(group) as listener:
        for _ in range(6):
            for _ in range(3):
                await database_sync_to_async(_join)(offer)
            await asyncio.sleep(0.08)
        messages = await listener.drain(quiet=1.0)

    window_threads = [
        thread
        for thread in threading.enumerate()
        if thread.name == live_services.WINDOW_THREAD_NAME
    ]
    assert len(window_threads) == 1
    final = _apply(messages)
    assert (final["version"], final["orders"]) == (18, 18)


@pytest.mark.parametrize("redis_down", [True, False], ids=["redis-down", "layer-down"])
def test_unreachable_redis_or_channel_layer_never_fail_the_caller(
    offer, timers, settings, redis_down
):
    from channels.layers import channel_layers

    unreachable = "redis://127.0.0.1:1/0"
    if redis_down:
        settings.REDIS_URL = unreachable
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [unreachable]},
        }
    }
    channel_layers.backends.clear()
    try:
        _join(offer)  # commits; the notice is logged and dropped
        timers.fire_all()
    finally:
        channel_layers.backends.clear()

    assert GroupBuyOffer.objects.get(pk=offer.pk).units_joined == 1


CHILD = textwrap.dedent(
    """
    import sys, time
    import django
    django.setup()
    from django.conf import settings
    from django.db import transaction
    from django.db.models import F
    from apps.campaigns.models import GroupBuyJoin, GroupBuyOffer
    from apps.campaigns.services import live
    settings.LIVE_DASHBOARD_PREFIX = sys.argv[1]
    offer_id, changes, tag = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    offer = GroupBuyOffer.objects.get(pk=offer_id)
    for number in range(changes):
        with transaction.atomic():
            GroupBuyJoin.objects.create(
                offer=offer, quantity=1, source="api", idempotency_key=f"{tag}-{number}"
            )
            GroupBuyOffer.objects.filter(pk=offer_id).update(
                units_joined=F("units_joined") + 1, participants=F("participants") + 1
            )
            live.broadcast_changed(broadcast_id=offer.broadcast_id)
    # A long-lived web or worker process keeps running; this one waits for its window timers.
    time.sleep(live.live_window_seconds() * 4)
    """
)


def _run_children(prefix: str, offer: GroupBuyOffer, changes: int) -> None:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "linli.settings",
        "DATABASE_URL": "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(
            **{key: connection.settings_dict[key] or "" for key in ("USER", "HOST", "PORT")},
            NAME=connection.settings_dict["NAME"],
        ),
        "REDIS_URL": django_settings.REDIS_URL,
    }
    children = [
        subprocess.Popen(  # noqa: S603 — our own interpreter and script
            [sys.executable, "-c", CHILD, prefix, str(offer.pk), str(changes), f"p{number}"],
            cwd=REPO,
            env=environment,
        )
        for number in range(2)
    ]
    assert [child.wait(timeout=120) for child in children] == [0, 0]


@pytest.mark.redis
@pytest.mark.postgres
async def test_two_processes_coalesce_through_redis_and_the_last_message_has_the_final_totals(
    offer, prefix
):
    changes = 60
    group = live_services.live_broadcast_group(offer.broadcast_id)
    async with _Listener(group) as listener:
        await database_sync_to_async(_run_children)(prefix, offer, changes)
        messages = await listener.drain(quiet=1.0)

    assert 1 <= len(messages) <= 2 * changes // 4
    final = _apply(sorted(messages, key=_version))
    assert (final["orders"], final["units"]) == (2 * changes, 2 * changes)
    assert final["version"] == 2 * changes
