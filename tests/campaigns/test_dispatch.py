"""The SMS / WeChat dispatcher: once-only (also under two concurrent workers on PostgreSQL),
quiet hours, consent at send time, rate limit, retries with backoff, permanent failures."""

from __future__ import annotations

import datetime as dt
import threading
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from apps.campaigns.notifications.dispatch import (
    CLAIM_LEASE,
    notifications_dispatch,
    quiet_hours_end,
    retry_delay,
)
from apps.campaigns.notifications.models import Notification
from apps.campaigns.notifications.senders import (
    LoggingSender,
    PermanentSendError,
    Sender,
    SendResult,
    TransientSendError,
)
from apps.campaigns.notifications.services import (
    campaign_notifications_enqueue,
    notification_enqueue,
)
from apps.campaigns.notifications.tasks import notifications_dispatch_task
from apps.customers.models import MemberIdentity
from linli.celery import app as celery_app
from tests.campaigns.factories import CampaignTargetFactory, StoreCampaignFactory
from tests.factories import MemberFactory, MemberIdentityFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 10:00 in Shanghai: outside the default quiet hours (21:30-08:00).
DAYTIME = dt.datetime(2026, 7, 1, 10, 0, tzinfo=SHANGHAI)
HERE = "tests.campaigns.test_dispatch"


class RecordingSender(Sender):
    """Accepts every message and records (notification id, channel, address, title)."""

    calls: ClassVar[list[tuple[int, str, str, str]]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def send(self, notification: Notification, *, address: str) -> SendResult:
        with self.lock:
            self.calls.append((notification.pk, notification.channel, address, notification.title))
        return SendResult(provider_ref=f"rec-{notification.pk}")


class FlakySender(Sender):
    """Always a transient error (a gateway timing out)."""

    def send(self, notification: Notification, *, address: str) -> SendResult:
        raise TransientSendError("gateway timeout")


class RejectingSender(Sender):
    """Always a permanent error (an invalid number)."""

    def send(self, notification: Notification, *, address: str) -> SendResult:
        raise PermanentSendError("invalid number")


@pytest.fixture(autouse=True)
def _recording(settings):
    settings.NOTIFY_SMS_SENDER = f"{HERE}.RecordingSender"
    settings.NOTIFY_WECHAT_SENDER = f"{HERE}.RecordingSender"
    settings.NOTIFY_QUIET_HOURS = "21:30-08:00"
    settings.NOTIFY_RATE_PER_MINUTE = 100
    settings.NOTIFY_MAX_ATTEMPTS = 3
    RecordingSender.calls.clear()
    yield
    RecordingSender.calls.clear()


def _campaign_rows(count: int, *, wechat: int = 0, title: str = "今晚8点直播") -> list[int]:
    """A store campaign with `count` consenting targets (the first `wechat` of them on WeChat),
    enqueued as "preview"; returns the member ids."""
    store_campaign = StoreCampaignFactory()
    members = []
    for index in range(count):
        member = MemberFactory(marketing_consent=True)
        if index < wechat:
            MemberIdentityFactory(
                member=member, kind=MemberIdentity.Kind.WECHAT, value=f"oWx{member.pk:08d}"
            )
        CampaignTargetFactory(store_campaign=store_campaign, member=member)
        members.append(member.pk)
    assert (
        campaign_notifications_enqueue(
            store_campaign=store_campaign, kind="preview", title=title, body="蓝莓"
        )
        == count
    )
    return members


def _statuses() -> list[tuple[str, int, str]]:
    return list(Notification.objects.order_by("pk").values_list("status", "attempts", "last_error"))


@pytest.mark.django_db
def test_dispatch_sends_each_row_once_and_a_second_run_sends_nothing():
    members = _campaign_rows(3, wechat=1)
    report = notifications_dispatch(now=DAYTIME, limit=50)
    again = notifications_dispatch(now=DAYTIME + dt.timedelta(minutes=1), limit=50)
    assert (report.claimed, report.sent, again.claimed, again.sent) == (3, 3, 0, 0)
    rows = {
        row.member_id: row for row in Notification.objects.select_related("member").order_by("pk")
    }
    assert sorted(RecordingSender.calls) == sorted(
        [
            (rows[members[0]].pk, "wechat", f"oWx{members[0]:08d}", "今晚8点直播"),
            (rows[members[1]].pk, "sms", rows[members[1]].member.phone, "今晚8点直播"),
            (rows[members[2]].pk, "sms", rows[members[2]].member.phone, "今晚8点直播"),
        ]
    )
    for row in rows.values():
        assert (row.status, row.sent_at, row.provider_ref, row.attempts) == (
            "sent",
            DAYTIME,
            f"rec-{row.pk}",
            1,
        )


@pytest.mark.django_db
def test_portal_and_skipped_rows_are_never_dispatched(owner):
    from apps.campaigns.notifications.services import notification_enqueue

    notification_enqueue(dedupe_key="portal:1", kind="device_alert", title="t", recipient=owner)
    store_campaign = StoreCampaignFactory()
    CampaignTargetFactory(
        store_campaign=store_campaign, member=MemberFactory(marketing_consent=False)
    )
    campaign_notifications_enqueue(
        store_campaign=store_campaign, kind="preview", title="t", body=""
    )
    report = notifications_dispatch(now=DAYTIME, limit=50)
    assert report.claimed == 0
    assert RecordingSender.calls == []
    assert sorted(Notification.objects.values_list("status", flat=True)) == ["sent", "skipped"]


@pytest.mark.django_db
def test_quiet_hours_defer_to_their_end_without_sending_or_failing():
    _campaign_rows(2)
    late_evening = dt.datetime(2026, 7, 1, 22, 15, tzinfo=SHANGHAI)
    report = notifications_dispatch(now=late_evening, limit=50)
    assert (report.deferred, report.claimed) == (2, 0)
    assert RecordingSender.calls == []
    end = dt.datetime(2026, 7, 2, 8, 0, tzinfo=SHANGHAI)
    assert (
        list(
            Notification.objects.values_list("status", "attempts", "next_attempt_at", "last_error")
        )
        == [("pending", 0, end, "")] * 2
    )
    # Just before the end: still quiet, nothing due, nothing sent.
    early = notifications_dispatch(now=end - dt.timedelta(minutes=1), limit=50)
    assert (early.deferred, early.claimed) == (0, 0)
    morning = notifications_dispatch(now=end, limit=50)
    assert (morning.claimed, morning.sent) == (2, 2)
    assert len(RecordingSender.calls) == 2


def test_quiet_hours_end_handles_both_sides_of_midnight_and_plain_windows(settings):
    settings.TIME_ZONE = "Asia/Shanghai"

    def at(hour: int, minute: int = 0, day: int = 1) -> dt.datetime:
        return dt.datetime(2026, 7, day, hour, minute, tzinfo=SHANGHAI)

    assert quiet_hours_end(now=at(21, 30), quiet_hours="21:30-08:00") == at(8, day=2)
    assert quiet_hours_end(now=at(2, 0), quiet_hours="21:30-08:00") == at(8)
    assert quiet_hours_end(now=at(8, 0), quiet_hours="21:30-08:00") is None
    assert quiet_hours_end(now=at(21, 29), quiet_hours="21:30-08:00") is None
    assert quiet_hours_end(now=at(12, 30), quiet_hours="12:00-14:00") == at(14)
    assert quiet_hours_end(now=at(14, 0), quiet_hours="12:00-14:00") is None
    assert quiet_hours_end(now=at(23, 0), quiet_hours="") is None
    # A UTC instant is judged in Shanghai: 14:00 UTC is 22:00 there.
    utc = dt.datetime(2026, 7, 1, 14, 0, tzinfo=dt.UTC)
    assert quiet_hours_end(now=utc, quiet_hours="21:30-08:00") == at(8, day=2)


@pytest.mark.django_db
def test_consent_withdrawn_before_sending_skips_the_row():
    members = _campaign_rows(2)
    from apps.customers.models import Member

    Member.objects.filter(pk=members[0]).update(marketing_consent=False)
    Member.objects.filter(pk=members[1]).update(is_erased=True)
    report = notifications_dispatch(now=DAYTIME, limit=50)
    assert (report.claimed, report.sent, report.skipped) == (2, 0, 2)
    assert RecordingSender.calls == []
    assert sorted(Notification.objects.values_list("member_id", "status", "last_error")) == [
        (members[0], "skipped", "consent_withdrawn"),
        (members[1], "skipped", "erased"),
    ]


@pytest.mark.django_db
def test_service_messages_about_the_members_own_order_need_no_marketing_consent():
    member = MemberFactory(marketing_consent=False)
    for kind in ("order_ready", "after_sales.approved", "preview"):
        notification_enqueue(
            dedupe_key=f"test:{kind}",
            kind=kind,
            title="取货码 123456",
            channel=Notification.Channel.SMS,
            member=member,
        )
    report = notifications_dispatch(now=DAYTIME, limit=50)
    assert (report.claimed, report.sent, report.skipped) == (3, 2, 1)
    assert dict(Notification.objects.values_list("kind", "status")) == {
        "order_ready": "sent",
        "after_sales.approved": "sent",
        "preview": "skipped",
    }
    assert len(RecordingSender.calls) == 2


@pytest.mark.django_db
def test_rate_limit_per_channel_per_minute_leaves_the_rest_pending(settings):
    settings.NOTIFY_RATE_PER_MINUTE = 2
    _campaign_rows(5, wechat=1)
    report = notifications_dispatch(now=DAYTIME, limit=50)
    # WeChat: its 1 row; SMS: 2 of 4, the other 2 wait.
    assert (report.claimed, report.sent, report.left_for_rate) == (3, 3, 2)
    same_minute = notifications_dispatch(now=DAYTIME + dt.timedelta(seconds=30), limit=50)
    assert (same_minute.claimed, same_minute.left_for_rate) == (0, 2)
    assert Notification.objects.filter(status="pending").count() == 2
    next_minute = notifications_dispatch(now=DAYTIME + dt.timedelta(minutes=1), limit=50)
    assert (next_minute.claimed, next_minute.sent, next_minute.left_for_rate) == (2, 2, 0)
    assert len(RecordingSender.calls) == 5
    assert Notification.objects.filter(status="sent").count() == 5


@pytest.mark.django_db
def test_transient_errors_retry_with_backoff_then_fail_after_max_attempts(settings):
    settings.NOTIFY_SMS_SENDER = f"{HERE}.FlakySender"
    _campaign_rows(1)
    row = Notification.objects.get()
    now = DAYTIME
    for attempt in (1, 2):
        report = notifications_dispatch(now=now, limit=50)
        row.refresh_from_db()
        assert (report.retried, report.failed) == (1, 0)
        assert (row.status, row.attempts, row.last_error) == (
            "pending",
            attempt,
            "TransientSendError: gateway timeout",
        )
        assert row.next_attempt_at == now + retry_delay(attempts=attempt)
        # Not due before the backoff ends.
        early = notifications_dispatch(now=row.next_attempt_at - dt.timedelta(seconds=1), limit=50)
        assert early.claimed == 0
        now = row.next_attempt_at
    assert [retry_delay(attempts=n) for n in (1, 2, 3, 10)] == [
        dt.timedelta(minutes=1),
        dt.timedelta(minutes=2),
        dt.timedelta(minutes=4),
        dt.timedelta(hours=1),
    ]
    report = notifications_dispatch(now=now, limit=50)
    row.refresh_from_db()
    assert (report.retried, report.failed) == (0, 1)
    assert (row.status, row.attempts, row.next_attempt_at, row.sent_at) == ("failed", 3, None, None)
    assert notifications_dispatch(now=now + dt.timedelta(hours=2), limit=50).claimed == 0


@pytest.mark.django_db
def test_a_permanent_error_fails_the_row_at_once(settings):
    settings.NOTIFY_SMS_SENDER = f"{HERE}.RejectingSender"
    _campaign_rows(1)
    report = notifications_dispatch(now=DAYTIME, limit=50)
    assert (report.failed, report.retried, report.sent) == (1, 0, 0)
    assert _statuses() == [("failed", 1, "PermanentSendError: invalid number")]


@pytest.mark.django_db
def test_a_claimed_row_whose_worker_died_goes_out_after_the_lease():
    _campaign_rows(1)
    row = Notification.objects.get()
    # A worker claimed it and died before answering.
    Notification.objects.filter(pk=row.pk).update(
        attempts=1, last_attempt_at=DAYTIME, next_attempt_at=DAYTIME + CLAIM_LEASE
    )
    assert notifications_dispatch(now=DAYTIME + dt.timedelta(minutes=5), limit=50).claimed == 0
    report = notifications_dispatch(now=DAYTIME + CLAIM_LEASE, limit=50)
    assert (report.claimed, report.sent) == (1, 1)
    assert _statuses() == [("sent", 2, "")]


@pytest.mark.django_db
def test_the_logging_sender_logs_masked_addresses(caplog, settings):
    settings.NOTIFY_SMS_SENDER = "apps.campaigns.notifications.senders.LoggingSender"
    settings.NOTIFY_WECHAT_SENDER = "apps.campaigns.notifications.senders.LoggingSender"
    members = _campaign_rows(2, wechat=1)
    from apps.customers.models import Member

    phone = Member.objects.get(pk=members[1]).phone
    with caplog.at_level("INFO", logger="apps.campaigns.notifications.senders"):
        report = notifications_dispatch(now=DAYTIME, limit=50)
    assert report.sent == 2
    assert phone not in caplog.text
    assert f"{phone[3:6]}****{phone[-4:]}" in caplog.text
    assert f"oWx{members[0]:08d}" not in caplog.text
    assert "oWx0…" in caplog.text
    assert isinstance(LoggingSender(), Sender)


@pytest.mark.django_db
def test_the_task_is_registered_and_idempotent(settings):
    settings.NOTIFY_QUIET_HOURS = ""
    _campaign_rows(2)
    assert "apps.campaigns.notifications.tasks.notifications_dispatch_task" in celery_app.tasks
    first = notifications_dispatch_task()
    second = notifications_dispatch_task()
    assert (first["sent"], second["sent"], second["claimed"]) == (2, 0, 0)
    assert len(RecordingSender.calls) == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_dispatchers_never_send_a_row_twice():
    assert connection.vendor == "postgresql"
    _campaign_rows(12, wechat=4)
    barrier = threading.Barrier(2)
    reports = []
    errors = []

    def worker() -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            reports.append(notifications_dispatch(now=DAYTIME, limit=50))
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (errors, len(reports)) == ([], 2)
    sent_ids = [call[0] for call in RecordingSender.calls]
    assert len(sent_ids) == 12
    assert len(set(sent_ids)) == 12
    assert sum(report.sent for report in reports) == 12
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_rate_limit_holds_across_two_concurrent_dispatchers(settings):
    settings.NOTIFY_RATE_PER_MINUTE = 5
    _campaign_rows(12)
    barrier = threading.Barrier(2)
    reports = []

    def worker() -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            reports.append(notifications_dispatch(now=DAYTIME, limit=50))
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(RecordingSender.calls) == 5
    assert len({call[0] for call in RecordingSender.calls}) == 5
    assert sum(report.claimed for report in reports) == 5
    assert Notification.objects.filter(status="pending").count() == 7


def _member_order(store, *, code: str, fulfilment: str = "pickup"):
    """A paid member order of `store` with an open fulfilment holding `code`."""
    from apps.stores.models import Order, OrderFulfilment
    from tests.factories import ProductFactory
    from tests.procurement.factories import supply_order

    order = supply_order(store=store, lines=[(ProductFactory(), 1)], fulfilment=fulfilment)
    Order.objects.filter(pk=order.pk).update(member=MemberFactory())
    OrderFulfilment.objects.create(order=order, store=store, pickup_code=code)
    return order


@pytest.mark.django_db
def test_ready_messages_held_by_quiet_hours_are_skipped_once_the_order_moved_on(store, owner):
    """Marked ready at 22:00, held until 08:00: by then one order was collected, one cancelled,
    one delivery order delivered; only the order still waiting for its member is announced."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.procurement.services.pickup import (
        delivery_status_set,
        fulfilments_ready,
        order_cancel_before_pickup,
        pickup_verify,
    )

    collected = _member_order(store, code="111111")
    cancelled = _member_order(store, code="222222")
    waiting = _member_order(store, code="333333")
    delivered = _member_order(store, code="444444", fulfilment="delivery")
    orders = [collected, cancelled, waiting, delivered]
    fulfilments_ready(store_id=store.pk, order_ids=[order.pk for order in orders], by=None)
    evening = dt.datetime(2026, 7, 1, 22, 0, tzinfo=SHANGHAI)
    assert notifications_dispatch(now=evening, limit=50).deferred == 4
    delivery_status_set(store=store, order_id=delivered.pk, status="out_for_delivery", by=owner)
    assert notifications_dispatch(now=evening + dt.timedelta(minutes=5), limit=50).deferred == 1
    pickup_verify(store=store, codes=["111111"], by=owner)
    order_cancel_before_pickup(store=store, order_id=cancelled.pk, by=owner, reason="")
    delivery_status_set(store=store, order_id=delivered.pk, status="delivered", by=owner)
    morning = dt.datetime(2026, 7, 2, 8, 0, tzinfo=SHANGHAI)
    with CaptureQueriesContext(connection) as queries:
        report = notifications_dispatch(now=morning, limit=50)

    def row(order, kind):
        return Notification.objects.values_list("status", "last_error").get(
            kind=kind, payload__order_id=order.pk
        )

    assert row(collected, "order_ready") == ("skipped", "order_no_longer_ready")
    assert row(cancelled, "order_ready") == ("skipped", "order_no_longer_ready")
    assert row(waiting, "order_ready") == ("sent", "")
    assert row(delivered, "order_ready") == ("skipped", "order_no_longer_ready")
    assert row(delivered, "order_out_for_delivery") == ("skipped", "order_no_longer_ready")
    # What happened stays true and goes out: the cancellation and the delivery.
    assert row(cancelled, "order_cancelled") == ("sent", "")
    assert row(delivered, "order_delivered") == ("sent", "")
    sent_ids = {call[0] for call in RecordingSender.calls}
    assert sent_ids == set(
        Notification.objects.filter(status="sent", member__isnull=False).values_list(
            "pk", flat=True
        )
    )
    assert (report.sent, report.skipped) == (3, 4)
    order_reads = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith("SELECT") and 'FROM "stores_order"' in query["sql"]
    ]
    assert len(order_reads) == 1  # one read of the orders for the whole batch
    # A second run finds nothing left to do.
    again = notifications_dispatch(now=morning + dt.timedelta(minutes=1), limit=50)
    assert (again.claimed, again.sent, again.skipped) == (0, 0, 0)
