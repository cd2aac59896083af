"""Portal pages: knowledge search and article, the store's training page, enrolling, lessons and
quizzes; and who is refused (another store's owner, inspectors, suppliers, HQ for store acts)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from apps.stores.models import StoreStaff
from apps.training import services
from apps.training.models import Enrolment, LessonCompletion, QuizAttempt
from tests.factories import StoreFactory, SupplierUserFactory, UserFactory, owner_of
from tests.training.factories import (
    ArticleFactory,
    EnrolmentFactory,
    PathCourseFactory,
    TrainingPathFactory,
    course_with_quiz,
)

pytestmark = pytest.mark.django_db


def _client(user: object | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def world() -> dict:
    store_a, store_b = StoreFactory(), StoreFactory()
    clerk_a = UserFactory()
    StoreStaff.objects.create(user=clerk_a, store=store_a, role=StoreStaff.Role.CLERK)
    inspector_a = UserFactory()
    StoreStaff.objects.create(user=inspector_a, store=store_a, role=StoreStaff.Role.INSPECTOR)
    course, lessons, questions = course_with_quiz(lessons=2, questions=1, pass_mark=100)
    path = TrainingPathFactory(name="直播带货")
    PathCourseFactory(path=path, course=course)
    article = ArticleFactory(title="蓝莓的保存方法", body="冷藏不洗")
    services.article_index(article=article)
    return {
        "store_a": store_a,
        "store_b": store_b,
        "owner_a": owner_of(store_a),
        "owner_b": owner_of(store_b),
        "clerk_a": clerk_a,
        "inspector_a": inspector_a,
        "course": course,
        "lessons": lessons,
        "questions": questions,
        "path": path,
        "article": article,
    }


def _hq(*codenames: str) -> object:
    user = UserFactory(is_staff=True)
    group = Group.objects.create(name=f"hq-{user.pk}")
    group.permissions.set(Permission.objects.filter(codename__in=codenames))
    user.groups.add(group)
    return user


# --- knowledge --------------------------------------------------------------------------------


def test_an_owner_searches_in_chinese_and_opens_the_article(world: dict) -> None:
    client = _client(world["owner_a"])
    page = client.get("/portal/training/knowledge/", {"q": "蓝莓怎么保存"}).content.decode()
    assert f'href="/portal/training/knowledge/{world["article"].pk}/"' in page
    response = client.get(f"/portal/training/knowledge/{world['article'].pk}/")
    assert response.status_code == 200
    assert "冷藏不洗" in response.content.decode()


@pytest.mark.parametrize("role", ["clerk_a", "inspector_a", "owner_b"])
def test_every_store_role_reads_the_knowledge_base(world: dict, role: str) -> None:
    assert _client(world[role]).get("/portal/training/knowledge/").status_code == 200


def test_suppliers_and_hq_without_the_permission_are_refused_the_knowledge_base(
    world: dict,
) -> None:
    supplier_user = SupplierUserFactory().user
    for user in (supplier_user, _hq("view_store")):
        client = _client(user)
        assert client.get("/portal/training/knowledge/").status_code == 403
        assert client.get(f"/portal/training/knowledge/{world['article'].pk}/").status_code == 403
    assert _client(_hq("view_article")).get("/portal/training/knowledge/").status_code == 200
    assert _client(None).get("/portal/training/knowledge/").status_code == 302


def test_an_unpublished_article_is_not_found(world: dict) -> None:
    hidden = ArticleFactory(is_published=False)
    assert (
        _client(world["owner_a"]).get(f"/portal/training/knowledge/{hidden.pk}/").status_code == 404
    )


# --- the store's training ---------------------------------------------------------------------


def test_owner_enrols_reads_a_lesson_and_passes_the_quiz(world: dict) -> None:
    store, owner = world["store_a"], world["owner_a"]
    client = _client(owner)
    page = client.get(f"/portal/training/stores/{store.pk}/").content.decode()
    assert "直播带货" in page
    assert f'action="/portal/training/stores/{store.pk}/paths/{world["path"].pk}/enrol/"' in page

    response = client.post(f"/portal/training/stores/{store.pk}/paths/{world['path'].pk}/enrol/")
    assert response.status_code == 302
    assert Enrolment.objects.filter(user=owner, store=store, path=world["path"]).count() == 1

    first, second = world["lessons"]
    response = client.post(f"/portal/training/stores/{store.pk}/lessons/{first.pk}/")
    assert response["Location"] == f"/portal/training/stores/{store.pk}/lessons/{second.pk}/"
    client.post(f"/portal/training/stores/{store.pk}/lessons/{second.pk}/")
    assert LessonCompletion.objects.filter(user=owner).count() == 2

    [(question, good, _bad)] = world["questions"]
    response = client.post(
        f"/portal/training/stores/{store.pk}/courses/{world['course'].pk}/quiz/",
        {f"q{question.pk}": good.pk},
    )
    assert response.status_code == 200
    assert 'data-passed="true"' in response.content.decode()
    assert Enrolment.objects.get(user=owner).completed_at is not None


def test_the_course_page_marks_a_read_lesson_已读(world: dict) -> None:
    # "read" was one msgid with the notification's "read at" column (已读时间).
    store, owner = world["store_a"], world["owner_a"]
    client = _client(owner)
    client.post(f"/portal/training/stores/{store.pk}/paths/{world['path'].pk}/enrol/")
    first, second = world["lessons"]
    client.post(f"/portal/training/stores/{store.pk}/lessons/{first.pk}/")
    page = client.get(
        f"/portal/training/stores/{store.pk}/courses/{world['course'].pk}/"
    ).content.decode()
    assert page.count('<span class="muted">✓ 已读</span>') == 1
    assert "已读时间" not in page


def test_a_bad_answer_is_a_400_and_records_nothing(world: dict) -> None:
    store = world["store_a"]
    [(question, _good, _bad)] = world["questions"]
    response = _client(world["clerk_a"]).post(
        f"/portal/training/stores/{store.pk}/courses/{world['course'].pk}/quiz/",
        {f"q{question.pk}": "999999"},
    )
    assert response.status_code == 400
    assert not QuizAttempt.objects.exists()


def test_the_clerk_trains_for_their_store_too(world: dict) -> None:
    store = world["store_a"]
    client = _client(world["clerk_a"])
    assert client.get(f"/portal/training/stores/{store.pk}/").status_code == 200
    client.post(f"/portal/training/stores/{store.pk}/paths/{world['path'].pk}/enrol/")
    assert Enrolment.objects.filter(user=world["clerk_a"], store=store).exists()


def test_owner_b_cannot_see_or_enrol_or_train_for_store_a(world: dict) -> None:
    store = world["store_a"]
    EnrolmentFactory(user=world["owner_a"], store=store, path=world["path"])
    client = _client(world["owner_b"])
    [(question, good, _bad)] = world["questions"]
    base = f"/portal/training/stores/{store.pk}"
    assert client.get(f"{base}/").status_code == 403
    assert client.post(f"{base}/paths/{world['path'].pk}/enrol/").status_code == 403
    assert client.get(f"{base}/courses/{world['course'].pk}/").status_code == 403
    assert client.get(f"{base}/lessons/{world['lessons'][0].pk}/").status_code == 403
    assert client.post(f"{base}/lessons/{world['lessons'][0].pk}/").status_code == 403
    response = client.post(
        f"{base}/courses/{world['course'].pk}/quiz/", {f"q{question.pk}": good.pk}
    )
    assert response.status_code == 403
    assert not Enrolment.objects.filter(user=world["owner_b"]).exists()
    assert not LessonCompletion.objects.exists()
    assert not QuizAttempt.objects.exists()


def test_owner_a_sees_only_store_a_enrolments(world: dict) -> None:
    EnrolmentFactory(user=world["owner_b"], store=world["store_b"], path=world["path"])
    EnrolmentFactory(user=world["clerk_a"], store=world["store_a"], path=world["path"])
    page = _client(world["owner_a"]).get(f"/portal/training/stores/{world['store_a'].pk}/")
    text = page.content.decode()
    assert world["clerk_a"].username in text
    assert world["owner_b"].username not in text


def test_inspectors_do_not_train_for_a_store(world: dict) -> None:
    store = world["store_a"]
    client = _client(world["inspector_a"])
    assert client.get(f"/portal/training/stores/{store.pk}/").status_code == 403
    assert (
        client.post(
            f"/portal/training/stores/{store.pk}/paths/{world['path'].pk}/enrol/"
        ).status_code
        == 403
    )


def test_hq_sees_a_store_training_page_but_does_not_enrol(world: dict) -> None:
    store = world["store_a"]
    hq = _hq("view_enrolment", "view_article")
    client = _client(hq)
    page = client.get(f"/portal/training/stores/{store.pk}/").content.decode()
    assert "/enrol/" not in page
    assert (
        client.post(
            f"/portal/training/stores/{store.pk}/paths/{world['path'].pk}/enrol/"
        ).status_code
        == 403
    )
    assert (
        client.get(f"/portal/training/stores/{store.pk}/courses/{world['course'].pk}/").status_code
        == 403
    )
    assert not Enrolment.objects.exists()
    assert _client(_hq("view_store")).get(f"/portal/training/stores/{store.pk}/").status_code == 403


def test_unknown_path_course_and_lesson_are_404(world: dict) -> None:
    client = _client(world["owner_a"])
    base = f"/portal/training/stores/{world['store_a'].pk}"
    assert client.post(f"{base}/paths/999999/enrol/").status_code == 404
    assert client.get(f"{base}/courses/999999/").status_code == 404
    assert client.get(f"{base}/lessons/999999/").status_code == 404
    assert client.get(f"{base}/courses/999999/quiz/").status_code == 404


def test_the_store_page_links_to_training_only_for_those_who_may_open_it(world: dict) -> None:
    store = world["store_a"]
    link = f'href="/portal/training/stores/{store.pk}/"'
    assert link in _client(world["owner_a"]).get(f"/portal/stores/{store.pk}/").content.decode()
    inspector_page = _client(world["inspector_a"]).get(f"/portal/stores/{store.pk}/")
    assert inspector_page.status_code == 200
    assert link not in inspector_page.content.decode()
