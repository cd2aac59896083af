"""`manage.py kb_reindex`: every article's search tokens re-cut from its text, twice the same."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from apps.training import selectors
from apps.training.models import Article
from tests.training.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def test_kb_reindex_recuts_stale_tokens_of_every_article_and_is_idempotent() -> None:
    storage = ArticleFactory(title="蓝莓的保存方法", body="冷藏保存，不要清洗。", is_published=True)
    other = ArticleFactory(title="西瓜挑选", body="拍一拍听声音。", is_published=True)
    # Tokens left stale, as after a change of the tokenizer's vocabulary.
    Article.objects.update(title_tokens="", body_tokens="")
    assert selectors.knowledge_search(query="蓝莓怎么保存") == []

    out = StringIO()
    call_command("kb_reindex", stdout=out)

    assert "2 articles re-indexed" in out.getvalue()
    storage.refresh_from_db()
    other.refresh_from_db()
    assert storage.title_tokens.split() == ["蓝莓", "保存", "方法"]
    assert "冷藏" in storage.body_tokens.split()
    assert "西瓜" in other.title_tokens.split()
    assert [hit.article.pk for hit in selectors.knowledge_search(query="蓝莓怎么保存")][:1] == [
        storage.pk
    ]
    tokens = list(Article.objects.order_by("pk").values_list("title_tokens", "body_tokens"))
    call_command("kb_reindex", stdout=StringIO())
    assert list(Article.objects.order_by("pk").values_list("title_tokens", "body_tokens")) == tokens
