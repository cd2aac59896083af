"""Scene tags from chat text and purchases (pure: no ORM, no I/O).

Chat text is segmented with jieba; every tag keyword is added to the tokenizer's dictionary so
that words such as 辅食 or 减脂 come out as one token. A keyword matches a message when it is
one of the message's tokens or part of one token (孩子 matches 孩子们); it never matches across
a token boundary, which is what plain substring search gets wrong (学生 in 大学/生活).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jieba
import numpy as np

if TYPE_CHECKING:
    import pandas as pd

jieba.setLogLevel(logging.WARNING)

# Keywords are added with at least this frequency so that they win over neighbouring characters
# (猫粮狗粮 → 猫粮 / 狗粮 rather than 猫 / 粮狗 / 粮); see jieba's add_word / suggest_freq.
KEYWORD_MIN_FREQUENCY = 5_000
EVIDENCE_TEXT_MAX = 60
_PUNCTUATION = re.compile(r"[\W_]+")

_tokenizers: dict[frozenset[str], jieba.Tokenizer] = {}
_tokenizers_lock = threading.Lock()


def keyword_normalise(keyword: str) -> str:
    return keyword.strip().lower()


def tokenizer_for(keywords: Iterable[str]) -> jieba.Tokenizer:
    """A jieba tokenizer whose dictionary knows every keyword (cached per keyword set).

    A separate `jieba.Tokenizer` per keyword set keeps jieba's global dictionary untouched, and
    a keyword removed in the admin stops influencing segmentation at the next recompute.
    """
    words = frozenset(keyword_normalise(word) for word in keywords if keyword_normalise(word))
    with _tokenizers_lock:
        tokenizer = _tokenizers.get(words)
        if tokenizer is None:
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            for word in sorted(words):
                frequency = max(tokenizer.suggest_freq(word), KEYWORD_MIN_FREQUENCY)
                tokenizer.add_word(word, freq=frequency)
            if len(_tokenizers) >= 4:
                _tokenizers.clear()
            _tokenizers[words] = tokenizer
    return tokenizer


def text_tokens(text: str, *, tokenizer: jieba.Tokenizer) -> list[str]:
    """Lower-cased jieba tokens of `text`, without whitespace and punctuation-only tokens."""
    return [
        token.lower()
        for token in tokenizer.lcut(text)
        if token.strip() and not _PUNCTUATION.fullmatch(token)
    ]


def keywords_in_text(
    text: str, *, keywords: Iterable[str], tokenizer: jieba.Tokenizer
) -> list[str]:
    """The keywords (normalised, sorted) that occur in `text` as or inside one token."""
    wanted = {keyword_normalise(keyword) for keyword in keywords} - {""}
    tokens = text_tokens(text, tokenizer=tokenizer)
    return sorted(keyword for keyword in wanted if any(keyword in token for token in tokens))


@dataclass(frozen=True)
class ChatMessage:
    message_id: int
    member_id: int
    text: str
    sent_at: dt.datetime


@dataclass(frozen=True)
class TagSuggestion:
    """A tag a member should carry, with the facts behind it (stored as they are and worded
    when shown, in the reader's language): `{"code": "chat", "text", "day"}` or
    `{"code": "purchases", "category_id", "category", "count"}`."""

    member_id: int
    tag_id: int
    facts: dict


def chat_tags(
    *,
    messages: Iterable[ChatMessage],
    tags_by_keyword: Mapping[str, Iterable[int]],
    local_date: Callable[[dt.datetime], dt.date],
) -> list[TagSuggestion]:
    """One suggestion per (member, tag) whose keywords occur in the member's messages.

    The facts quote the member's latest matching message (by sent_at, then id):
    `{"code": "chat", "text": ..., "day": ...}` with the text cut to EVIDENCE_TEXT_MAX
    characters and `day` the ISO local date given by `local_date(sent_at)`.
    """
    keyword_tags = {
        keyword_normalise(keyword): sorted(set(tag_ids))
        for keyword, tag_ids in tags_by_keyword.items()
        if keyword_normalise(keyword)
    }
    if not keyword_tags:
        return []
    tokenizer = tokenizer_for(keyword_tags)
    # A cheap substring prefilter: only messages containing a keyword somewhere are segmented.
    prefilter = re.compile("|".join(re.escape(keyword) for keyword in sorted(keyword_tags)))
    latest: dict[tuple[int, int], tuple[dt.datetime, int, str]] = {}
    for message in messages:
        if not prefilter.search(message.text.lower()):
            continue
        for keyword in keywords_in_text(message.text, keywords=keyword_tags, tokenizer=tokenizer):
            for tag_id in keyword_tags[keyword]:
                key = (message.member_id, tag_id)
                candidate = (message.sent_at, message.message_id, message.text)
                if key not in latest or candidate[:2] > latest[key][:2]:
                    latest[key] = candidate
    suggestions = []
    for (member_id, tag_id), (sent_at, _message_id, text) in sorted(latest.items()):
        quoted = " ".join(text.split())
        if len(quoted) > EVIDENCE_TEXT_MAX:
            quoted = quoted[: EVIDENCE_TEXT_MAX - 1] + "…"
        facts = {"code": "chat", "text": quoted, "day": local_date(sent_at).isoformat()}
        suggestions.append(TagSuggestion(member_id=member_id, tag_id=tag_id, facts=facts))
    return suggestions


@dataclass(frozen=True)
class CategoryRule:
    tag_id: int
    category_id: int
    category_name: str
    min_purchases: int


def category_descendants(parents: Mapping[int, int | None]) -> dict[int, set[int]]:
    """category_id → itself and every category below it, from a child → parent mapping."""
    result: dict[int, set[int]] = {category_id: {category_id} for category_id in parents}
    for category_id in parents:
        seen = {category_id}
        parent = parents.get(category_id)
        while parent is not None and parent not in seen:
            result.setdefault(parent, {parent}).add(category_id)
            seen.add(parent)
            parent = parents.get(parent)
    return result


def purchase_tags(
    *,
    lines: pd.DataFrame,
    rules: Iterable[CategoryRule],
    parents: Mapping[int, int | None],
) -> list[TagSuggestion]:
    """One suggestion per (member, tag) where the member placed at least `min_purchases`
    orders containing the rule's category (or a category below it) among `lines`.

    `lines` has columns member_id, order_id, category_id (already limited to the window).
    When several rules of one tag match, the facts name the rule with the most orders
    (then the category name): `{"code": "purchases", "category_id": ..., "category": ...,
    "count": ...}`.
    """
    # pandas only here: the chat tokenizer above is imported by the knowledge base's search,
    # which the admin loads at django.setup(); the tags' frames are the nightly job's.
    import pandas as pd

    rules = list(rules)
    if not rules or lines.empty:
        return []
    descendants = category_descendants(parents)
    mapping = pd.DataFrame(
        [
            (index, category_id)
            for index, rule in enumerate(rules)
            for category_id in sorted(descendants.get(rule.category_id, {rule.category_id}))
        ],
        columns=["rule", "category_id"],
    )
    relevant = lines.loc[
        lines["category_id"].isin(mapping["category_id"]), ["member_id", "order_id", "category_id"]
    ]
    if relevant.empty:
        return []
    matched = relevant.merge(mapping, on="category_id")[["rule", "member_id", "order_id"]]
    counts = matched.drop_duplicates().groupby(["rule", "member_id"]).size().rename("orders")
    counts = counts.reset_index()
    minimum = np.array([rule.min_purchases for rule in rules])
    counts = counts.loc[counts["orders"].to_numpy() >= minimum[counts["rule"].to_numpy()]]
    counts["tag_id"] = [rules[index].tag_id for index in counts["rule"].tolist()]
    counts["name"] = [rules[index].category_name for index in counts["rule"].tolist()]
    counts["category_id"] = [rules[index].category_id for index in counts["rule"].tolist()]
    counts = counts.sort_values(
        ["member_id", "tag_id", "orders", "name"],
        ascending=[True, True, False, True],
        kind="mergesort",
    ).drop_duplicates(["member_id", "tag_id"])
    return [
        TagSuggestion(
            member_id=int(member_id),
            tag_id=int(tag_id),
            facts={
                "code": "purchases",
                "category_id": int(category_id),
                "category": name,
                "count": int(orders),
            },
        )
        for member_id, tag_id, name, category_id, orders in zip(
            counts["member_id"].tolist(),
            counts["tag_id"].tolist(),
            counts["name"].tolist(),
            counts["category_id"].tolist(),
            counts["orders"].tolist(),
            strict=True,
        )
    ]
