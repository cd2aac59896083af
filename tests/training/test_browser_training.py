"""A real browser (headless system Chromium) searches the knowledge base in Chinese, enrols and
passes a quiz on a phone-sized screen, under the site's Content-Security-Policy (nothing
refused by it, and no page resource missing; Chromium's own /favicon.ico request is a 404 the
console reports without a URL, so console errors are checked for CSP refusals only)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from apps.training import services
from apps.training.models import Enrolment, QuizAttempt
from tests.factories import PASSWORD, StoreFactory, owner_of
from tests.training.factories import (
    ArticleFactory,
    PathCourseFactory,
    TrainingPathFactory,
    course_with_quiz,
)

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"


@pytest.fixture
def page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()


def test_owner_searches_enrols_and_passes_a_quiz_in_a_real_browser(live_server, page) -> None:
    store = StoreFactory()
    owner = owner_of(store)
    storage = ArticleFactory(title="蓝莓的保存方法", body="冷藏不洗，三天内吃完")
    other = ArticleFactory(title="草莓的陈列", body="单层摆放")
    for article in (storage, other):
        services.article_index(article=article)
    course, _lessons, [(question, good, _bad)] = course_with_quiz(lessons=1, questions=1)
    path = TrainingPathFactory(name="直播带货")
    PathCourseFactory(path=path, course=course)
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    missing: list[str] = []
    page.on(
        "response",
        lambda response: missing.append(response.url) if response.status == 404 else None,
    )

    page.goto(f"{live_server.url}/portal/login/")
    page.fill("#id_username", owner.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")

    page.goto(f"{live_server.url}/portal/training/stores/{store.pk}/")
    page.fill("input[name=q]", "蓝莓怎么保存")
    with page.expect_navigation():
        page.press("input[name=q]", "Enter")
    first = page.locator("#search-results li").first
    assert "蓝莓的保存方法" in first.inner_text()
    with page.expect_navigation():
        first.locator("a").click()
    assert "冷藏不洗" in page.locator("#article").inner_text()

    page.goto(f"{live_server.url}/portal/training/stores/{store.pk}/")
    with page.expect_navigation():
        page.click(f"#path-{path.code} button[type=submit]")
    assert Enrolment.objects.filter(user=owner, store=store, path=path).exists()

    page.goto(f"{live_server.url}/portal/training/stores/{store.pk}/courses/{course.pk}/quiz/")
    page.check(f"input[name=q{question.pk}][value='{good.pk}']")
    with page.expect_navigation():
        page.click("#quiz button[type=submit]")
    assert page.locator("#quiz-result").get_attribute("data-passed") == "true"
    assert QuizAttempt.objects.get(user=owner).passed
    assert missing == []
    assert [text for text in errors if "Content Security Policy" in text or "Refused" in text] == []
