"""Chinese knowledge-base search: jieba tokens, BM25 against a hand computation, and relevance
on the demo's articles (the blueberry storage article first for 蓝莓怎么保存)."""

from __future__ import annotations

import math

import pytest

from apps.ops.demo.training import ARTICLES, _articles
from apps.training import selectors, services
from apps.training.analytics.search import Document, bm25_rank, tokenize
from tests.training.factories import ArticleFactory


def test_question_filler_is_dropped_and_words_stay_whole() -> None:
    assert tokenize("蓝莓怎么保存") == ["蓝莓", "保存"]
    assert "冷链" in tokenize("冷链收货的温度标准是什么？")
    assert "？" not in tokenize("冷链收货的温度标准是什么？")


def test_bm25_matches_a_hand_computation() -> None:
    """Two documents, query 蓝莓 保存 保存 (repeats count once), title boost 3."""
    documents = [
        Document(1, ("蓝莓",), ("保存", "冷藏")),
        Document(2, ("草莓",), ("保存",)),
    ]
    k1, b, boost = 1.2, 0.75, 3.0
    lengths = [3 + 2, 3 + 1]
    average = sum(lengths) / 2

    def term(idf: float, tf: float, length: float) -> float:
        return idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / average))

    idf_blueberry = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))
    idf_keep = math.log(1 + (2 - 2 + 0.5) / (2 + 0.5))
    expected_1 = term(idf_blueberry, 3.0, lengths[0]) + term(idf_keep, 1.0, lengths[0])
    # document 1 holds both distinct query words, one of them in its title: × 1 × (1 + 1/2);
    # document 2 holds one of the two, none in its title: × 1/2 × 1
    expected_1 *= 1.5
    expected_2 = term(idf_keep, 1.0, lengths[1]) / 2
    ranked = bm25_rank(["蓝莓", "保存", "保存"], documents, k1=k1, b=b, title_boost=boost)
    assert [doc_id for doc_id, _score in ranked] == [1, 2]
    assert ranked[0][1] == pytest.approx(expected_1)
    assert ranked[1][1] == pytest.approx(expected_2)


def test_a_title_match_outranks_the_same_word_in_a_body() -> None:
    documents = [Document(1, ("售后",), ("规则",)), Document(2, ("规则",), ("售后",))]
    assert [doc_id for doc_id, _ in bm25_rank(["售后"], documents)] == [1, 2]


def test_nothing_matches_nothing() -> None:
    assert bm25_rank([], [Document(1, ("a",), ())]) == []
    assert bm25_rank(["x"], [Document(1, ("a",), ())]) == []


@pytest.fixture
def knowledge(db: None) -> dict[str, int]:
    _articles()
    from apps.training.models import Article

    return dict(Article.objects.values_list("title", "pk"))


def _title_of(kind_prefix: str) -> str:
    return next(spec.title for spec in ARTICLES if spec.title.startswith(kind_prefix))


@pytest.mark.parametrize(
    ("query", "expected_prefix"),
    [
        ("蓝莓怎么保存", "蓝莓的保存方法"),
        ("蓝莓放冰箱能放几天", "蓝莓的保存方法"),
        ("冷链收货温度", "冷链收货标准"),
        ("坏果怎么退款", "生鲜售后规则"),
        ("蓝莓白霜是不是打药了", "顾客问：蓝莓表面有白霜"),
        ("草莓怎么保存", "草莓的保存与陈列"),
        ("西瓜怎么挑", "西瓜怎么挑"),
    ],
)
def test_search_ranks_the_right_article_first(
    knowledge: dict[str, int], query: str, expected_prefix: str
) -> None:
    hits = selectors.knowledge_search(query=query)
    assert hits, query
    assert hits[0].article.title == _title_of(expected_prefix)


def test_blueberry_storage_query_lists_related_articles_after_the_storage_one(
    knowledge: dict[str, int],
) -> None:
    titles = [hit.article.title for hit in selectors.knowledge_search(query="蓝莓怎么保存")]
    assert titles[0] == _title_of("蓝莓的保存方法")
    assert _title_of("云南蓝莓卖点") in titles
    # articles sharing no word with the question are not hits at all
    assert _title_of("冷链收货标准") not in titles
    assert _title_of("西瓜怎么挑") not in titles


def test_unpublished_articles_are_not_found(db: None) -> None:
    article = ArticleFactory(title="蓝莓保存秘籍", is_published=False)
    services.article_index(article=article)
    assert selectors.knowledge_search(query="蓝莓怎么保存") == []
    article.is_published = True
    article.save()
    assert [hit.article for hit in selectors.knowledge_search(query="蓝莓怎么保存")] == [article]


def test_an_empty_or_filler_query_finds_nothing(knowledge: dict[str, int]) -> None:
    assert selectors.knowledge_search(query="") == []
    assert selectors.knowledge_search(query="怎么 如何？") == []
