"""Two saves of one inspection scoring page (the same form key, each with a photo) at the same
moment, on PostgreSQL with real threads and connections: the first holds its uncommitted save,
the second waits on the inspection's row lock and, once the first commits, finds the key
claimed — one save, one photo."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import transaction

from apps.stores.inspections import services
from apps.stores.models import InspectionPhoto, InspectionSave
from tests.procurement.test_consolidation_race import _a_session_waits_for_a_lock, _in_thread
from tests.stores.test_inspections_support import active_checklist, jpeg_bytes, upload

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_second_save_of_the_page_while_the_first_is_open_waits_and_adds_nothing(store, inspector):
    active_checklist((3, 2, 2))
    draft, _created = services.inspection_start(store=store, inspector=inspector)
    key = uuid.uuid4()
    saved, release = threading.Event(), threading.Event()

    def save() -> services.ResultsSaved:
        return services.inspection_results_save(
            inspection=draft,
            by=inspector,
            entries=[],
            other_upload=upload(jpeg_bytes()),
            key=key,
        )

    def first() -> services.ResultsSaved:
        with transaction.atomic():  # saved, not yet committed, until released
            outcome = save()
            saved.set()
            release.wait(timeout=30)
        return outcome

    first_thread, first_result = _in_thread(first)
    assert saved.wait(timeout=30)
    second_thread, second_result = _in_thread(save)
    try:
        assert _a_session_waits_for_a_lock()  # the second waits for the first, not after it
    finally:
        release.set()
        first_thread.join(timeout=30)
        second_thread.join(timeout=30)

    [done] = first_result
    [refused] = second_result
    assert done.photos_added == 1
    assert isinstance(refused, services.InspectionSaveRepeated)
    assert list(InspectionSave.objects.values_list("inspection_id", "key")) == [(draft.pk, key)]
    assert InspectionPhoto.objects.count() == 1
