"""The readings API: token authentication, batches, duplicates, bad readings."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.devices.models import Device, DeviceReading
from apps.devices.services import device_token_issue, device_token_revoke
from apps.devices.tasks import device_alerts_evaluate_task
from tests.devices.factories import DeviceFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/devices/readings"


def _client(token: str | None = None) -> APIClient:
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Device {token}")
    return client


def _at(minutes_ago: int) -> str:
    return (timezone.now() - dt.timedelta(minutes=minutes_ago)).isoformat()


def _batch(*minutes_ago: int, temperature: float = 4.5) -> dict:
    return {
        "readings": [
            {
                "recorded_at": _at(m),
                "temperature_c": temperature,
                "energy_wh": 12.5,
                "door_open": False,
            }
            for m in minutes_ago
        ]
    }


def test_valid_token_stores_the_batch_for_its_device(device, device_token):
    response = _client(device_token).post(URL, _batch(3, 2, 1), format="json")
    assert response.status_code == 201
    assert response.json() == {"received": 3, "accepted": 3, "duplicates": 0}
    assert DeviceReading.objects.filter(device=device).count() == 3
    assert list(DeviceReading.objects.values_list("temperature_c", flat=True).distinct()) == [4.5]
    device.refresh_from_db()
    assert device.last_seen_at is not None


def test_token_is_stored_hashed_only(device, device_token):
    device.refresh_from_db()
    assert device_token not in (device.token_hash, device.token_prefix)
    assert device.token_prefix == device_token[:8]
    assert len(device.token_hash) == 64


def test_missing_token_is_401_and_stores_nothing(device):
    response = _client().post(URL, _batch(1), format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Device realm="api"'
    assert response.json()["code"] == "not_authenticated"
    assert DeviceReading.objects.count() == 0


def test_unknown_token_is_401_with_reason(device, device_token):
    response = _client("not-a-real-token").post(URL, _batch(1), format="json")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Unknown device token.",
        "code": "authentication_failed",
        "errors": [],
    }
    assert DeviceReading.objects.count() == 0


def test_revoked_token_is_401_with_reason(device, device_token):
    assert device_token_revoke(device=device) is True
    response = _client(device_token).post(URL, _batch(1), format="json")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "This device token has been revoked.",
        "code": "authentication_failed",
        "errors": [],
    }
    assert DeviceReading.objects.count() == 0
    device.refresh_from_db()
    assert device.last_seen_at is None


def test_rotated_token_replaces_the_old_one(device, device_token):
    new_token = device_token_issue(device=device)
    old = _client(device_token).post(URL, _batch(2), format="json")
    new = _client(new_token).post(URL, _batch(1), format="json")
    assert (old.status_code, new.status_code) == (401, 201)
    assert old.json() == {
        "detail": "Unknown device token.",
        "code": "authentication_failed",
        "errors": [],
    }
    assert DeviceReading.objects.count() == 1


def test_deactivated_device_is_401(device, device_token):
    Device.objects.filter(pk=device.pk).update(is_active=False)
    response = _client(device_token).post(URL, _batch(1), format="json")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "This device is deactivated.",
        "code": "authentication_failed",
        "errors": [],
    }
    assert DeviceReading.objects.count() == 0


def test_logged_in_user_without_device_token_cannot_post_readings(device, owner):
    client = APIClient()
    client.force_login(owner)
    response = client.post(URL, _batch(1), format="json")
    assert response.status_code == 401
    assert DeviceReading.objects.count() == 0


def test_device_cannot_post_for_another_device(device, device_token, other_device):
    body = _batch(1)
    body["serial"] = other_device.serial
    response = _client(device_token).post(URL, body, format="json")
    assert response.status_code == 403
    body = response.json()
    assert other_device.serial in body["detail"]
    assert (body["code"], [(e["field"], e["code"]) for e in body["errors"]]) == (
        "wrong_device",
        [("serial", "wrong_device")],
    )
    assert DeviceReading.objects.count() == 0


@pytest.mark.parametrize("serial", [5, ["SN-1"], {"serial": "SN-1"}])
def test_a_serial_that_is_not_text_is_a_400_naming_serial(device, device_token, serial):
    # It was a 403 wrong_device quoting the Python value ("not ['SN-1']").
    body = {**_batch(1), "serial": serial}
    response = _client(device_token).post(URL, body, format="json")
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [("serial", "invalid")]
    assert DeviceReading.objects.count() == 0


def test_readings_always_belong_to_the_token_device(device, device_token, other_device):
    other_token = device_token_issue(device=other_device)
    _client(device_token).post(URL, _batch(2, 1), format="json")
    _client(other_token).post(URL, _batch(1), format="json")
    assert DeviceReading.objects.filter(device=device).count() == 2
    assert DeviceReading.objects.filter(device=other_device).count() == 1


def test_retried_batch_is_stored_once_and_reported_as_duplicates(device, device_token):
    body = _batch(5, 4, 3)
    first = _client(device_token).post(URL, body, format="json")
    body["readings"].append({"recorded_at": _at(1), "temperature_c": 5.0})
    retry = _client(device_token).post(URL, body, format="json")
    assert first.json() == {"received": 3, "accepted": 3, "duplicates": 0}
    assert retry.json() == {"received": 4, "accepted": 1, "duplicates": 3}
    assert DeviceReading.objects.filter(device=device).count() == 4


def test_duplicate_inside_one_batch_is_stored_once(device, device_token):
    moment = _at(2)
    body = {
        "readings": [
            {"recorded_at": moment, "temperature_c": 3.0},
            {"recorded_at": moment, "temperature_c": 3.0},
        ]
    }
    response = _client(device_token).post(URL, body, format="json")
    assert response.json() == {"received": 2, "accepted": 1, "duplicates": 1}
    assert DeviceReading.objects.count() == 1


def test_same_instant_in_another_timezone_is_a_duplicate(device, device_token):
    moment = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=3)
    utc = moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    shanghai = moment.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat()
    _client(device_token).post(
        URL, {"readings": [{"recorded_at": utc, "temperature_c": 1.0}]}, format="json"
    )
    response = _client(device_token).post(
        URL, {"readings": [{"recorded_at": shanghai, "temperature_c": 1.0}]}, format="json"
    )
    assert response.json() == {"received": 1, "accepted": 0, "duplicates": 1}
    assert DeviceReading.objects.get().recorded_at == moment


def test_empty_batch_is_a_heartbeat(device, device_token):
    response = _client(device_token).post(URL, {"readings": []}, format="json")
    assert response.status_code == 201
    assert response.json() == {"received": 0, "accepted": 0, "duplicates": 0}
    device.refresh_from_db()
    assert device.last_seen_at is not None


@pytest.mark.parametrize(
    ("item", "field", "message_part"),
    [
        ({"temperature_c": 4.0}, "recorded_at", "required"),
        ({"recorded_at": "yesterday", "temperature_c": 4.0}, "recorded_at", "ISO 8601"),
        ({"recorded_at": "2024-05-01T10:00:00", "temperature_c": 4.0}, "recorded_at", "time zone"),
        ({"recorded_at": 1714557600, "temperature_c": 4.0}, "recorded_at", "ISO 8601"),
        ({"recorded_at": "FUTURE", "temperature_c": 4.0}, "recorded_at", "future"),
        ({"recorded_at": "ANCIENT", "temperature_c": 4.0}, "recorded_at", "older than"),
        ({"recorded_at": "NOW", "temperature_c": -61}, "temperature_c", "plausible range"),
        ({"recorded_at": "NOW", "temperature_c": 80.5}, "temperature_c", "plausible range"),
        ({"recorded_at": "NOW", "temperature_c": "4.0"}, "temperature_c", "number"),
        ({"recorded_at": "NOW", "temperature_c": True}, "temperature_c", "number"),
        ({"recorded_at": "NOW", "energy_wh": -1}, "energy_wh", "plausible range"),
        # Beyond any float: compared as an integer, not converted (an OverflowError, a 500).
        ({"recorded_at": "NOW", "temperature_c": 10**400}, "temperature_c", "plausible range"),
        ({"recorded_at": "NOW", "energy_wh": -(10**400)}, "energy_wh", "plausible range"),
        ({"recorded_at": "NOW", "door_open": "yes"}, "door_open", "true, false or null"),
        ({"recorded_at": "NOW", "humidity": 40, "temperature_c": 4.0}, "humidity", "Unknown field"),
        ({"recorded_at": "NOW"}, "temperature_c|energy_wh|door_open", "at least one"),
    ],
)
def test_bad_reading_is_400_naming_index_and_field_and_stores_nothing(
    device, device_token, item, field, message_part
):
    now = timezone.now()
    replacements = {
        "NOW": _at(1),
        "FUTURE": (now + dt.timedelta(minutes=6)).isoformat(),
        "ANCIENT": (now - dt.timedelta(days=30)).isoformat(),
    }
    if item.get("recorded_at") in replacements:
        item = {**item, "recorded_at": replacements[item["recorded_at"]]}
    good = {"recorded_at": _at(2), "temperature_c": 4.0}
    response = _client(device_token).post(URL, {"readings": [good, item]}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert len(body["errors"]) == 1
    error = body["errors"][0]
    assert (error["index"], error["field"]) == (1, field)
    assert message_part in error["message"]
    assert "nothing was stored" in body["detail"]
    assert DeviceReading.objects.count() == 0
    device.refresh_from_db()
    assert device.last_seen_at is None


def test_every_bad_item_is_reported(device, device_token):
    body = {
        "readings": [
            {"recorded_at": _at(3), "temperature_c": 99},
            {"recorded_at": _at(2), "temperature_c": 4.0},
            "not an object",
            {"recorded_at": _at(1), "temperature_c": 4.0, "energy_wh": "lots"},
        ]
    }
    response = _client(device_token).post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert [(e["index"], e["field"], e["code"]) for e in response.json()["errors"]] == [
        (0, "temperature_c", "out_of_range"),
        (2, "", "not_an_object"),
        (3, "energy_wh", "invalid"),
    ]
    assert DeviceReading.objects.count() == 0


def test_an_out_of_range_integer_of_hundreds_of_digits_is_quoted_short(device, device_token):
    readings = [
        {"recorded_at": _at(2), "temperature_c": 12345 * 10**396},
        {"recorded_at": _at(1), "energy_wh": -(10**14)},
        {"recorded_at": _at(3), "temperature_c": 81},
    ]
    response = _client(device_token).post(
        URL, {"readings": readings}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert [error["message"] for error in response.json()["errors"]] == [
        "1.234e+400 is outside the plausible range -60 to 80.",
        "-100000000000000 is outside the plausible range 0 to 1000000.",
        "81 is outside the plausible range -60 to 80.",
    ]
    assert DeviceReading.objects.count() == 0


def test_an_unknown_key_beside_the_readings_is_refused_and_nothing_stored(device, device_token):
    body = {"readings": [{"recorded_at": _at(1), "temperature_c": 4.0}], "serail": "X", "a": 1}
    response = _client(device_token).post(URL, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    unknown = {"index": None, "code": "unknown_field", "message": "Unknown field."}
    assert response.json() == {
        "detail": "2 problems in the batch; nothing was stored.",
        "code": "invalid",
        "errors": [{**unknown, "field": "a"}, {**unknown, "field": "serail"}],
    }
    assert DeviceReading.objects.count() == 0


def test_an_unknown_key_and_bad_readings_are_refused_in_one_answer(device, device_token):
    """The unknown key was a 400 of its own: the device learnt of its readings' problems only
    after it dropped the key and sent again."""
    body = {
        "readings": [{"recorded_at": _at(1), "temperature_c": 4.0}, {"temperature_c": 99}],
        "serial": 5,
        "firmware": "1.2",
    }
    response = _client(device_token).post(URL, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["detail"]) == (
        "invalid",
        "4 problems in the batch; nothing was stored.",
    )
    assert [(e["index"], e["field"], e["code"]) for e in body["errors"]] == [
        (None, "serial", "invalid"),
        (1, "recorded_at", "required"),
        (1, "temperature_c", "out_of_range"),
        (None, "firmware", "unknown_field"),
    ]
    assert DeviceReading.objects.count() == 0


def test_a_body_without_readings_names_its_unknown_keys_too(device, device_token):
    response = _client(device_token).post(
        URL, {"reading": []}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Send a JSON object with a 'readings' list.",
        "code": "invalid",
        "errors": [
            {"index": None, "field": "readings", "code": "required", "message": "Required."},
            {
                "index": None,
                "field": "reading",
                "code": "unknown_field",
                "message": "Unknown field.",
            },
        ],
    }


def test_body_without_readings_list_is_400(device, device_token):
    no_key = _client(device_token).post(URL, {"data": []}, format="json")
    not_list = _client(device_token).post(URL, {"readings": {"a": 1}}, format="json")
    assert (no_key.status_code, not_list.status_code) == (400, 400)
    assert no_key.json()["errors"][0]["field"] == "readings"
    assert not_list.json()["code"] == "invalid"
    assert not_list.json()["errors"] == [
        {
            "index": None,
            "field": "readings",
            "code": "not_a_list",
            "message": "Must be a list of reading objects.",
        }
    ]


def test_batch_over_the_limit_is_400(device, device_token, settings):
    settings.DEVICE_READINGS_MAX_BATCH = 3
    response = _client(device_token).post(URL, _batch(4, 3, 2, 1), format="json")
    assert response.status_code == 400
    assert "At most 3 readings" in response.json()["errors"][0]["message"]
    assert DeviceReading.objects.count() == 0


def test_successful_post_enqueues_one_alert_evaluation_on_commit(
    device, device_token, django_capture_on_commit_callbacks, broker_queue
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _client(device_token).post(URL, _batch(1), format="json")
    assert len(callbacks) == 1
    assert broker_queue.sent() == []  # nothing before the commit
    callbacks[0]()
    sent = broker_queue.sent()  # on the real broker, for the worker
    assert sent == [(device_alerts_evaluate_task.name, [device.pk], {})]


def test_rejected_post_enqueues_nothing(device, device_token, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _client(device_token).post(URL, _batch(1, temperature=200), format="json")
    assert callbacks == []


def test_device_me_returns_its_thresholds(device, device_token):
    response = _client(device_token).get("/api/v1/devices/me")
    assert response.status_code == 200
    assert response.json() == {
        "serial": device.serial,
        "name": device.name,
        "kind": "display_chiller",
        "store": device.store.code,
        "min_temperature_c": 0.0,
        "max_temperature_c": 8.0,
        "minutes_out_of_range": 15,
        "silent_after_minutes": 30,
    }


def test_device_me_refuses_unknown_token(db):
    DeviceFactory()
    assert _client("nope").get("/api/v1/devices/me").status_code == 401


def test_device_api_too_deep_json_body_is_400(device, device_token) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_token}")
    too_deep = b'{"readings": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    response = client.post(URL, too_deep, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "too_deep"
    assert DeviceReading.objects.count() == 0


@pytest.mark.parametrize(
    ("recorded_at", "code"),
    [("0001-01-01T00:00:00+08:00", "too_old"), ("9999-12-31T23:59:59-12:00", "in_future")],
)
def test_device_reading_time_at_the_calendar_ends_is_refused(
    device, device_token, recorded_at: str, code: str
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Device {device_token}")
    body = {"readings": [{"recorded_at": recorded_at, "temperature_c": 4.0}]}

    response = client.post(URL, body, format="json")

    assert response.status_code == 400
    assert [(e["index"], e["field"], e["code"]) for e in response.json()["errors"]] == [
        (0, "recorded_at", code)
    ]
    assert DeviceReading.objects.count() == 0


def test_the_schema_gives_each_readings_range_as_the_ingestion_checks_it(owner):
    client = APIClient()
    client.force_authenticate(owner)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    reading = schema["components"]["schemas"]["Reading"]["properties"]
    bounds = {
        name: (reading[name].get("minimum"), reading[name].get("maximum"))
        for name in ("temperature_c", "energy_wh")
    }
    # energy_wh had no maximum, though more than 1,000,000 is refused (out_of_range).
    assert bounds == {"temperature_c": (-60, 80), "energy_wh": (0, 1_000_000)}
