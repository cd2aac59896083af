"""403, 404 and 500 pages: in the site's style, in the visitor's language (Chinese by default,
English by the language switch), the 500 page without a request context, and a 403 logged as
one line without a traceback."""

from __future__ import annotations

import logging
import sys

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.utils import translation
from django.views.defaults import server_error

from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

PORTAL_CSS = "linli/portal.css"


def _translated(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


def _english(client) -> None:
    """The site's language switch stores the choice in the language cookie."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def test_404_is_the_sites_page_in_chinese(client):
    response = client.get("/portal/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert PORTAL_CSS in page
    assert 'lang="zh-hans"' in page
    assert "返回我的主页" in page  # "Back to my page", translated in the catalogue
    assert _translated("zh-hans", "Page not found") in page


def test_404_is_in_english_after_the_language_switch(client):
    _english(client)
    page = client.get("/portal/no-such-page/").content.decode()
    assert 'lang="en"' in page
    assert "Page not found" in page
    assert "Back to my page" in page
    assert "返回我的主页" not in page


def test_403_is_the_sites_page_in_chinese_and_in_english(client, other_owner, store):
    client.force_login(other_owner)  # the owner of another store
    response = client.get(f"/portal/stores/{store.pk}/")
    assert response.status_code == 403
    page = response.content.decode()
    assert PORTAL_CSS in page
    assert "无权访问" in page  # "Not allowed"
    _english(client)
    english = client.get(f"/portal/stores/{store.pk}/").content.decode()
    assert "Not allowed" in english
    assert "无权访问" not in english


@pytest.mark.parametrize(("language", "marker"), [("zh-hans", "邻里"), ("en", "Linli")])
def test_500_renders_without_a_request_context_in_the_active_language(language, marker):
    request = RequestFactory().get("/portal/")
    with translation.override(language):
        response = server_error(request)
    page = response.content.decode()
    assert response.status_code == 500
    assert f'lang="{language}"' in page
    assert PORTAL_CSS in page
    assert _translated(language, "Server error") in page
    assert marker in page


def test_a_403_is_logged_as_one_line_without_a_traceback(client, other_owner, caplog):
    store = StoreFactory()
    client.force_login(other_owner)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(f"/portal/stores/{store.pk}/")
    assert response.status_code == 403
    refusals = [r for r in caplog.records if r.name == "django.request"]
    assert len(refusals) == 1
    assert refusals[0].exc_info is None
    assert refusals[0].getMessage() == f"Forbidden (Permission denied): /portal/stores/{store.pk}/"
    formatted = logging.Formatter().format(refusals[0])
    assert "Traceback" not in formatted


def test_a_500_is_still_logged_with_its_traceback(caplog):
    """The 403 filter leaves every other request error as it was."""
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "boom", (), None)
    record.status_code = 500
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    logger = logging.getLogger("django.request")
    assert logger.filters
    assert all(f.filter(record) for f in logger.filters)
    assert record.exc_info is not None
