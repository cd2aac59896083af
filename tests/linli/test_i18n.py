"""The zh_Hans catalogue: complete, placeholders intact, and what pages show by default."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
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


# Source strings are the English pages: plain English, the Chinese term only in the
# translation ("Group-buy threshold" → 成团门槛, not "Threshold (成团)"). The one exception is
# the default group-buy chat copy: members read it in the chat, in Chinese, and its "#接龙"
# tag and "号" numbers are the chat's own format, kept in every language.
CHINESE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
CHINESE_IN_SOURCE_ALLOWED = ("#接龙 {{ campaign.name }}",)


def test_english_sources_carry_no_chinese_glosses():
    glossed = [
        entry["msgid"]
        for entry in catalogue_entries()
        if CHINESE.search(entry["msgid"] + entry.get("msgid_plural", ""))
        and not entry["msgid"].startswith(CHINESE_IN_SOURCE_ALLOWED)
    ]
    assert glossed == []


def test_translations_keep_the_placeholders_of_their_source():
    broken = []
    for entry in catalogue_entries():
        # A plural entry's Chinese form serves every count: it follows the plural source (the
        # English singular may say "once" where the plural says "%(count)d times").
        wanted = sorted(PLACEHOLDER.findall(entry.get("msgid_plural") or entry["msgid"]))
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


# Our catalogue is looked up before Django's and every app's, so a msgid of ours without a
# context replaces their translation of the same words everywhere. These overrides are on
# purpose: the same sense, in a word that reads better (or theirs is broken).
DELIBERATE_OVERRIDES = {
    ":",  # the form label suffix: full-width "：" after Chinese labels (linli/vendor_apps.py)
    "English",  # the language switch names each language in its own words
    "This field is required.",
    "Filter",
    "Log out",
    "Page not found",
    "Server error",
    "Remove",
    "active",
    # django-auditlog's words (linli/vendor_apps.py), which Django's own log entry shares
    "log entry",
    "log entries",
    "object id",
    "change message",
    # DRF's Chinese for this says "empty string not allowed" ("不允许是用空字符串。")
    "Null characters are not allowed.",
    # django-celery-beat's Chinese gives the example as "0,5" (a month has no day 0)
    'Cron Days Of The Month to Run. Use "*" for "all". (Example: "1,15")',
    # django-import-export's Chinese for these is garbled ("某些行验数据证失败")
    "Some rows failed to validate",
    "Please correct these errors in your data where possible, then reupload it using the form "
    "above.",
    # Django's Chinese for these ends with an ASCII "." (linli/vendor_apps.py)
    "Ensure that there are no more than %(max)s digit in total.",
    "Ensure that there are no more than %(max)s decimal place.",
}


def _vendor_catalogues() -> list[Path]:
    import django
    import django_celery_beat
    import import_export

    roots = [Path(module.__file__).parent for module in (django, django_celery_beat, import_export)]
    return [path for root in roots for path in root.glob("**/locale/zh_Hans/LC_MESSAGES/django.mo")]


def test_our_catalogue_overrides_django_and_vendor_words_only_on_purpose():
    import gettext

    ours = {
        entry["msgid"]: entry["msgstr"]
        for entry in catalogue_entries()
        if "msgctxt" not in entry and "msgstr" in entry
    }
    # Plural entries (one Chinese form), keyed as the compiled catalogues key them.
    ours.update(
        {
            (entry["msgid"], 0): entry["msgstr[0]"]
            for entry in catalogue_entries()
            if "msgctxt" not in entry and "msgstr[0]" in entry
        }
    )
    overridden = set()
    for path in _vendor_catalogues():
        with path.open("rb") as compiled:
            theirs = gettext.GNUTranslations(compiled)._catalog
        for key, msgstr in theirs.items():
            if key in ours and ours[key] != msgstr:
                overridden.add(key if isinstance(key, str) else key[0])
    assert overridden - DELIBERATE_OVERRIDES == set()
    with translation.override("zh-hans"):
        assert translation.gettext("Change") == "修改"
        assert translation.gettext("Close") == "关闭"
        assert translation.gettext("New") == "新增"  # import preview rows
        assert translation.gettext("Name") == "任务名"  # periodic tasks
        assert translation.pgettext("difference since last month", "Change") == "变化"
        assert translation.pgettext("person", "Name") == "姓名"


def test_short_words_read_right_in_each_place_they_are_used():
    from apps.campaigns.models import GroupBuyJoin, GroupBuyOffer
    from apps.campaigns.notifications.models import Notification
    from apps.procurement.models import ReceiptLine

    def label(model: type, field: str) -> str:
        return str(model._meta.get_field(field).verbose_name)

    with translation.override("zh-hans"):
        words = {
            "notification read at": label(Notification, "read_at"),
            "lesson read": translation.pgettext("lesson done", "read"),
            "group-buy joined at": label(GroupBuyJoin, "created_at"),
            "participants column": label(GroupBuyOffer, "participants"),
            "participants after a count": translation.pgettext("after a count", "participants"),
            "received quantity": label(ReceiptLine, "received_quantity"),
            "received heading": translation.pgettext("deliveries already received", "Received"),
            "finish button": translation.pgettext("finish button", "Done"),
        }
    assert words == {
        "notification read at": "已读时间",
        "lesson read": "已读",
        "group-buy joined at": "参团时间",
        "participants column": "参团人数",
        "participants after a count": "人",
        "received quantity": "实收",
        "received heading": "已收货",
        "finish button": "完成",
    }


# What may stay ASCII inside a Chinese translation: placeholders, clock times and timestamps,
# URLs, code ("[{id, name}]", a quoted cron field value such as “1,15”) and the "kind:value"
# syntax of a member identity.
_PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]?\d*(?:\.\d+)?[sdfr]")
_ASCII_ALLOWED = re.compile(
    r"\d{4}-\d{2}-\d{2}T[\d:+]+|\d{1,2}:\d{2}|https?://\S+|\[\{[^\]]*\}\]|类型:值"
    r"|“[\d*,/-]+”"
)
_HAN = re.compile(r"[\u4e00-\u9fff]")


def test_chinese_translations_use_full_width_punctuation():
    mixed = []
    for entry in catalogue_entries():
        for key, value in entry.items():
            if not key.startswith("msgstr") or not value:
                continue
            if value == entry["msgid"] and not _HAN.search(value):
                continue  # kept as it is (a code, a unit)
            if re.search(r"[:;(),!?]", _ASCII_ALLOWED.sub("", _PLACEHOLDER.sub("0", value))):
                mixed.append(value)
    assert mixed == []


def test_chinese_month_and_day_are_not_zero_padded():
    import datetime as dt

    from django.utils.formats import date_format

    with translation.override("zh-hans"):
        assert date_format(dt.date(2026, 9, 8), "MONTH_DAY_FORMAT") == "9月8日"
        assert date_format(dt.date(2026, 12, 1), "MONTH_DAY_FORMAT") == "12月1日"
    with translation.override("en"):
        assert date_format(dt.date(2026, 12, 1), "MONTH_DAY_FORMAT") == "December 1"


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


def test_a_decimal_fields_errors_end_with_the_full_width_period_in_chinese():
    """Django's own Chinese ends "too many digits" and "too many decimal places" with an
    ASCII "."; ours corrects them (the after-sales case's amount: 10 digits, 2 places)."""
    from apps.procurement.forms import CaseOpenForm

    amount = CaseOpenForm.base_fields["amount"]
    errors = {}
    with translation.override("zh-hans"):
        for value in ("1.234", "12345678901", "123456789.5"):
            with pytest.raises(ValidationError) as refused:
                amount.clean(value)
            errors[value] = refused.value.messages
    assert errors == {
        "1.234": ["确认小数不超过 2 位。"],
        "12345678901": ["确认总共不超过 10 个数字。"],
        "123456789.5": ["确认小数点前不超过 8 位。"],  # Django's own, already "。"
    }


@pytest.mark.django_db
def test_the_admin_app_list_headers_are_chinese(admin_client):
    # Django 5.2's zh_Hans catalogue lacks these; ours has them (linli/vendor_apps.py).
    html = admin_client.get("/admin/").content.decode()
    for english in ("Model name", "Add link", "Change or view list link"):
        assert f'<th scope="col">{english}</th>' not in html
    for chinese in ("模型名称", "添加链接", "修改或查看列表链接"):
        assert f'<th scope="col">{chinese}</th>' in html
