"""A database constraint an admin form can break says what is wrong, in the user's language —
never Django's default "Constraint “product_price_not_negative” is violated.".

Walks the admin registry: for every admin HQ can add rows with, each check constraint (and
conditional unique constraint, whose default message is the same) over fields the add form
or the editable list holds must carry a `violation_error_message`. A plain unique constraint
is left out: Django words its error from the fields ("… with this SKU already exists.").

Change forms of an existing row too: a constraint over a field the form edits and a field it
does not is skipped by Django's validation (it checks a constraint only over the fields a
form holds), so the database refused the save with an error page. Such a constraint is either
checked by the model's `clean()` (listed below) or its fields are all read-only."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.test import RequestFactory
from django.utils import translation

from apps.catalog.models import Product
from apps.stores.models import Store
from tests.stores.test_admin import _row_or_fail

pytestmark = pytest.mark.django_db


def _fields_of(expression: object, found: set[str]) -> set[str]:
    """The model fields a condition reads (first part of each lookup, each F())."""
    if isinstance(expression, Q):
        for child in expression.children:
            if isinstance(child, tuple):
                found.add(child[0].split("__")[0])
                _fields_of(child[1], found)
            else:
                _fields_of(child, found)
    elif isinstance(expression, F):
        found.add(expression.name.split("__")[0])
    elif hasattr(expression, "get_source_expressions"):
        for part in expression.get_source_expressions():
            _fields_of(part, found)
    return found


def _constraint_fields(model: type[models.Model], constraint: models.BaseConstraint) -> set[str]:
    if isinstance(constraint, models.CheckConstraint):
        names = _fields_of(constraint.condition, set())
    else:
        names = set(constraint.fields) | _fields_of(constraint.condition, set())
    return {model._meta.pk.name if name == "pk" else name for name in names}


def _worded_by_default(constraint: models.BaseConstraint) -> bool:
    return constraint.violation_error_message in (None, constraint.default_violation_error_message)


def test_every_constraint_an_admin_form_can_break_has_a_message():
    request = RequestFactory().get("/admin/")
    request.user = get_user_model()(username="hq", is_staff=True, is_superuser=True)
    unworded = []
    for model, model_admin in admin.site._registry.items():
        editable = set(model_admin.list_editable)
        if model_admin.has_add_permission(request):
            editable |= set(model_admin.get_form(request, None).base_fields)
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint) and constraint.condition is None:
                continue
            fields = _constraint_fields(model, constraint)
            if fields and fields <= editable and _worded_by_default(constraint):
                unworded.append(f"{model._meta.label}.{constraint.name}")
    assert unworded == []


# Constraints a change form edits in part, checked by the model's `clean()` with the row's own
# value of the field the form does not hold.
CHECKED_IN_CLEAN = {
    # The editable list holds "up to" but not the kind: `CompensationPolicy.clean()`.
    "procurement.CompensationPolicy.compensation_policy_one_open_ended",
    "procurement.CompensationPolicy.compensation_policy_unique",
}


def _with_constraints() -> list[tuple[type[models.Model], admin.ModelAdmin]]:
    return sorted(
        (
            (model, model_admin)
            for model, model_admin in admin.site._registry.items()
            if model._meta.constraints
        ),
        key=lambda item: item[0]._meta.label,
    )


@pytest.mark.parametrize(
    ("model", "model_admin"),
    _with_constraints(),
    ids=[model._meta.label for model, _model_admin in _with_constraints()],
)
def test_no_change_form_edits_a_constraint_only_in_part(model, model_admin):
    row = _row_or_fail(model)
    request = RequestFactory().get("/admin/")
    request.user = get_user_model()(username="hq", is_staff=True, is_superuser=True)
    if not model_admin.has_change_permission(request, row):
        return
    pk = model._meta.pk.name
    # Each form on its own: the change form and the editable list's. The row's primary key
    # is the instance's, not the form's: Django checks a constraint over it.
    forms = [set(model_admin.get_form(request, row).base_fields), set(model_admin.list_editable)]
    in_part = sorted(
        f"{model._meta.label}.{constraint.name}"
        for constraint in model._meta.constraints
        for editable in forms
        if (fields := _constraint_fields(model, constraint)) & editable
        and not fields <= editable | {pk}
    )
    assert [name for name in in_part if name not in CHECKED_IN_CLEAN] == []


def _refusal(instance: models.Model, language: str, **kwargs: object) -> list[str]:
    """The constraint messages, worded (as Django does) when the error is raised."""
    with translation.override(language), pytest.raises(ValidationError) as caught:
        instance.validate_constraints(**kwargs)
    return caught.value.messages


def test_a_negative_product_price_is_refused_in_words_in_chinese_too():
    product = Product(sku="P-1", name="苹果", price=-1, cost=0)
    assert _refusal(product, "en") == ["The price cannot be negative."]
    assert _refusal(product, "zh-hans") == ["价格不能为负数。"]


def test_a_store_latitude_out_of_range_is_refused_in_words():
    store = Store(latitude=95, longitude=0)
    assert _refusal(store, "en", exclude={"region"}) == ["The latitude must be between -90 and 90."]
