"""The zh_Hans catalogue: complete, placeholders intact, and what pages show by default."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.utils import translation
from django.views.i18n import JSONCatalog

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%[sdfr]|%%|\{\w*\}")


def _unquote(lines: list[str]) -> str:
    text = "".join(line.split('"', 1)[1].rsplit('"', 1)[0] for line in lines)
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape")


def catalogue_entries() -> list[dict]:
    """(flags, msgid, msgid_plural, msgstr…) of each entry, from the .po text."""
    entries = []
    for block in CATALOGUE.read_text(encoding="utf-8").split("\n\n"):
        entry: dict = {"flags": "", "fields": {}}
        current = None
        for line in block.splitlines():
            if not line.strip():
                continue
            if line.startswith("#,"):
                entry["flags"] += line
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                entry["fields"][current].append(line)
            else:
                current = line.split(" ", 1)[0]
                entry["fields"][current] = [line.split(" ", 1)[1]]
        fields = {key: _unquote(lines) for key, lines in entry["fields"].items()}
        if fields.get("msgid"):
            entries.append({"flags": entry["flags"], **fields})
    return entries


def test_the_catalogue_has_every_entry_translated_and_none_fuzzy():
    entries = catalogue_entries()
    assert len(entries) > 900
    untranslated = [
        e["msgid"]
        for e in entries
        if not any(value for key, value in e.items() if key.startswith("msgstr"))
    ]
    assert untranslated == []
    assert [e["msgid"] for e in entries if "fuzzy" in e["flags"]] == []


def test_translations_keep_the_placeholders_of_their_source():
    broken = []
    for entry in catalogue_entries():
        wanted = sorted(PLACEHOLDER.findall(entry["msgid"]))
        for key, value in entry.items():
            if key.startswith("msgstr") and sorted(PLACEHOLDER.findall(value)) != wanted:
                broken.append((entry["msgid"], value))
    assert broken == []


def test_the_compiled_catalogue_serves_project_strings():
    with translation.override("zh-hans"):
        assert translation.gettext("Log in to Linli") != "Log in to Linli"
        assert translation.pgettext("store status", "Open") == "营业中"
        assert translation.pgettext("alert status", "Open") == "未处理"
    with translation.override("en"):
        assert translation.gettext("Log in to Linli") == "Log in to Linli"


def test_words_with_two_senses_get_the_chinese_word_of_each_sense():
    from apps.campaigns.models import Broadcast, GroupBuyJoin, TrackingEvent

    with translation.override("zh-hans"):
        senses = {
            "customer order": translation.pgettext("customer order", "Order"),
            "order quantity": translation.pgettext("order quantity", "Order"),
            "tracking kind": str(TrackingEvent.Kind.ORDER.label),
            "join status": str(GroupBuyJoin.Status.JOINED.label),
            "member since": translation.pgettext("member since", "Joined"),
            "broadcast status": str(Broadcast.Status.SCHEDULED.label),
            "scheduled time": translation.pgettext("scheduled time", "Scheduled"),
            "case opened": translation.pgettext("after-sales case opened", "Opened"),
            "alert opened": translation.pgettext("alert opened", "Opened"),
        }
    assert senses == {
        "customer order": "订单",
        "order quantity": "订货量",
        "tracking kind": "订单",
        "join status": "已参团",
        "member since": "入会时间",
        "broadcast status": "待开播",
        "scheduled time": "计划时间",
        "case opened": "提交时间",
        "alert opened": "触发时间",
    }


@pytest.mark.django_db
def test_pages_are_chinese_by_default_and_english_on_request(client):
    chinese = client.get("/portal/login/").content.decode()
    with translation.override("zh-hans"):
        title = translation.gettext("Log in to Linli")
    assert f"<h2>{title}</h2>" in chinese
    assert "Log in to Linli" not in chinese
    english = client.get("/portal/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h2>Log in to Linli</h2>" in english


@pytest.mark.django_db
def test_the_admin_speaks_chinese_to_hq(admin_client):
    html = admin_client.get("/admin/").content.decode()
    with translation.override("zh-hans"):
        assert translation.gettext("Stores") in html
        assert translation.gettext("Members") in html


@pytest.mark.django_db
def test_the_admin_names_the_login_and_audit_apps_in_chinese(admin_client):
    html = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    for chinese in ("审计日志", "日志条目", "登录防护", "登录尝试", "登录失败", "登录日志"):
        assert chinese in html
    for english in ("Audit log", "Log entries", "Axes", "Access attempts", "Access failures"):
        assert english not in html
    assert "Access logs" not in html


@pytest.mark.django_db
def test_the_admin_header_has_the_portals_language_switch(admin_client):
    chinese = admin_client.get("/admin/stores/store/").content.decode()
    header = chinese.split('id="user-tools"', 1)[1].split("</div>", 1)[0]
    assert 'action="/i18n/setlang/"' in header
    assert 'name="next" value="/admin/stores/store/"' in header
    assert 'name="language" value="en"' in header

    switched = admin_client.post(
        "/i18n/setlang/", {"language": "en", "next": "/admin/stores/store/"}, follow=True
    )
    english = switched.content.decode()
    assert switched.redirect_chain == [("/admin/stores/store/", 302)]
    assert '<html lang="en"' in english
    assert 'name="language" value="zh-hans"' in english


@pytest.mark.django_db
def test_the_admin_login_page_has_the_language_switch(client):
    login = client.get("/admin/login/").content.decode()
    assert 'action="/i18n/setlang/"' in login
    assert 'name="language" value="en"' in login


# Django 5.2's own zh_Hans catalogue for the admin's JavaScript lacks these (the two-box picker of
# filter_horizontal and the campaign launch form); locale/zh_Hans/LC_MESSAGES/djangojs.po has them.
PICKER_TEXTS = [
    'Choose %s by selecting them and then select the "Choose" arrow button.',
    'Remove %s by selecting them and then select the "Remove" arrow button.',
    "Choose all %s",
    "Choose selected %s",
    "Remove selected %s",
    "Remove all %s",
    "(click to clear)",
]


def test_the_admin_javascript_catalogue_serves_the_picker_in_chinese():
    view = JSONCatalog.as_view(packages=["django.contrib.admin"])
    with translation.override("zh-hans"):
        catalog = json.loads(view(RequestFactory().get("/")).content)["catalog"]
    for text in PICKER_TEXTS:
        assert text in catalog, text
        assert catalog[text] != text
        assert sorted(PLACEHOLDER.findall(catalog[text])) == sorted(PLACEHOLDER.findall(text))
    assert catalog["(click to clear)"] == "（点击清除过滤）"
