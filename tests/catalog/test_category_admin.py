"""HQ moves a category in the admin: a category put below itself — directly or below one of its
own descendants — is refused on the parent field, and nothing is saved. The database holds
only "not its own parent" (its message was shown above the form); a loop through a
descendant was saved."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from apps.catalog.models import Category
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree() -> dict[str, Category]:
    fruit = CategoryFactory(code="FRUIT", name="水果", parent=None)
    berries = CategoryFactory(code="BERRY", name="浆果", parent=fruit)
    blue = CategoryFactory(code="BLUE", name="蓝莓", parent=berries)
    return {"fruit": fruit, "berries": berries, "blue": blue}


def _move(client, category: Category, parent: Category) -> object:
    return client.post(
        reverse("admin:catalog_category_change", args=[category.pk]),
        {"code": category.code, "name": category.name, "parent": parent.pk},
    )


def _parents() -> dict[str, str | None]:
    return dict(Category.objects.values_list("code", "parent__code"))


def test_a_category_cannot_be_made_its_own_parent_in_the_admin(client, hq_user, tree):
    client.force_login(hq_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    before = _parents()
    response = _move(client, tree["berries"], tree["berries"])
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "parent": ["A category cannot be its own parent."]
    }
    assert _parents() == before


def test_a_category_cannot_be_put_below_its_own_descendant_in_the_admin(client, hq_user, tree):
    client.force_login(hq_user)
    before = _parents()
    with translation.override("zh-hans"):
        response = _move(client, tree["fruit"], tree["blue"])
    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {
        "parent": ["“FRUIT”会成为自己的下级（其上级链条又回到了它自己）。"]
    }
    assert _parents() == before


def test_a_category_moves_below_another_branch(client, hq_user, tree):
    vegetables = CategoryFactory(code="VEG", name="蔬菜", parent=None)
    client.force_login(hq_user)
    response = _move(client, tree["berries"], vegetables)
    assert response.status_code == 302
    assert _parents()["BERRY"] == "VEG"
