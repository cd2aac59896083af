"""Every store-owner portal page's breadcrumbs start at "My stores" (我的门店 › store code ›
section), so receiving, after-sales, training, member and inspection pages read like the others.
Supplier pages start at the supplier's home, by design."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

CRUMBS = re.compile(r'<nav class="crumbs">(.*?)</nav>', re.DOTALL)
MY_STORES = """<a href="{% url 'portal:home' %}">{% translate "My stores" %}</a> › """
OTHER_ROOTS = {"supplier"}


def _portal_templates() -> list[Path]:
    base = Path(settings.BASE_DIR)
    found = [*base.glob("templates/**/*.html"), *base.glob("apps/*/templates/**/*.html")]
    return [
        path for path in found if not OTHER_ROOTS & set(path.parts) and "admin" not in path.parts
    ]


def test_portal_breadcrumbs_start_at_my_stores() -> None:
    crumbs = {
        path.name: match.group(1)
        for path in _portal_templates()
        for match in CRUMBS.finditer(path.read_text(encoding="utf-8"))
    }

    assert len(crumbs) > 25
    assert [name for name, text in crumbs.items() if not text.startswith(MY_STORES)] == []
