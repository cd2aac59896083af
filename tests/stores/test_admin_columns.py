"""Every admin changelist names things instead of showing ids, without a query per row: no list
column shows an object whose text is made of raw foreign-key numbers, and each registered
changelist keeps its query count when its rows grow (rows built as the admin smoke tests do)."""

from __future__ import annotations

import inspect
import re

import pytest
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import DatabaseError, connection, models, transaction
from django.test.utils import CaptureQueriesContext

from tests.stores.test_admin import MODEL_IDS, REGISTERED, _row_build, _row_or_fail, _url

pytestmark = pytest.mark.django_db

# `{self.store_id}` and the like in a __str__: the text shows a raw foreign-key number.
ID_IN_TEXT = re.compile(r"\{self\.\w+_id\b")


def _id_based_text(model: type[models.Model]) -> bool:
    try:
        source = inspect.getsource(model.__str__)
    except (OSError, TypeError):  # Django's default __str__ or a C implementation
        return False
    return bool(ID_IN_TEXT.search(source))


def _foreign_key_columns(
    model: type[models.Model], model_admin: admin.ModelAdmin
) -> list[tuple[str, type[models.Model]]]:
    columns = []
    for name in model_admin.list_display:
        if name == "__str__":
            columns.append((name, model))
            continue
        if not isinstance(name, str):
            continue
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        if field.many_to_one or field.one_to_one:
            columns.append((name, field.related_model))
    return columns


def test_no_changelist_column_shows_an_object_named_by_ids():
    offenders = [
        f"{model._meta.label}.{name} → {target._meta.label}"
        for model, model_admin in REGISTERED
        for name, target in _foreign_key_columns(model, model_admin)
        if _id_based_text(target)
    ]
    assert offenders == []


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=MODEL_IDS)
def test_changelist_query_count_stays_flat_from_one_row_to_three(
    client, hq_user, model, model_admin
):
    client.force_login(hq_user)
    url = _url(model, "changelist")
    _row_or_fail(model)
    assert client.get(url).status_code == 200  # warm per-process caches (content types)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for _ in range(2):
        try:
            with transaction.atomic():
                _row_build(model)
        except (DatabaseError, LookupError, ValueError, TypeError):
            break  # a singleton or a row that cannot repeat: what is there is compared
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries), "\n".join(
        query["sql"] for query in many.captured_queries
    )
