"""ws/broadcasts/<id>/live/ and ws/broadcasts/live/: refusals (anonymous, another store's owner,
a supplier, an inspector, a foreign origin; owners on the HQ overview), the versioned snapshot on
connect, a coalesced update after a change that chains onto it, the resync frame, the sockets
not counted as viewers (the platform's reports are), and logout closing the socket.

Run against the full `linli.asgi.application`; data is committed (`transaction=True`) because the
consumer reads from worker threads. The coalescing window's end is fired by hand (`timers`), so
nothing here waits on a clock.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.campaigns import consumers
from apps.campaigns.models import Broadcast, GroupBuyOffer
from apps.campaigns.services import live as live_services
from apps.campaigns.services.broadcasts import broadcast_viewers_report
from apps.stores.models import StoreStaff
from linli.asgi import application
from tests.campaigns.factories import (
    BroadcastCommentFactory,
    BroadcastFactory,
    GroupBuyJoinFactory,
    GroupBuyOfferFactory,
)
from tests.factories import ProductFactory, clerk_of

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = b"http://testserver"


class ManualTimers:
    """Stands in for the window timer: the test decides when a window ends."""

    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []

    def __call__(self, delay: float, function: Callable[[], None]) -> None:
        self.pending.append(function)

    def fire_all(self) -> None:
        while self.pending:
            due, self.pending = self.pending, []
            for function in due:
                function()


@pytest.fixture(autouse=True)
def timers(settings: Any, monkeypatch: pytest.MonkeyPatch) -> ManualTimers:
    settings.LIVE_DASHBOARD_PREFIX = f"test-{uuid.uuid4().hex}"
    manual = ManualTimers()
    monkeypatch.setattr(live_services, "scheduler", manual)
    # A window ends only when the test fires it (the lock's expiry would end it on its own).
    settings.LIVE_DASHBOARD_WINDOW_MS = 10 * 60 * 1000
    return manual


@pytest.fixture
def people(owner: Any, other_owner: Any, supplier_user: Any, inspector: Any) -> dict[str, Any]:
    return {
        "owner": owner,
        "other_owner": other_owner,
        "supplier_user": supplier_user,
        "inspector": inspector,
    }


@pytest.fixture
def broadcast(store: Any) -> Broadcast:
    return BroadcastFactory(store_campaign__store=store)


def _session_cookie(client: Any, user: Any) -> bytes:
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def _communicator(
    path: str, *, cookie: bytes | None = None, origin: bytes | None = ORIGIN
) -> WebsocketCommunicator:
    headers = [(b"host", b"testserver")]
    if origin is not None:
        headers.append((b"origin", origin))
    if cookie is not None:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, path, headers=headers)


def _path(broadcast: Broadcast) -> str:
    return f"/ws/broadcasts/{broadcast.pk}/live/"


async def _connected(client: Any, user: Any, path: str) -> WebsocketCommunicator:
    cookie = await database_sync_to_async(_session_cookie)(client, user)
    communicator = _communicator(path, cookie=cookie)
    connected, _subprotocol = await communicator.connect(timeout=10)
    assert connected is True
    return communicator


async def _closed_after_accept(communicator: WebsocketCommunicator) -> int | None:
    connected, _subprotocol = await communicator.connect(timeout=10)
    assert connected is True, "refusals are accept-then-close, not an HTTP 403 handshake"
    output = await communicator.receive_output(timeout=2)
    assert output["type"] == "websocket.close", output
    # End the consumer here, not at the event loop's teardown (where a task still waiting on
    # the channel layer once held the loop past the test timeout).
    await communicator.disconnect()
    return output.get("code")


async def _receive(communicator: WebsocketCommunicator) -> dict[str, Any]:
    return json.loads(await communicator.receive_from(timeout=10))


async def _snapshot(communicator: WebsocketCommunicator) -> dict[str, Any]:
    message = await _receive(communicator)
    assert message["event"] == "live.snapshot"
    assert message["payload"]["kind"] == "snapshot"
    return message["payload"]["snapshot"]


async def _next_update(communicator: WebsocketCommunicator, after: int) -> dict[str, Any]:
    """The first update newer than version `after` (a full snapshot of an older version is
    skipped, as the page does)."""
    while True:
        payload = (await _receive(communicator))["payload"]
        version = payload["snapshot"]["version"] if payload["kind"] == "snapshot" else None
        if payload["kind"] == "update" or (version is not None and version > after):
            return payload


def _join(offer: GroupBuyOffer, quantity: int) -> None:
    """What the join service does, in one transaction, ending with the change notice."""
    with transaction.atomic():
        GroupBuyJoinFactory(offer=offer, quantity=quantity)
        GroupBuyOffer.objects.filter(pk=offer.pk).update(
            units_joined=F("units_joined") + quantity, participants=F("participants") + 1
        )
        live_services.broadcast_changed(broadcast_id=offer.broadcast_id)


async def test_anonymous_is_accepted_then_closed_with_4403(broadcast):
    assert await _closed_after_accept(_communicator(_path(broadcast))) == 4403


@pytest.mark.parametrize("who", ["other_owner", "supplier_user", "inspector"])
async def test_users_without_view_campaigns_at_the_store_are_closed_with_4403(
    client, broadcast, who, people
):
    user = people[who]
    cookie = await database_sync_to_async(_session_cookie)(client, user)
    communicator = _communicator(_path(broadcast), cookie=cookie)
    assert await _closed_after_accept(communicator) == 4403
    viewers = await database_sync_to_async(lambda: Broadcast.objects.get(pk=broadcast.pk).viewers)()
    assert viewers == 0


async def test_unknown_broadcast_is_closed_with_4403(client, owner, broadcast):
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    communicator = _communicator(f"/ws/broadcasts/{broadcast.pk + 1000}/live/", cookie=cookie)
    assert await _closed_after_accept(communicator) == 4403


async def test_foreign_origin_is_refused_even_for_the_owner(client, owner, broadcast):
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    communicator = _communicator(_path(broadcast), cookie=cookie, origin=b"http://evil.example.com")
    connected, _code = await communicator.connect(timeout=10)
    assert connected is False
    await communicator.disconnect()


async def test_owner_gets_a_snapshot_on_connect_with_no_viewers_before_a_report(
    client, owner, broadcast
):
    communicator = await _connected(client, owner, _path(broadcast))
    snapshot = await _snapshot(communicator)
    assert snapshot["broadcast_id"] == broadcast.pk
    # The owner's socket is not a viewer, and nothing reported any: unknown, not 0 or 1.
    assert (snapshot["orders"], snapshot["joined_value"]) == (0, "0.00")
    assert (snapshot["viewers"], snapshot["peak_viewers"]) == (None, None)
    await communicator.disconnect()


async def test_clerk_of_the_store_connects(client, store, broadcast):
    clerk = await database_sync_to_async(clerk_of)(store)
    communicator = await _connected(client, clerk, _path(broadcast))
    assert (await _snapshot(communicator))["broadcast_id"] == broadcast.pk
    await communicator.disconnect()


async def test_update_after_a_join_chains_onto_the_snapshot_version(
    client, owner, broadcast, timers
):
    offer = await database_sync_to_async(GroupBuyOfferFactory)(broadcast=broadcast)
    communicator = await _connected(client, owner, _path(broadcast))
    snapshot = await _snapshot(communicator)

    await database_sync_to_async(_join)(offer, 3)
    await database_sync_to_async(timers.fire_all)()  # the window ends

    update = await _next_update(communicator, after=snapshot["version"])
    assert update["kind"] == "update"
    assert update["previous_version"] == snapshot["version"]
    assert update["version"] > snapshot["version"]
    changes = update["changes"]
    assert (changes["orders"], changes["units"], changes["joined_value"]) == (1, 3, "59.70")
    assert changes["offers"][0]["units_joined"] == 3
    assert "viewers" not in changes  # only what changed is sent
    await communicator.disconnect()


async def test_resync_frame_answers_the_latest_snapshot(client, owner, broadcast, timers):
    offer = await database_sync_to_async(GroupBuyOfferFactory)(broadcast=broadcast)
    communicator = await _connected(client, owner, _path(broadcast))
    first = await _snapshot(communicator)
    await database_sync_to_async(_join)(offer, 2)
    await database_sync_to_async(timers.fire_all)()
    update = await _next_update(communicator, after=first["version"])

    await communicator.send_to(text_data=json.dumps({"type": "resync"}))

    while True:  # skip the group's messages still in flight
        message = await _receive(communicator)
        if message["event"] == "live.snapshot":
            break
    snapshot = message["payload"]["snapshot"]
    assert snapshot["version"] == update["version"]
    assert (snapshot["orders"], snapshot["units"]) == (1, 2)
    await communicator.disconnect()


def _feed_version(broadcast: Broadcast) -> int:
    return live_services._state().get_int(live_services._key(str(broadcast.pk), "version"))


async def test_dashboard_sockets_do_not_change_the_viewers(client, owner, broadcast, timers):
    reported_at = timezone.now()
    await database_sync_to_async(Broadcast.objects.filter(pk=broadcast.pk).update)(
        viewers=7, peak_viewers=9, viewers_reported_at=reported_at
    )
    first = await _connected(client, owner, _path(broadcast))
    snapshot = await _snapshot(first)
    version = await database_sync_to_async(_feed_version)(broadcast)

    second = await _connected(client, owner, _path(broadcast))
    assert (await _snapshot(second))["version"] == snapshot["version"]
    await second.disconnect()
    await database_sync_to_async(timers.fire_all)()

    assert (snapshot["viewers"], snapshot["peak_viewers"]) == (7, 9)
    row = await database_sync_to_async(Broadcast.objects.get)(pk=broadcast.pk)
    assert (row.viewers, row.peak_viewers, row.viewers_reported_at) == (7, 9, reported_at)
    # Neither the connect nor the disconnect was a change of the feed.
    assert await database_sync_to_async(_feed_version)(broadcast) == version
    await first.disconnect()
    row = await database_sync_to_async(Broadcast.objects.get)(pk=broadcast.pk)
    assert (row.viewers, row.peak_viewers) == (7, 9)


async def test_a_viewers_report_reaches_the_page_as_an_update(client, owner, store, timers):
    live = await database_sync_to_async(BroadcastFactory)(
        store_campaign__store=store,
        status=Broadcast.Status.LIVE,
        started_at=timezone.now(),
    )
    communicator = await _connected(client, owner, _path(live))
    snapshot = await _snapshot(communicator)

    await database_sync_to_async(broadcast_viewers_report)(broadcast=live, count=42)
    await database_sync_to_async(timers.fire_all)()

    update = await _next_update(communicator, after=snapshot["version"])
    assert (update["changes"]["viewers"], update["changes"]["peak_viewers"]) == (42, 42)
    await communicator.disconnect()


async def test_owners_socket_is_closed_when_they_log_out(client, owner, broadcast):
    communicator = await _connected(client, owner, _path(broadcast))
    await _snapshot(communicator)
    status = await database_sync_to_async(lambda: client.post("/portal/logout/").status_code)()
    assert status == 302
    while True:
        output = await communicator.receive_output(timeout=10)
        if output["type"] == "websocket.close":
            break
    assert output == {"type": "websocket.close", "code": 4403}
    await communicator.disconnect()


async def test_hq_user_gets_the_overview_and_its_updates(client, hq_user, broadcast, timers):
    def go_live() -> GroupBuyOffer:
        Broadcast.objects.filter(pk=broadcast.pk).update(
            status=Broadcast.Status.LIVE, started_at=timezone.now()
        )
        return GroupBuyOfferFactory(broadcast=broadcast)

    offer = await database_sync_to_async(go_live)()
    communicator = await _connected(client, hq_user, "/ws/broadcasts/live/")
    overview = await _snapshot(communicator)
    assert [row["broadcast_id"] for row in overview["broadcasts"]] == [broadcast.pk]

    await database_sync_to_async(_join)(offer, 1)
    await database_sync_to_async(timers.fire_all)()

    update = await _next_update(communicator, after=overview["version"])
    assert update["changes"]["totals"]["orders"] == 1
    await communicator.disconnect()


@pytest.mark.parametrize("who", ["owner", "supplier_user"])
async def test_overview_refuses_everyone_but_hq(client, who, people):
    user = people[who]
    cookie = await database_sync_to_async(_session_cookie)(client, user)
    communicator = _communicator("/ws/broadcasts/live/", cookie=cookie)
    assert await _closed_after_accept(communicator) == 4403


async def test_overview_refuses_anonymous():
    assert await _closed_after_accept(_communicator("/ws/broadcasts/live/")) == 4403


async def test_removed_owner_is_closed_at_the_next_update_once_the_check_is_due(
    client, owner, store, broadcast, timers, monkeypatch
):
    monkeypatch.setattr(consumers, "RECHECK_SECONDS", 0.0)
    offer = await database_sync_to_async(GroupBuyOfferFactory)(broadcast=broadcast)
    communicator = await _connected(client, owner, _path(broadcast))
    await _snapshot(communicator)
    await database_sync_to_async(
        lambda: StoreStaff.objects.filter(user=owner, store=store).delete()
    )()

    await database_sync_to_async(_join)(offer, 1)
    await database_sync_to_async(timers.fire_all)()

    output = await communicator.receive_output(timeout=10)
    assert output == {"type": "websocket.close", "code": 4403}
    await communicator.disconnect()


async def test_sockets_of_one_feed_share_one_relay_that_reaches_each_and_no_other_feed(
    client, owner, store, broadcast, timers
):
    other = await database_sync_to_async(BroadcastFactory)(store_campaign__store=store)
    offer = await database_sync_to_async(GroupBuyOfferFactory)(broadcast=broadcast)
    first = await _connected(client, owner, _path(broadcast))
    second = await _connected(client, owner, _path(broadcast))
    elsewhere = await _connected(client, owner, _path(other))
    versions = [(await _snapshot(socket))["version"] for socket in (first, second)]
    await _snapshot(elsewhere)
    await database_sync_to_async(timers.fire_all)()  # the connects' own notices
    fanout = consumers._local_fanout()
    group = live_services.live_broadcast_group(broadcast.pk)
    assert len(fanout.sockets[group]) == 2
    assert set(fanout.relays) == {group, live_services.live_broadcast_group(other.pk)}

    await database_sync_to_async(_join)(offer, 2)
    await database_sync_to_async(timers.fire_all)()

    for socket, version in zip((first, second), versions, strict=True):
        update = await _next_update(socket, after=version)
        assert update["version"] > version
        while update["kind"] == "snapshot" or "units" not in update["changes"]:
            update = await _next_update(socket, after=update["version"])
        assert update["changes"]["units"] == 2
    while not await elsewhere.receive_nothing(timeout=0.3):  # its own viewer notices only
        payload = (await _receive(elsewhere))["payload"]
        assert "offers" not in payload.get("changes", {})

    await first.disconnect()
    assert group in fanout.relays  # the second socket still watches
    await second.disconnect()
    await elsewhere.disconnect()
    assert fanout.relays == {}
    assert fanout.sockets == {}


CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# The parts a language would show in: the statuses and the offers, the talking points.
WORDED_PARTS = ("status", "offers", "talking_points")


def _english_offers(broadcast: Broadcast) -> GroupBuyOffer:
    """An English product with questions about it, a settled offer that did not form, and an
    open one (returned)."""
    product = ProductFactory(name="Blueberry", selling_points="Picked this morning")
    GroupBuyOfferFactory(
        broadcast=broadcast,
        product=product,
        status=GroupBuyOffer.Status.FAILED,
        settled_at=timezone.now(),
    )
    for text in ("Blueberry多少钱", "Blueberry还有吗"):
        BroadcastCommentFactory(broadcast=broadcast, text=text)
    return GroupBuyOfferFactory(broadcast=broadcast, product=product)


async def test_viewers_in_either_language_get_the_same_frames_with_no_words_in_them(
    client, owner, broadcast, timers
):
    """A socket has no language (LocaleMiddleware does not run for it) and one snapshot goes to
    every viewer: the frames carry codes and values, which each page words in its own language
    (the Chinese and English words: test_live_pages.py)."""
    offer = await database_sync_to_async(_english_offers)(broadcast)
    cookie = await database_sync_to_async(_session_cookie)(client, owner)
    sockets = []
    for language in ("zh-hans", "en"):
        communicator = _communicator(
            _path(broadcast), cookie=cookie + b"; django_language=" + language.encode()
        )
        connected, _subprotocol = await communicator.connect(timeout=10)
        assert connected is True
        sockets.append(communicator)
    chinese, english = [await _snapshot(socket) for socket in sockets]

    assert {part: chinese[part] for part in WORDED_PARTS} == {
        part: english[part] for part in WORDED_PARTS
    }
    assert [offer["status"] for offer in english["offers"]] == ["failed", "open"]
    assert [(point["intent"], point["message"]) for point in english["talking_points"]] == [
        ("stock", "stock"),
        ("price", "price_regular"),
    ]
    assert not CJK.search(json.dumps([english[part] for part in WORDED_PARTS]))

    await database_sync_to_async(_join)(offer, 3)  # flushed in this process's language, Chinese
    await database_sync_to_async(timers.fire_all)()

    for socket in sockets:
        update = await _next_update(socket, after=english["version"])
        while update["kind"] == "snapshot" or "talking_points" not in update["changes"]:
            update = await _next_update(socket, after=update["version"])
        changes = update["changes"]
        assert changes["talking_points"][0]["args"] == {
            "name": "Blueberry",
            "left": 37,
            "stock": "—",
        }
        assert not CJK.search(json.dumps([changes["offers"], changes["talking_points"]]))
        await socket.disconnect()


def _reported_minutes_ago(broadcast: Broadcast, minutes: int) -> None:
    """The platform's last report, `minutes` ago."""
    broadcast_viewers_report(
        broadcast=broadcast, count=40, now=timezone.now() - dt.timedelta(minutes=minutes)
    )


async def test_a_count_the_platform_stopped_reporting_reaches_the_page_as_stale(
    client, owner, store, timers, settings
):
    """No change is announced when the platform goes quiet: the minute task finds the live
    broadcast whose report aged past LIVE_VIEWERS_STALE_SECONDS and the open socket gets an
    update flagging the count stale; a second run sends nothing more. (Time passing is the
    threshold lowered under the report's age: the stored snapshot is not rewritten.)"""
    settings.LIVE_VIEWERS_STALE_SECONDS = 3600
    live = await database_sync_to_async(BroadcastFactory)(
        store_campaign__store=store,
        status=Broadcast.Status.LIVE,
        started_at=timezone.now() - dt.timedelta(minutes=30),
    )
    await database_sync_to_async(_reported_minutes_ago)(live, 10)
    await database_sync_to_async(timers.fire_all)()
    communicator = await _connected(client, owner, _path(live))
    snapshot = await _snapshot(communicator)
    assert (snapshot["viewers"], snapshot["viewers_stale"]) == (40, False)
    assert snapshot["viewers_reported_at"] is not None
    assert await database_sync_to_async(live_services.live_viewers_went_stale)() == 0

    # The report is now older than the threshold, and nothing was reported since.
    settings.LIVE_VIEWERS_STALE_SECONDS = 300
    stale = await database_sync_to_async(live_services.live_viewers_went_stale)()
    assert stale == 1
    update = await _next_update(communicator, after=snapshot["version"])
    assert update["kind"] == "update"
    assert update["changes"]["viewers_stale"] is True
    assert "viewers" not in update["changes"]  # the last count stays, marked
    await database_sync_to_async(timers.fire_all)()

    # Idempotent: the feed already shows it stale, a rerun changes nothing.
    version = await database_sync_to_async(_feed_version)(live)
    assert await database_sync_to_async(live_services.live_viewers_went_stale)() == 1
    assert await database_sync_to_async(_feed_version)(live) == version

    # A socket opened now gets the stale snapshot; a new report makes it current again.
    second = await _connected(client, owner, _path(live))
    assert (await _snapshot(second))["viewers_stale"] is True
    await database_sync_to_async(broadcast_viewers_report)(broadcast=live, count=12)
    await database_sync_to_async(timers.fire_all)()
    update = await _next_update(second, after=version)
    assert (update["changes"]["viewers"], update["changes"]["viewers_stale"]) == (12, False)
    await second.disconnect()
    await communicator.disconnect()


async def test_a_connect_after_the_report_aged_gets_it_stale(
    client, owner, store, timers, settings
):
    """The latest snapshot was stored while the count was current; a socket opened once it
    aged (before the minute task ran) is not shown the stored 'current', and the sockets
    already open are told."""
    settings.LIVE_VIEWERS_STALE_SECONDS = 3600
    live = await database_sync_to_async(BroadcastFactory)(
        store_campaign__store=store,
        status=Broadcast.Status.LIVE,
        started_at=timezone.now() - dt.timedelta(minutes=30),
    )
    await database_sync_to_async(_reported_minutes_ago)(live, 10)
    await database_sync_to_async(timers.fire_all)()
    first = await _connected(client, owner, _path(live))
    assert (await _snapshot(first))["viewers_stale"] is False

    settings.LIVE_VIEWERS_STALE_SECONDS = 300
    second = await _connected(client, owner, _path(live))
    snapshot = await _snapshot(second)
    assert (snapshot["viewers"], snapshot["viewers_stale"]) == (40, True)
    update = await _next_update(first, after=snapshot["version"] - 1)
    assert update["changes"]["viewers_stale"] is True
    await second.disconnect()
    await first.disconnect()
