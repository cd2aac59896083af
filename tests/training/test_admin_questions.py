"""HQ writes quiz questions in the admin: answer choices with none marked correct are refused
(learners could never answer the question right), while a question with no choices yet is kept
as work in progress; the course's quiz is in preparation until every question has a right
answer, and the course list says so."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.translation import override

from apps.training.models import Choice, Question
from tests.factories import UserFactory
from tests.training.factories import ChoiceFactory, CourseFactory, QuestionFactory, course_with_quiz

pytestmark = pytest.mark.django_db

ADD = reverse("admin:training_question_add")


@pytest.fixture
def hq() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _post(client: Client, course: object, choices: list[tuple[str, bool]]):
    data = {
        "course": course.pk,
        "position": 0,
        "text": "冷藏品收货温度应在？",
        "explanation": "",
        "choices-TOTAL_FORMS": len(choices),
        "choices-INITIAL_FORMS": 0,
        "choices-MIN_NUM_FORMS": 0,
        "choices-MAX_NUM_FORMS": 1000,
    }
    for index, (text, is_correct) in enumerate(choices):
        data[f"choices-{index}-text"] = text
        if is_correct:
            data[f"choices-{index}-is_correct"] = "on"
    with override("en"):
        return client.post(ADD, data, HTTP_ACCEPT_LANGUAGE="en")


def test_choices_with_none_marked_correct_are_refused_and_nothing_is_saved(hq: Client) -> None:
    response = _post(hq, CourseFactory(), [("0–4 ℃", False), ("10–15 ℃", False)])
    assert response.status_code == 200
    assert "Mark at least one answer choice correct" in response.content.decode()
    assert not Question.objects.exists()
    assert not Choice.objects.exists()


def test_a_question_with_a_right_answer_or_no_choices_yet_is_saved(hq: Client) -> None:
    course = CourseFactory()
    assert _post(hq, course, [("0–4 ℃", True), ("10–15 ℃", False)]).status_code == 302
    assert _post(hq, course, []).status_code == 302
    assert Question.objects.filter(course=course).count() == 2
    assert list(Choice.objects.values_list("text", "is_correct")) == [
        ("0–4 ℃", True),
        ("10–15 ℃", False),
    ]


def test_the_course_list_shows_whether_each_quiz_is_ready(hq: Client) -> None:
    course_with_quiz(lessons=0, questions=2, title="已就绪课程")
    preparing, _lessons, _questions = course_with_quiz(lessons=0, questions=1, title="准备中课程")
    ChoiceFactory(question=QuestionFactory(course=preparing), is_correct=False)
    QuestionFactory(course=preparing)
    CourseFactory(title="无测验课程")
    with override("en"):
        page = hq.get(reverse("admin:training_course_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    rows = page.content.decode().split("<tr")

    def row(title: str) -> str:
        [found] = [row for row in rows if title in row]
        return found

    assert '<td class="field-quiz_state">Ready</td>' in row("已就绪课程")
    assert (
        '<td class="field-quiz_state">In preparation: 2 of 3 questions have no right answer yet'
        in row("准备中课程")
    )
    assert '<td class="field-quiz_state">—</td>' in row("无测验课程")
