from __future__ import annotations

import importlib

import pytest

from apps.devices.services import device_token_issue
from tests.devices.factories import DeviceFactory


@pytest.fixture(autouse=True)
def _english(settings: object) -> None:
    # Assertions read English source strings; the zh-hans catalogue must not change them.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def device(store: object) -> object:
    return DeviceFactory(store=store)


@pytest.fixture
def device_token(device: object) -> str:
    return device_token_issue(device=device)


@pytest.fixture
def other_device(other_store: object) -> object:
    return DeviceFactory(store=other_store)


@pytest.fixture(autouse=True)
def _kind_thresholds(db: None) -> None:
    """The default thresholds come from a data migration; transactional tests (anywhere in the
    suite) flush them, so put back any that are missing — same values, same code."""
    from django.apps import apps

    migration = importlib.import_module("apps.devices.migrations.0002_default_thresholds")
    migration.create_defaults(apps, None)
