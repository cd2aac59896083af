"""Races on PostgreSQL with real threads: a double tap on "start", two reviewers, an owner
marking the same item done twice at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from apps.stores.inspections import services
from apps.stores.inspections.services import RectificationRequest
from apps.stores.models import Inspection, InspectionPhoto, RectificationItem
from tests.factories import StoreFactory, owner_of
from tests.stores.test_inspections_support import (
    active_checklist,
    assign_inspector,
    png_bytes,
    submitted_inspection,
    upload,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _race(action: Callable[[], Any], *, threads: int = 2) -> list[Any]:
    """Run `action` in `threads` threads released together; return results or exceptions."""
    barrier = threading.Barrier(threads)
    outcomes: list[Any] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            outcome = action()
        except Exception as error:  # collected for the assertions
            outcome = error
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return outcomes


def test_two_simultaneous_starts_make_one_draft():
    store = StoreFactory()
    inspector = assign_inspector(store)
    active_checklist()

    outcomes = _race(lambda: services.inspection_start(store=store, inspector=inspector))

    assert Inspection.objects.count() == 1
    assert sorted(created for _inspection, created in outcomes) == [False, True]
    assert {inspection.pk for inspection, _created in outcomes} == {Inspection.objects.get().pk}


def test_two_reviewers_approving_at_once_approve_once(hq_user):
    inspection = submitted_inspection()

    outcomes = _race(lambda: services.inspection_approve(inspection=inspection, by=hq_user))

    errors = [outcome for outcome in outcomes if isinstance(outcome, ValidationError)]
    assert len(errors) == 1
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.APPROVED


def test_marking_the_same_item_done_twice_at_once_records_one_fix(hq_user):
    store = StoreFactory()
    owner = owner_of(store)
    inspection = submitted_inspection(store=store)
    (item,) = services.inspection_request_rectification(
        inspection=inspection,
        by=hq_user,
        items=[RectificationRequest("Clean the floor", timezone.localdate())],
    )
    photos_before = InspectionPhoto.objects.count()

    outcomes = _race(
        lambda: services.rectification_mark_done(
            rectification=item, by=owner, note="Cleaned.", upload=upload(png_bytes())
        )
    )

    errors = [outcome for outcome in outcomes if isinstance(outcome, ValidationError)]
    assert [error.code for error in errors] == ["already_done"]
    assert RectificationItem.objects.get().status == RectificationItem.Status.DONE
    assert InspectionPhoto.objects.count() == photos_before + 1  # the loser wrote no row
    media_files = [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]
    assert len(media_files) == InspectionPhoto.objects.count()  # ...and no file
    inspection.refresh_from_db()
    assert inspection.status == Inspection.Status.RECTIFIED
