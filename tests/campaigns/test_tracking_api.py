from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from rest_framework.test import APIClient

from apps.campaigns.api.tracking import MAX_BODY_BYTES
from apps.campaigns.models import TrackingEvent
from apps.campaigns.services.tracking import (
    MAX_EVENTS,
    TrackingBatchInvalid,
    TrackingEventInput,
    tracking_events_record,
)
from apps.stores.services.terminals import terminal_issue, terminal_revoke
from tests.campaigns.factories import StoreCampaignFactory, TrackingEventFactory
from tests.campaigns.review_data import order_for
from tests.factories import MemberFactory, MemberIdentityFactory, ProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns/events"


@pytest.fixture
def store_campaign(store):
    return StoreCampaignFactory(store=store)


@pytest.fixture
def token(store):
    return terminal_issue(store=store, name="Till 1")[1]


def api(token: str | None = None) -> APIClient:
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Terminal {token}")
    return client


def event(store_campaign, number: int, **overrides):
    body = {
        "event_id": f"mp-{number:04d}",
        "kind": "exposure",
        "store_campaign": store_campaign.pk,
        "occurred_at": "2026-07-01T20:01:00+08:00",
    }
    body.update(overrides)
    return body


def test_batch_is_recorded_with_members_products_and_orders(token, store, store_campaign):
    member = MemberFactory(home_store=store)
    MemberIdentityFactory(member=member, kind="mini_program", value="openid-1")
    blueberries = ProductFactory(sku="FRU-0001")
    batch = [
        event(store_campaign, 1, member={"mini_program": "openid-1"}),
        event(
            store_campaign, 2, kind="click", sku="FRU-0001", member={"member_no": member.member_no}
        ),
        event(store_campaign, 3, kind="click", member={"wechat": "nobody"}),
    ]
    response = api(token).post(URL, {"events": batch}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"recorded": 3, "duplicates": 0}
    rows = {row.event_id: row for row in TrackingEvent.objects.all()}
    assert set(rows) == {"mp-0001", "mp-0002", "mp-0003"}
    assert rows["mp-0001"].member_id == member.pk
    assert rows["mp-0001"].kind == "exposure"
    assert rows["mp-0002"].member_id == member.pk
    assert rows["mp-0002"].product_id == blueberries.pk
    assert rows["mp-0003"].member_id is None
    assert rows["mp-0003"].store_campaign_id == store_campaign.pk


def test_same_batch_again_counts_duplicates_and_records_nothing_new(token, store_campaign):
    batch = [event(store_campaign, n) for n in range(5)]
    first = api(token).post(URL, {"events": batch}, format="json")
    received = dict(TrackingEvent.objects.values_list("event_id", "received_at"))
    second = api(token).post(URL, {"events": batch}, format="json")
    assert first.json() == {"recorded": 5, "duplicates": 0}
    assert second.status_code == 200
    assert second.json() == {"recorded": 0, "duplicates": 5}
    assert dict(TrackingEvent.objects.values_list("event_id", "received_at")) == received


def test_partly_new_batch_records_only_the_new_events(token, store_campaign):
    TrackingEventFactory(event_id="mp-0001", store_campaign=store_campaign)
    batch = [event(store_campaign, 1), event(store_campaign, 2), event(store_campaign, 2)]
    response = api(token).post(URL, {"events": batch}, format="json")
    assert response.json() == {"recorded": 1, "duplicates": 2}
    assert TrackingEvent.objects.count() == 2


def test_bad_event_rejects_whole_batch_with_index_and_reason(token, store_campaign):
    batch = [
        event(store_campaign, 1),
        event(store_campaign, 2, kind="purchase"),
        event(store_campaign, 3, occurred_at="1999-12-31T00:00:00+08:00"),
    ]
    with translation.override("en"):
        response = api(token).post(URL, {"events": batch}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert [(e["index"], e["field"], e["code"]) for e in body["errors"]] == [
        (1, "kind", "invalid_choice"),
        (2, "occurred_at", "too_early"),
    ]
    assert TrackingEvent.objects.count() == 0


def test_an_unknown_key_in_member_is_unknown_field_beside_the_batchs_other_errors(
    token, store_campaign
):
    """A key in `member` that is no identity kind was `unknown_identity_kind`, found only once
    the rest of the batch was valid (a second 400 after the sender fixed the first); it is
    `unknown_field` as every other unknown key, in the same answer as the batch's other
    errors, its message naming the kinds `member` takes (as the POS `member`)."""
    batch = [
        event(store_campaign, 1, member={"nickname": "王", "wechat": "openid-1"}),
        event(store_campaign, 2, channel="wechat"),
        event(store_campaign, 3, member={"phone": "12345"}),
    ]
    response = api(token).post(URL, {"events": batch}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["detail"]) == (
        "invalid",
        "3 problems in the request; nothing was stored.",
    )
    assert [(e["index"], e["field"], e["code"], e["message"]) for e in body["errors"]] == [
        (
            0,
            "member.nickname",
            "unknown_field",
            "Unknown identity kind; use one of: member_no, phone, member_card, wechat, "
            "mini_program, pos_card.",
        ),
        (1, "channel", "unknown_field", "Unknown field."),
        (2, "member.phone", "invalid", "“12345” is not a valid mainland China mobile number."),
    ]
    assert TrackingEvent.objects.count() == 0


def test_a_member_that_is_not_an_object_keeps_its_code_not_a_dict(token, store_campaign):
    """`member` was a mapping of text (DictField): a string or a list was `not_a_dict`, which
    senders handle. As the identity object it briefly answered `invalid` ("Invalid data.
    Expected a dictionary, …"); it answers `not_a_dict` again, with DRF's message."""
    batch = [
        event(store_campaign, 1, member="13800138000"),
        event(store_campaign, 2, member=[{"phone": "13800138000"}]),
        event(store_campaign, 3, member={"wechat": "openid-1"}),
    ]
    response = api(token).post(URL, {"events": batch}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert [
        (e["index"], e["field"], e["code"], e["message"]) for e in response.json()["errors"]
    ] == [
        (0, "member", "not_a_dict", 'Expected a dictionary of items but got type "str".'),
        (1, "member", "not_a_dict", 'Expected a dictionary of items but got type "list".'),
    ]
    assert TrackingEvent.objects.count() == 0


def test_a_members_phone_is_read_as_at_the_till(token, store, store_campaign):
    """The phone is the POS member's field (`IdentityKindsSerializer`, `PhoneField`):
    normalised, and more than 40 characters as sent `max_length`, as at the till (a mapping of
    text, `member` took 128 characters, then the service read any number in them)."""
    member = MemberFactory(home_store=store)
    MemberIdentityFactory(member=member, kind="phone", value="+8613800138000")
    too_long = "138" + " " * 29 + "0013 8000"
    assert len(too_long) == 41
    batch = [event(store_campaign, 1, member={"phone": too_long})]
    response = api(token).post(URL, {"events": batch}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert [
        (e["index"], e["field"], e["code"], e["message"]) for e in response.json()["errors"]
    ] == [(0, "member.phone", "max_length", "Ensure this field has no more than 40 characters.")]
    response = api(token).post(
        URL,
        {"events": [event(store_campaign, 2, member={"phone": "+86 138-0013-8000"})]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert TrackingEvent.objects.get().member_id == member.pk


def test_the_member_object_is_the_pos_members_with_a_member_number():
    """One definition of the identity kinds (`IdentityKindsSerializer`), which both the POS
    `member` and this one extend: each app keeps its own api module."""
    from apps.campaigns.api.tracking import TrackingMemberSerializer
    from apps.stores.api.pos import PosMemberSerializer
    from apps.stores.terminal_identity import IdentityKindsSerializer

    assert issubclass(TrackingMemberSerializer, IdentityKindsSerializer)
    assert issubclass(PosMemberSerializer, IdentityKindsSerializer)
    assert list(TrackingMemberSerializer().fields) == [
        "member_no",
        *PosMemberSerializer().fields,
    ]


def test_the_member_object_takes_exactly_the_services_identity_kinds():
    from apps.campaigns.api.tracking import TrackingMemberSerializer
    from apps.campaigns.services.tracking import IDENTITY_KEYS

    assert tuple(TrackingMemberSerializer().fields) == IDENTITY_KEYS


def test_another_stores_event_with_the_same_id_is_its_own_event(token, store_campaign, other_store):
    """Event ids are the senders': store B's terminal sending "mp-0001" after store A's is
    recorded, not dropped as A's duplicate (ids used to be unique across the network)."""
    other_campaign = StoreCampaignFactory(store=other_store)
    other_token = terminal_issue(store=other_store, name="Till 9")[1]

    first = api(token).post(URL, {"events": [event(store_campaign, 1)]}, format="json")
    second = api(other_token).post(URL, {"events": [event(other_campaign, 1)]}, format="json")
    again = api(other_token).post(URL, {"events": [event(other_campaign, 1)]}, format="json")

    assert first.json() == {"recorded": 1, "duplicates": 0}
    assert second.json() == {"recorded": 1, "duplicates": 0}
    assert again.json() == {"recorded": 0, "duplicates": 1}
    assert sorted(TrackingEvent.objects.values_list("store_campaign_id", "event_id")) == sorted(
        [(store_campaign.pk, "mp-0001"), (other_campaign.pk, "mp-0001")]
    )


def test_year_one_without_an_offset_is_too_early_not_a_server_error(token, store_campaign):
    """A moment without an offset is local time; year 1 used to overflow DRF's own UTC check
    before the range check ran (a 500)."""
    batch = [event(store_campaign, 1, occurred_at="0001-01-01T00:00:00")]
    response = api(token).post(URL, {"events": batch}, format="json")
    assert response.status_code == 400
    assert [(e["index"], e["field"], e["code"]) for e in response.json()["errors"]] == [
        (0, "occurred_at", "too_early")
    ]
    assert TrackingEvent.objects.count() == 0


def test_unknown_sku_and_foreign_order_are_reported_by_index(token, store_campaign, other_store):
    foreign = order_for(other_store)
    batch = [
        event(store_campaign, 1, sku="NOPE"),
        event(store_campaign, 2, kind="order", order_id=foreign.pk),
    ]
    with translation.override("en"):
        response = api(token).post(URL, {"events": batch}, format="json")
    assert response.status_code == 400
    assert [(e["index"], e["field"], e["code"]) for e in response.json()["errors"]] == [
        (0, "sku", "unknown_sku"),
        (1, "order_id", "unknown_order"),
    ]
    assert TrackingEvent.objects.count() == 0


def test_other_stores_campaign_is_refused_and_nothing_recorded(token, store_campaign, other_store):
    foreign = StoreCampaignFactory(store=other_store)
    batch = [event(store_campaign, 1), event(foreign, 2)]
    response = api(token).post(URL, {"events": batch}, format="json")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "wrong_store"
    assert [(e["index"], e["field"], e["code"]) for e in body["errors"]] == [
        (1, "store_campaign", "wrong_store")
    ]
    assert TrackingEvent.objects.count() == 0


def test_other_stores_terminal_is_refused(store_campaign, other_store):
    other_token = terminal_issue(store=other_store, name="Till 9")[1]
    response = api(other_token).post(URL, {"events": [event(store_campaign, 1)]}, format="json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["index"] == 0
    assert TrackingEvent.objects.count() == 0


def test_no_token_is_refused(store_campaign):
    response = api().post(URL, {"events": [event(store_campaign, 1)]}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert TrackingEvent.objects.count() == 0


def test_revoked_token_is_refused(store, store_campaign):
    terminal, token = terminal_issue(store=store, name="Till 2")
    terminal_revoke(terminal=terminal, by=None)
    response = api(token).post(URL, {"events": [event(store_campaign, 1)]}, format="json")
    assert response.status_code == 401
    assert TrackingEvent.objects.count() == 0


def test_empty_and_oversized_batches_are_refused(token, store_campaign):
    empty = api(token).post(URL, {"events": []}, format="json")
    too_many = api(token).post(
        URL, {"events": [event(store_campaign, n) for n in range(MAX_EVENTS + 1)]}, format="json"
    )
    assert empty.status_code == 400
    assert empty.json()["errors"][0]["field"] == "events"
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["field"] == "events"
    assert TrackingEvent.objects.count() == 0


def test_body_larger_than_the_bound_is_refused(token, store_campaign):
    padding = "x" * (MAX_BODY_BYTES + 10)
    response = api(token).post(
        URL, {"events": [event(store_campaign, 1, sku=padding)]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "too_large"
    assert TrackingEvent.objects.count() == 0


def test_service_refuses_empty_batch(store):
    with pytest.raises(TrackingBatchInvalid):
        tracking_events_record(store=store, events=[])


def test_service_query_count_does_not_grow_with_the_batch(store, store_campaign):
    import datetime as dt

    from django.utils import timezone

    members = MemberFactory.create_batch(3, home_store=store)
    when = timezone.now() - dt.timedelta(hours=1)

    def batch(prefix: str, size: int) -> list[TrackingEventInput]:
        return [
            TrackingEventInput(
                event_id=f"{prefix}-{n}",
                kind="click",
                store_campaign_id=store_campaign.pk,
                occurred_at=when,
                member={"member_no": members[n % 3].member_no},
            )
            for n in range(size)
        ]

    with CaptureQueriesContext(connection) as small:
        assert tracking_events_record(store=store, events=batch("a", 2)).recorded == 2
    with CaptureQueriesContext(connection) as large:
        assert tracking_events_record(store=store, events=batch("b", 300)).recorded == 300
    assert len(large) == len(small)


def test_a_member_number_names_only_the_stores_members(token, store, other_store, store_campaign):
    """As at the till and in group-buy joins (docs/members.md): a member number of this
    store's members (home store here, or bought here) is recorded on them; another store's
    member's number is refused with the event's index, alike a number nobody has, and the
    batch stores nothing. Phones and openids still resolve network-wide."""
    home = MemberFactory(home_store=store)
    shopper = MemberFactory(home_store=other_store)
    order_for(store, member=shopper)
    elsewhere = MemberFactory(home_store=other_store)
    MemberIdentityFactory(member=elsewhere, kind="mini_program", value="openid-elsewhere")
    known = [
        event(store_campaign, 1, member={"member_no": home.member_no}),
        event(store_campaign, 2, member={"member_no": shopper.member_no}),
        event(store_campaign, 3, member={"mini_program": "openid-elsewhere"}),
    ]
    refused = [
        *known,
        event(store_campaign, 4, member={"member_no": elsewhere.member_no}),
        event(store_campaign, 5, member={"member_no": "M99999999"}),
    ]
    response = api(token).post(URL, {"events": refused}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert [(e["index"], e["field"], e["code"], e["message"]) for e in body["errors"]] == [
        (index, "member.member_no", "unknown_member", "No member of this store has this number.")
        for index in (3, 4)
    ]
    assert not TrackingEvent.objects.exists()
    response = api(token).post(URL, {"events": known}, format="json")
    assert response.json() == {"recorded": 3, "duplicates": 0}
    assert dict(TrackingEvent.objects.values_list("event_id", "member_id")) == {
        "mp-0001": home.pk,
        "mp-0002": shopper.pk,
        "mp-0003": elsewhere.pk,
    }
