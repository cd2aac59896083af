"""Chinese knowledge-base search: jieba tokens ranked by BM25 with a title boost (pure: no ORM).

Text is cut with jieba in search mode (long words also yield their dictionary sub-words:
冷藏柜 → 冷藏 / 冷藏柜), lower-cased, and stripped of punctuation and question filler
(怎么, 如何, 吗 ...), so that "蓝莓怎么保存" becomes 蓝莓 / 保存. The tokenizer is the one the
member tagging uses (`apps.customers.analytics.tagging.tokenizer_for`): one jieba dictionary
load, cached per vocabulary, with the domain words below added so they stay whole.

Ranking is BM25 over two fields folded into one (BM25F-style): a title token counts
`title_boost` times, and the document length is the boosted title length plus the body length.
The sum is multiplied by the share of the query's distinct words the document contains (the
"coordination" factor of classic Lucene scoring): a short question is about all of its words,
and by one plus the share of them its *title* contains: a title that names every word of the
question is the best answer to it. So 蓝莓怎么保存 prefers "蓝莓的保存方法" over a short
strawberry article that says 保存 three times and mentions 蓝莓 once, although BM25 alone
ranks the dense short one higher (a test holds this on the demo articles).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from apps.customers.analytics.tagging import tokenizer_for

K1 = 1.2
B = 0.75
TITLE_BOOST = 3.0

# Words jieba's general dictionary splits or does not know, kept whole in this trade.
DOMAIN_WORDS = (
    "冷链",
    "冷藏",
    "冷冻",
    "保鲜",
    "售后",
    "退换",
    "退款",
    "损耗",
    "巡检",
    "接龙",
    "团购",
    "直播",
    "卖点",
    "蓝莓",
    "草莓",
    "车厘子",
    "荔枝",
    "榴莲",
    "保质期",
    "临期",
)

# Question filler and function words: they match everything and rank nothing.
STOPWORDS = frozenset(
    """
    的 了 吗 呢 吧 啊 呀 么 和 与 及 或 是 在 有 要 会 能 可以 怎么 怎样 怎么样 如何 什么 哪些
    哪个 为什么 多少 几 一 个 我 你 他 她 它 我们 你们 这 那 这个 那个 就 都 也 还 请问 一下
    应该 需要 该 得 地 着 过 对 把 被 从 到 给 让 用 多 少 吗? 呢?
    a an the of to and or is are in on for how what
    """.split()
)
_PUNCTUATION = re.compile(r"[\W_]+")


def tokenize(text: str, *, extra_words: Iterable[str] = ()) -> list[str]:
    """The search tokens of `text` (with repeats, in order): jieba search-mode words,
    lower-cased, without punctuation, whitespace and stopwords."""
    tokenizer = tokenizer_for((*DOMAIN_WORDS, *extra_words))
    tokens = []
    for token in tokenizer.lcut_for_search(text):
        token = token.strip().lower()
        if not token or _PUNCTUATION.fullmatch(token) or token in STOPWORDS:
            continue
        tokens.append(token)
    return tokens


@dataclass(frozen=True)
class Document:
    doc_id: int
    title_tokens: tuple[str, ...]
    body_tokens: tuple[str, ...]


def bm25_rank(
    query_tokens: Sequence[str],
    documents: Sequence[Document],
    *,
    k1: float = K1,
    b: float = B,
    title_boost: float = TITLE_BOOST,
) -> list[tuple[int, float]]:
    """(doc_id, score) of every document matching at least one query token, best first (ties:
    lower id first). Each distinct query token counts once.

    score(d) = coord(d) · Σ_t idf(t) · tf(t,d)·(k1+1) / (tf(t,d) + k1·(1 − b + b·len(d)/avglen))
             · (1 + titled(d))
    coord(d) = (distinct query words in d) / (distinct query words)
    titled(d) = (distinct query words in d's title) / (distinct query words)
    idf(t)   = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))
    tf(t,d)  = title_boost · count in title + count in body;  len(d) likewise.
    """
    terms = list(dict.fromkeys(query_tokens))
    if not terms or not documents:
        return []
    frequencies: list[Counter[str]] = []
    lengths: list[float] = []
    for document in documents:
        counts: Counter[str] = Counter()
        for token in document.title_tokens:
            counts[token] += title_boost
        for token in document.body_tokens:
            counts[token] += 1
        frequencies.append(counts)
        lengths.append(title_boost * len(document.title_tokens) + len(document.body_tokens))
    total = len(documents)
    average_length = sum(lengths) / total or 1.0
    document_frequency = {
        term: sum(1 for counts in frequencies if counts.get(term)) for term in terms
    }
    idf = {
        term: math.log(1 + (total - df + 0.5) / (df + 0.5))
        for term, df in document_frequency.items()
    }
    ranked = []
    for document, counts, length in zip(documents, frequencies, lengths, strict=True):
        score = 0.0
        matched = 0
        norm = k1 * (1 - b + b * length / average_length)
        for term in terms:
            tf = counts.get(term, 0.0)
            if tf:
                matched += 1
                score += idf[term] * tf * (k1 + 1) / (tf + norm)
        titled = sum(1 for term in terms if term in document.title_tokens)
        score *= (matched / len(terms)) * (1 + titled / len(terms))
        if score > 0:
            ranked.append((document.doc_id, score))
    ranked.sort(key=lambda pair: (-pair[1], pair[0]))
    return ranked
