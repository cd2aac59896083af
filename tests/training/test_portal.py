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
    ChoiceFactory,
    EnrolmentFactory,
    PathCourseFactory,
    QuestionFactory,
    QuizAttemptFactory,
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
    attempt = QuizAttempt.objects.get(user=owner)
    assert response.status_code == 302
    assert response["Location"] == _attempt_url(store, attempt)
    assert 'data-passed="true"' in client.get(response["Location"]).content.decode()
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


def _attempt_url(store: object, attempt: QuizAttempt) -> str:
    return (
        f"/portal/training/stores/{store.pk}/courses/{attempt.course_id}/quiz/attempts/"
        f"{attempt.pk}/"
    )


@pytest.fixture
def two_questions(world: dict) -> dict:
    course, _lessons, questions = course_with_quiz(lessons=0, questions=2, pass_mark=100)
    return {
        "course": course,
        "questions": questions,
        "url": f"/portal/training/stores/{world['store_a'].pk}/courses/{course.pk}/quiz/",
    }


def test_an_empty_quiz_is_refused_naming_every_question_and_records_nothing(
    world: dict, two_questions: dict
) -> None:
    response = _client(world["owner_a"]).post(two_questions["url"], {})
    page = response.content.decode()
    assert response.status_code == 400
    assert "请答完所有题目再提交。还没有作答：第 1 题、第 2 题。" in page
    assert page.count('class="question missing"') == 2
    assert not QuizAttempt.objects.exists()


def test_a_partly_answered_quiz_is_refused_and_keeps_the_given_answer(
    world: dict, two_questions: dict
) -> None:
    (q1, _good1, bad1), (q2, _good2, _bad2) = two_questions["questions"]
    response = _client(world["owner_a"]).post(two_questions["url"], {f"q{q1.pk}": bad1.pk})
    page = response.content.decode()
    assert response.status_code == 400
    assert "还没有作答：第 2 题。" in page
    assert f'name="q{q1.pk}" value="{bad1.pk}" required checked>' in page
    assert page.count(" checked>") == 1
    assert f'class="question missing" id="question-{q2.pk}"' in page
    assert f'class="question" id="question-{q1.pk}"' in page
    assert not QuizAttempt.objects.exists()


def test_the_result_shows_which_answers_were_wrong_and_the_right_ones(
    world: dict, two_questions: dict
) -> None:
    (q1, good1, _bad1), (q2, good2, bad2) = two_questions["questions"]
    q2.explanation = "开场先报主题和福利时间"
    q2.save()
    client = _client(world["owner_a"])
    response = client.post(
        two_questions["url"], {f"q{q1.pk}": good1.pk, f"q{q2.pk}": bad2.pk}, follow=True
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-passed="false"' in page
    assert f'data-question="{q1.pk}" data-right="true"' in page
    assert f'data-question="{q2.pk}" data-right="false"' in page
    assert f"你的答案：{good1.text}" in page
    assert f"你的答案：{bad2.text}" in page
    assert f"正确答案：{good2.text}" in page
    assert page.count("正确答案：") == 1  # only for the wrong answer
    assert "解析：开场先报主题和福利时间" in page
    assert f'href="{two_questions["url"]}">再做一次' in page


def test_the_quiz_page_lists_the_users_attempts_to_see_again(
    world: dict, two_questions: dict
) -> None:
    store, course = world["store_a"], two_questions["course"]
    mine = QuizAttemptFactory(user=world["owner_a"], store=store, course=course, score=50)
    theirs = QuizAttemptFactory(user=world["clerk_a"], store=store, course=course)
    elsewhere = QuizAttemptFactory(user=world["owner_a"], store=world["store_b"], course=course)
    page = _client(world["owner_a"]).get(two_questions["url"]).content.decode()
    assert f'href="{_attempt_url(store, mine)}"' in page
    assert f"/attempts/{theirs.pk}/" not in page
    assert f"/attempts/{elsewhere.pk}/" not in page


def test_an_attempt_opens_for_its_taker_only(world: dict, two_questions: dict) -> None:
    store, course = world["store_a"], two_questions["course"]
    attempt = QuizAttemptFactory(user=world["owner_a"], store=store, course=course)
    url = _attempt_url(store, attempt)
    assert _client(world["owner_a"]).get(url).status_code == 200
    assert _client(world["clerk_a"]).get(url).status_code == 404
    assert _client(world["owner_b"]).get(url).status_code == 403
    assert _client(world["inspector_a"]).get(url).status_code == 403
    assert _client(_hq("view_enrolment", "view_quizattempt")).get(url).status_code == 403
    assert _client(None).get(url).status_code == 302
    wrong_course = url.replace(f"/courses/{course.pk}/", f"/courses/{world['course'].pk}/")
    assert _client(world["owner_a"]).get(wrong_course).status_code == 404


def test_a_read_lesson_is_marked_read_not_read_time(world: dict) -> None:
    owner, store = world["owner_a"], world["store_a"]
    services.lesson_complete(user=owner, lesson=world["lessons"][0])
    page = (
        _client(owner)
        .get(f"/portal/training/stores/{store.pk}/courses/{world['course'].pk}/")
        .content.decode()
    )
    assert "✓ 已读</span>" in page
    assert "已读时间" not in page


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


def _arabic_indic(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


def test_an_answer_in_digits_other_than_ascii_is_a_400_and_records_nothing(world: dict) -> None:
    """ "²" passes str.isdigit() but not int() (it was a 500); the right choice's id written in
    Arabic-Indic digits is not an answer either (int() read it as that id)."""
    store = world["store_a"]
    [(question, good, _bad)] = world["questions"]
    url = f"/portal/training/stores/{store.pk}/courses/{world['course'].pk}/quiz/"
    for answer in ("²", _arabic_indic(good.pk)):
        response = _client(world["clerk_a"]).post(url, {f"q{question.pk}": answer})
        assert response.status_code == 400
        assert not QuizAttempt.objects.exists()


def test_a_quiz_in_preparation_is_announced_and_not_offered(world: dict) -> None:
    """A question without a right answer yet keeps the whole quiz in preparation: the course
    page says so (in Chinese, the default language) instead of offering the quiz, the quiz page
    has no form and a submission is refused with nothing recorded, and the course stays open.
    Someone who passed the quiz before keeps their pass."""
    store, course = world["store_a"], world["course"]
    earlier = QuizAttemptFactory(
        user=world["owner_a"],
        store=store,
        course=course,
        correct=1,
        total=1,
        score=100,
        passed=True,
    )
    for lesson in world["lessons"]:
        services.lesson_complete(user=world["owner_a"], lesson=lesson)
        services.lesson_complete(user=world["clerk_a"], lesson=lesson)
    unfinished = QuestionFactory(course=course, position=99)
    ChoiceFactory(question=unfinished, is_correct=False)
    clerk = _client(world["clerk_a"])
    base = f"/portal/training/stores/{store.pk}"
    quiz_url = f"{base}/courses/{course.pk}/quiz/"

    page = clerk.get(f"{base}/courses/{course.pk}/").content.decode()
    assert "本课程的测验正在准备中" in page
    assert f'href="{quiz_url}"' not in page
    assert "课程已完成" not in page
    assert "测验准备中" in clerk.get(f"{base}/").content.decode()
    response = clerk.get(quiz_url)
    assert response.status_code == 200
    assert 'id="quiz-in-preparation"' in response.content.decode()
    assert "<form" not in response.content.decode().split('id="quiz-in-preparation"')[1]
    [(question, good, _bad)] = world["questions"]
    response = clerk.post(quiz_url, {f"q{question.pk}": good.pk})
    assert response.status_code == 400
    assert "测验正在准备中" in response.content.decode()
    assert list(QuizAttempt.objects.all()) == [earlier]

    owner_page = _client(world["owner_a"]).get(f"{base}/courses/{course.pk}/").content.decode()
    assert "课程已完成" in owner_page
    assert "本课程的测验正在准备中" not in owner_page
