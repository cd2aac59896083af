"""The demo's knowledge base and training: idempotent, the owner enrolled, and the summer
campaign's blueberries getting their selling points from the knowledge base."""

from __future__ import annotations

import pytest

from apps.ops.demo.campaigns import SUMMER_PRODUCTS
from apps.ops.demo.training import ARTICLES, COURSES, PATHS, demo_training_seed
from apps.stores.models import StoreStaff
from apps.training import selectors
from apps.training.models import (
    Article,
    Course,
    Enrolment,
    LessonCompletion,
    Question,
    TrainingPath,
)
from tests.factories import ProductFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_demo_training_is_idempotent_and_enrols_the_demo_owner() -> None:
    store = StoreFactory()
    owner = UserFactory(username="owner")
    StoreStaff.objects.create(user=owner, store=store, role=StoreStaff.Role.OWNER)
    first = demo_training_seed(stores=[store])
    second = demo_training_seed(stores=[store])
    assert (
        first
        == second
        == {
            "articles": len(ARTICLES),
            "courses": len(COURSES),
            "paths": len(PATHS),
        }
    )
    assert Article.objects.count() == len(ARTICLES)
    assert Course.objects.count() == len(COURSES)
    assert TrainingPath.objects.count() == len(PATHS)
    assert Enrolment.objects.get(user=owner).path.code == "live-selling"
    assert LessonCompletion.objects.filter(user=owner).count() == 1
    assert all(Article.objects.values_list("title_tokens", flat=True))
    # Every quiz question says why its answer is right (the result page shows it).
    assert Question.objects.count() == sum(len(course.questions) for course in COURSES)
    assert not Question.objects.filter(explanation="").exists()


def test_the_summer_campaign_blueberries_take_the_knowledge_base_selling_points() -> None:
    blueberries = [
        ProductFactory(name=name, selling_points="产品自带卖点")
        for name, _price, _stock in SUMMER_PRODUCTS
        if "蓝莓" in name
    ]
    assert blueberries
    demo_training_seed(stores=[])
    spec = next(article for article in ARTICLES if article.selling_points)
    expected = [line for line in spec.selling_points.splitlines() if line.strip()]
    points = selectors.product_selling_points(product_ids=[product.pk for product in blueberries])
    assert points == {product.pk: expected for product in blueberries}
