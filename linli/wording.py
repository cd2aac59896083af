"""Text put together from translated parts. The punctuation that joins them is translated too,
so Chinese gets its full-width "：" where English keeps ": " (templates use the same
"label separator" msgid: `{% translate ": " context "label separator" %}`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import get_language, gettext

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser


def person_name(user: AbstractUser) -> str:
    """How a page or a message names a user: their display name (`get_full_name()`), else
    their login. A Chinese name is kept whole in `first_name` (the demo's 王丽华), since
    Django joins "first last" with a space."""
    return user.get_full_name() or user.get_username()


def labelled(label: object, value: object) -> str:
    """The label and its value joined by the translated separator: "Supplier: Yunnan Berry
    Farm" in English, "供应商：云南蓝莓果园" in Chinese."""
    return gettext("%(label)s: %(value)s") % {"label": label, "value": value}


def bracketed(text: object, detail: object) -> str:
    """The text with a detail in brackets, the brackets translated: "Summer fruit (2026-07-01 –
    2026-07-31)" in English, "夏季水果季（2026-07-01 – 2026-07-31）" in Chinese, whose full-width
    brackets take no space around them. For record titles (`__str__`) shown on pages."""
    return gettext("%(text)s (%(detail)s)") % {"text": text, "detail": detail}


def status_in_sentence(label: object) -> str:
    """A status label as a word inside a sentence ("… this one is %(status)s."). English
    capitalises a label standing alone ("Confirmed by supplier") but not a word in the middle
    of a sentence, so in English its first letter is lowered ("this one is confirmed by
    supplier"), unless the label starts with an acronym ("HQ …"). Every other language keeps
    the label as translated: Chinese has no case, and a language that capitalises its nouns
    would be harmed by lowering them."""
    text = str(label)
    if not (get_language() or "").startswith("en") or not text:
        return text
    if len(text) > 1 and text[1].isupper():
        return text
    return text[0].lower() + text[1:]
