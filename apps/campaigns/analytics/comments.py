"""What viewers are saying during a broadcast: a keyword summary of recent comments (jieba) and
talking points for the host, from comment keywords and the product knowledge.

Pure Python, no Django. The caller passes the comments' texts and, per offered product, the facts
an answer can use (`ProductFacts`); talking points come back as intent codes with the facts an
answer needs, and the caller writes the sentence in the viewer's language.

- Keywords: each comment is cut with jieba (product name words added to its dictionary); a word
  counts once per comment; stopwords, punctuation, numbers and one-character words are dropped
  (the question words below too: they become talking points, not keywords). Ties in count are
  broken by first appearance.
- Mentions: a comment mentions a product when it contains the product's name or one of its name
  words (two characters or more, not a number or unit), e.g. 蓝莓 for "云南蓝莓 125g×4盒".
- Questions: a comment asks about taste (甜不甜, 好吃吗…), price (多少钱…), how to buy (怎么买…),
  arrival (什么时候到…) or stock (还有吗…), matched by phrase. A question counts toward a
  product when it names that product. One that names no offered product counts toward none
  while several are offered (a bare "还有吗": guessing would answer the wrong product's
  question; the host still sees it among the comments); while only one is offered it counts
  toward that one ("多少钱一盒", "怎么接龙"), unless it names another product of the catalogue
  (`other_names`: "西瓜好吃吗" while only blueberries are offered counts toward none).
- Talking points: one per (product, intent) asked, plus one per mentioned product nobody asked
  about ("mention"), ordered by how many comments raised it, at most `limit`.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import jieba

jieba.setLogLevel(logging.WARNING)

TASTE = "taste"
PRICE = "price"
HOW_TO_BUY = "how_to_buy"
ARRIVAL = "arrival"
STOCK = "stock"
MENTION = "mention"

QUESTION_PHRASES: dict[str, tuple[str, ...]] = {
    TASTE: ("甜不甜", "甜吗", "好吃吗", "好不好吃", "酸不酸", "酸吗", "新鲜吗", "新不新鲜", "口感"),
    PRICE: ("多少钱", "几块", "价格", "什么价", "贵不贵", "多少一", "便宜点"),
    HOW_TO_BUY: (
        "怎么买",
        "怎么下单",
        "怎么拍",
        "哪里买",
        "在哪买",
        "怎么参加",
        "怎么接龙",
        "怎么团",
    ),
    ARRIVAL: (
        "什么时候到",
        "几号到",
        "几点到",
        "什么时候发货",
        "什么时候能到",
        "多久到",
        "啥时候到",
    ),
    STOCK: ("还有吗", "有货吗", "还有货", "没货", "还剩", "库存", "抢完"),
}
# Selling points that answer a taste question mention one of these.
TASTE_HINTS = ("甜", "酸", "口感", "新鲜", "脆", "多汁", "香", "糖度", "好吃", "现摘", "采摘")

STOPWORDS = frozenset(
    """
    的 了 吗 呢 吧 啊 呀 哦 哈 嘛 么 是 我 你 他 她 它 我们 你们 他们 这 那 这个 那个 这些 那些
    有 没有 没 在 和 跟 与 也 都 就 还 又 很 太 更 最 不 要 会 能 可以 想 去 来 给 把 被 让 说
    一个 一下 什么 怎么 怎么样 为什么 多少 几 哪 哪里 哪个 谁 时候 现在 今天 明天 今晚 已经
    还是 或者 但是 因为 所以 如果 然后 而且 不过 真的 好的 好 啦 哈哈 哈哈哈 嗯 哎 诶 喔 噢
    老板 主播 大家 亲 亲们 宝宝 朋友 谢谢 可 吧 呗 咯 耶 一 二 两 个 份 盒 斤 件 包 袋 瓶 元 块
    甜不甜 好吃吗 多少钱 怎么买 到货
    """.split()
)
_NUMBER_OR_UNIT = re.compile(
    r"^[\d.,%×xX*+\-/gGkKmMlL一二两三四五六七八九十几半]*[斤克两盒箱袋包瓶件份个元块gGkKmMlL]*$"
)
_WORD_CHARACTER = re.compile(r"\w", re.UNICODE)

_tokenizer = jieba.Tokenizer()
_tokenizer_mutex = threading.Lock()
_known_words: set[str] = set()


@dataclass(frozen=True)
class ProductFacts:
    """What the host can say about one offered product."""

    product_id: int
    name: str
    selling_points: tuple[str, ...] = ()
    price: Decimal | None = None  # the group-buy price
    regular_price: Decimal | None = None
    stock: int | None = None  # on hand at the store
    presale: bool = False  # a pre-order: the supplier brings what is sold, stock aside
    units_joined: int = 0
    threshold: int = 0
    threshold_counts_units: bool = True
    progress: int = 0  # units or participants counted toward the threshold
    cap: int = 0


@dataclass(frozen=True)
class TalkingPoint:
    """A suggested thing to say: `intent` is one of the codes above; `facts` carry what the
    answer needs (selling point, price, stock, progress); `count` comments raised it."""

    product_id: int
    product_name: str
    intent: str
    count: int
    facts: dict[str, object] = field(default_factory=dict)


def _add_words(words: Sequence[str]) -> None:
    with _tokenizer_mutex:
        for word in words:
            if word and word not in _known_words:
                _tokenizer.add_word(word, freq=2000)
                _known_words.add(word)


def tokenizer_load() -> None:
    """Load jieba's dictionary now rather than at the first cut. Loading it reads a 9 MB
    prefix dictionary (~0.4 s on an idle machine, over 1 s on a busy one; jieba builds it from
    its word list the first time and caches it in the temporary directory), which otherwise
    falls on the first live snapshot a process computes: the first live page an owner opens
    after a deploy or restart. Server processes call this at startup (settings.WARM_UP,
    linli/warmup.py). Idempotent; safe from any thread."""
    with _tokenizer_mutex:
        _tokenizer.check_initialized()


def tokenizer_loaded() -> bool:
    """Whether jieba's dictionary is loaded in this process."""
    return bool(_tokenizer.initialized)


def _cut(text: str) -> list[str]:
    with _tokenizer_mutex:
        return list(_tokenizer.cut(text))


def _is_keyword(word: str) -> bool:
    word = word.strip()
    return (
        len(word) >= 2
        and word not in STOPWORDS
        and not _NUMBER_OR_UNIT.match(word)
        and bool(_WORD_CHARACTER.search(word))
    )


def name_words(name: str) -> tuple[str, ...]:
    """The words of a product name a viewer would use for it: the name and its jieba words of two
    characters or more that are not numbers or units (云南蓝莓 125g×4盒 → 云南蓝莓…, 云南, 蓝莓)."""
    words = [name.strip()] if name.strip() else []
    for word in _cut(name):
        if _is_keyword(word) and word not in words:
            words.append(word)
    # jieba may keep 云南蓝莓 whole; its two-character tail and head are still how people say it.
    for word in list(words[1:]):
        if len(word) == 4 and re.fullmatch(r"[\u4e00-\u9fff]{4}", word):
            for part in (word[:2], word[2:]):
                if part not in words and part not in STOPWORDS:
                    words.append(part)
    return tuple(words)


def _question_phrase_words() -> frozenset[str]:
    return frozenset(phrase for phrases in QUESTION_PHRASES.values() for phrase in phrases)


def keyword_summary(
    texts: Sequence[str], *, product_names: Sequence[str] = (), top: int = 10
) -> list[tuple[str, int]]:
    """The `top` keywords of the comments with the number of comments that used each, most used
    first (ties: first seen first)."""
    _add_words([word for name in product_names for word in name_words(name)[1:]])
    _add_words(sorted(_question_phrase_words()))
    skip = _question_phrase_words()
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for text in texts:
        for word in dict.fromkeys(_cut(text)):  # once per comment, in order
            word = word.strip()
            if not _is_keyword(word) or word in skip:
                continue
            counts[word] += 1
            first_seen.setdefault(word, len(first_seen))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], first_seen[item[0]]))
    return ranked[:top]


def question_intents(text: str) -> list[str]:
    """The intents a comment asks about, in the order of QUESTION_PHRASES."""
    return [
        intent
        for intent, phrases in QUESTION_PHRASES.items()
        if any(phrase in text for phrase in phrases)
    ]


def _mentioned(text: str, aliases: dict[int, tuple[str, ...]]) -> list[int]:
    return [
        product_id for product_id, words in aliases.items() if any(word in text for word in words)
    ]


def _facts_for(intent: str, product: ProductFacts) -> dict[str, object]:
    points = product.selling_points
    remaining = max(0, product.threshold - product.progress)
    facts: dict[str, object] = {
        "price": product.price,
        "regular_price": product.regular_price,
        "stock": product.stock,
        "presale": product.presale,
        "remaining_to_threshold": remaining,
        "threshold_counts_units": product.threshold_counts_units,
        "left_under_cap": max(0, product.cap - product.units_joined),
    }
    if intent == TASTE:
        matching = [point for point in points if any(hint in point for hint in TASTE_HINTS)]
        facts["selling_point"] = (matching or list(points) or [""])[0]
    else:
        facts["selling_point"] = points[0] if points else ""
    return facts


def _other_product_words(
    other_names: Sequence[str], aliases: dict[int, tuple[str, ...]]
) -> frozenset[str]:
    """The words naming other products of the catalogue, less the offered products' words and
    the words of the question phrases (新鲜 of 新鲜鸡蛋 is also how 新鲜吗 asks about taste)."""
    offered = {word for words in aliases.values() for word in words}
    phrases = _question_phrase_words()
    return frozenset(
        word
        for name in other_names
        for word in _name_words_cached(name)
        if word not in offered and not any(word in phrase for phrase in phrases)
    )


# A live snapshot reads the whole catalogue's names: cut each name once per process.
_name_words_cached = functools.lru_cache(maxsize=50_000)(name_words)


def talking_points(
    texts: Sequence[str],
    products: Sequence[ProductFacts],
    *,
    limit: int = 5,
    other_names: Sequence[str] = (),
) -> list[TalkingPoint]:
    """Suggested talking points for the host from the comments (see the module docstring);
    `other_names`: the names of the catalogue's other products."""
    if not products:
        return []
    by_id = {product.product_id: product for product in products}
    aliases = {product.product_id: name_words(product.name) for product in products}
    offered = {product.product_id for product in products}
    only = next(iter(offered)) if len(offered) == 1 else None
    others = _other_product_words(other_names, aliases) if only is not None else frozenset()
    mentions: Counter[int] = Counter()
    asked: Counter[tuple[int, str]] = Counter()
    first_seen: dict[tuple[int, str], int] = {}
    for text in texts:
        mentioned = _mentioned(text, aliases)
        mentions.update(mentioned)
        about = mentioned
        if not mentioned and only is not None and not any(word in text for word in others):
            about = [only]
        for product_id in about:
            for intent in question_intents(text):
                asked[(product_id, intent)] += 1
                first_seen.setdefault((product_id, intent), len(first_seen))
    asked_products = {product_id for product_id, _intent in asked}
    for product_id, count in mentions.items():
        if product_id not in asked_products:
            asked[(product_id, MENTION)] = count
            first_seen.setdefault((product_id, MENTION), len(first_seen))
    ranked = sorted(asked.items(), key=lambda item: (-item[1], first_seen[item[0]]))
    return [
        TalkingPoint(
            product_id=product_id,
            product_name=by_id[product_id].name,
            intent=intent,
            count=count,
            facts=_facts_for(intent, by_id[product_id]),
        )
        for (product_id, intent), count in ranked[:limit]
    ]
