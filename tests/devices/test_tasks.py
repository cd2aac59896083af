"""Device tasks are registered, scheduled in linli/schedules.py, and documented in the schema."""

from __future__ import annotations

import pytest
from django.test import Client

from linli.celery import app as celery_app
from linli.schedules import SCHEDULES

DEVICE_TASKS = {
    "apps.devices.tasks.devices_silent_sweep_task",
    "apps.devices.tasks.device_readings_rollup_task",
    "apps.devices.tasks.device_readings_retention_task",
}


def test_device_schedules_name_registered_tasks():
    import apps.devices.tasks  # noqa: F401 - registers the tasks

    scheduled = {schedule.task for schedule in SCHEDULES}
    assert scheduled >= DEVICE_TASKS
    assert DEVICE_TASKS <= set(celery_app.tasks)
    assert "apps.devices.tasks.device_alerts_evaluate_task" in celery_app.tasks


@pytest.mark.django_db
def test_openapi_schema_documents_the_readings_endpoint(hq_user):
    client = Client()
    client.force_login(hq_user)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json() if response["Content-Type"].startswith("application/json") else None
    text = response.content.decode()
    assert "/api/v1/devices/readings" in text
    assert "deviceToken" in text
    if schema is not None:
        assert "post" in schema["paths"]["/api/v1/devices/readings"]
