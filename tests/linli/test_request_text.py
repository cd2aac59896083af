"""Text and numbers a view reads from the request itself (linli/params.py): a NUL character in
a search box or an address is a 400 page, never a database error (a 500); only ASCII digits
count as a number."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import QueryDict

from linli.params import checked_text, is_ascii_number, text_param

pytestmark = pytest.mark.django_db

NUL = "\x00"


def test_text_param_cuts_strips_and_defaults_to_empty():
    data = QueryDict("q=%20%20apples%20%20&long=abcdef")
    assert text_param(data, "q", max_length=60) == "apples"
    assert text_param(data, "long", max_length=3) == "abc"
    assert text_param(data, "missing", max_length=3) == ""


@pytest.mark.parametrize("value", [NUL, f"apple{NUL}", f"{NUL}  "])
def test_a_nul_character_is_a_bad_request(value):
    data = QueryDict(mutable=True)
    data["q"] = value
    with pytest.raises(BadRequest):
        text_param(data, "q", max_length=60)
    with pytest.raises(BadRequest):
        checked_text(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", True), ("123", True), ("²", False), ("١", False), ("12²", False), ("", False)]
    + [(None, False), (" 1", False), ("-1", False), ("1.0", False)],
)
def test_is_ascii_number_accepts_ascii_digits_only(value, expected):
    assert is_ascii_number(value) is expected


def _routes(store_id: int) -> dict[str, tuple[str, str, dict[str, str]]]:
    return {
        "stock search": ("get", f"/portal/stores/{store_id}/stock/", {"q": NUL}),
        "member search": ("get", f"/portal/members/stores/{store_id}/", {"q": NUL}),
        "member page": ("get", f"/portal/members/stores/{store_id}/%00/", {}),
        "loss search": ("get", f"/portal/supply/stores/{store_id}/loss/", {"q": NUL}),
        "loss form search": ("post", f"/portal/supply/stores/{store_id}/loss/", {"q": NUL}),
    }


@pytest.mark.parametrize(
    "route", ["stock search", "member search", "member page", "loss search", "loss form search"]
)
def test_a_nul_character_in_a_portal_search_is_a_400_page(client, owner, store, route, caplog):
    method, url, data = _routes(store.pk)[route]
    client.force_login(owner)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = getattr(client, method)(url, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "linli/portal.css" in page
    assert 'lang="zh-hans"' in page
    assert "请求有误" in page  # "Bad request", translated in the catalogue
    refusals = [r for r in caplog.records if r.name == "django.request"]
    assert [r.status_code for r in refusals] == [400]
    assert all(f.filter(refusals[0]) for f in logging.getLogger("django.request").filters)
    assert refusals[0].exc_info is None  # one line, no traceback


def test_the_400_page_is_in_english_after_the_language_switch(client, owner, store):
    client.force_login(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(f"/portal/stores/{store.pk}/stock/", {"q": NUL})
    assert response.status_code == 400
    assert 'lang="en"' in response.content.decode()
    assert "Bad request" in response.content.decode()
