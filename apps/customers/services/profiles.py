"""360° member profiles and automatic scene tags, recomputed for all members at once.

`member_profiles_recompute` reads everything it needs with a handful of set-wise queries
(order lines through `apps.stores.selectors`, streamed with COPY on PostgreSQL), computes with
the pure functions in `apps.customers.analytics`, and writes with bulk upserts. See
docs/profiles.md for every formula.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from decimal import Decimal
from functools import reduce
from operator import or_
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.catalog.models import Category
from apps.customers.analytics import profiles as profile_math
from apps.customers.analytics import tagging
from apps.customers.models import (
    CommunityMessage,
    Member,
    MemberProfile,
    MemberTag,
    NpsAnswer,
    Tag,
    TagCategoryRule,
    TagKeyword,
)
from apps.stores.selectors import member_lifetime_order_facts, member_order_line_facts_between

logger = logging.getLogger(__name__)

AUTO_SOURCES = (MemberTag.Source.CHAT, MemberTag.Source.PURCHASE)
WRITE_BATCH = 2_000

# The tags and chat keywords a fresh installation starts with (HQ edits them in the admin).
DEFAULT_TAG_KEYWORDS: dict[str, tuple[str, ...]] = {
    "有孩家庭": ("孩子", "宝宝", "辅食", "奶粉", "幼儿园"),
    "健身人群": ("健身", "减脂", "蛋白", "增肌", "跑步"),
    "宠物主人": ("猫粮", "狗粮", "猫砂", "铲屎官"),
}


@dataclass(frozen=True)
class ProfileRecomputeStats:
    as_of: str
    members: int
    order_lines: int
    profiles_written: int
    profiles_removed: int
    chat_tags: int
    purchase_tags: int
    tags_created: int
    tags_replaced: int
    tags_removed: int
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def profile_as_of_default() -> dt.datetime:
    """Local midnight at the start of today: profiles describe the 90 full days before it, so
    every run on the same day computes exactly the same rows."""
    today = timezone.localdate()
    return dt.datetime.combine(today, dt.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def tag_defaults_ensure() -> int:
    """Create the default scene tags and their chat keywords where missing; return how many
    keywords were created. Idempotent; never changes or removes what HQ edited."""
    created = 0
    with transaction.atomic():
        for tag_name, keywords in DEFAULT_TAG_KEYWORDS.items():
            tag, _created = Tag.objects.get_or_create(
                name=tag_name, defaults={"category": Tag.Category.SCENE}
            )
            existing = set(TagKeyword.objects.filter(tag=tag).values_list("keyword", flat=True))
            missing = [
                TagKeyword(tag=tag, keyword=word) for word in keywords if word not in existing
            ]
            TagKeyword.objects.bulk_create(missing, ignore_conflicts=True)
            created += len(missing)
    return created


# --- set-wise reading ------------------------------------------------------------------------


def _frame(queryset: QuerySet, columns: list[str]) -> pd.DataFrame:
    """Materialise a values_list queryset as a frame of raw values.

    On PostgreSQL the query's own SQL is streamed with `COPY … TO STDOUT` (CSV) straight into
    pandas, which is several times faster than building Python tuples; on SQLite the same SQL
    runs on the raw cursor (no per-value ORM conversion); elsewhere it is iterated in chunks.
    Values come back as text/float on the COPY and SQLite paths, so callers convert columns
    with `_as_utc` and `_as_cents`, which accept both forms.
    """
    connection = connections[queryset.db]
    if connection.vendor == "postgresql":
        sql, params = queryset.query.sql_with_params()
        buffer = io.BytesIO()
        with connection.cursor() as cursor:
            raw_cursor = cursor.cursor
            with raw_cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                for chunk in copy:
                    buffer.write(chunk)
        buffer.seek(0)
        if buffer.getbuffer().nbytes == 0:
            return pd.DataFrame({column: [] for column in columns})
        return pd.read_csv(
            buffer, header=None, names=columns, keep_default_na=False, na_values=[""]
        )
    if connection.vendor == "sqlite":
        # The query's own SQL without the ORM's per-value converters (a million order lines'
        # timestamps and amounts made into datetimes and Decimals took most of the read):
        # SQLite gives timestamps as UTC text and amounts as numbers, which `_as_utc` and
        # `_as_cents` convert column-wise, as on the COPY path.
        try:
            sql, params = queryset.query.sql_with_params()
        except EmptyResultSet:  # e.g. `__in=[]`: Django knows there is no row
            return pd.DataFrame({column: [] for column in columns})
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return pd.DataFrame.from_records(rows, columns=columns)
    rows = list(queryset.iterator(chunk_size=10_000))
    return pd.DataFrame.from_records(rows, columns=columns)


def _as_utc(values: pd.Series) -> pd.Series:
    if values.empty:
        return pd.Series(pd.DatetimeIndex([], tz="UTC"), index=values.index)
    return pd.to_datetime(values, utc=True, format="ISO8601")


def _as_cents(values: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(values.map(float) if values.dtype == object else values)
    return np.rint(numbers.to_numpy(dtype="float64") * 100).astype(np.int64)


def _as_int(values: pd.Series) -> pd.Series:
    return values.astype(np.int64) if not values.empty else values.astype("int64")


def _profile_inputs(*, as_of: dt.datetime) -> tuple[profile_math.ProfileInputs, pd.DataFrame]:
    """Read everything the profile needs; returns the inputs and the raw window lines."""
    start = profile_math.window_start(as_of)
    members = _frame(
        Member.objects.filter(is_erased=False).order_by("pk").values_list("pk", "joined_at"),
        ["member_id", "joined_at"],
    )
    members["member_id"] = _as_int(members["member_id"])
    members["joined_at"] = _as_utc(members["joined_at"])

    raw = _frame(
        member_order_line_facts_between(start=start, end=as_of),
        ["member_id", "order_id", "placed_at", "category_id", "line_total", "discount"],
    )
    lines = pd.DataFrame(
        {
            "member_id": _as_int(raw["member_id"]),
            "order_id": _as_int(raw["order_id"]),
            "placed_at": _as_utc(raw["placed_at"]),
            "category_id": _as_int(raw["category_id"]),
            "line_cents": _as_cents(raw["line_total"]),
            "discounted": _as_cents(raw["discount"]) > 0,
        }
    )

    raw_lifetime = _frame(
        member_lifetime_order_facts(before=as_of),
        ["member_id", "first_order_at", "last_order_at", "orders", "spend"],
    )
    lifetime = pd.DataFrame(
        {
            "member_id": _as_int(raw_lifetime["member_id"]),
            "first_order_at": _as_utc(raw_lifetime["first_order_at"]),
            "last_order_at": _as_utc(raw_lifetime["last_order_at"]),
            "orders": _as_int(raw_lifetime["orders"]),
            # An order without lines has no spend (SUM over no line is NULL).
            "spend_cents": _as_cents(raw_lifetime["spend"].fillna(0)),
        }
    )
    last_orders = lifetime[["member_id", "last_order_at"]]

    nps = _frame(
        NpsAnswer.objects.filter(answered_at__lt=as_of)
        .order_by()
        .values_list("member_id", "score", "answered_at", "pk"),
        ["member_id", "score", "answered_at", "answer_id"],
    )
    nps["member_id"] = _as_int(nps["member_id"])
    nps["score"] = _as_int(nps["score"])
    nps["answered_at"] = _as_utc(nps["answered_at"])
    nps["answer_id"] = _as_int(nps["answer_id"])

    category_names = dict(Category.objects.values_list("pk", "name"))
    inputs = profile_math.ProfileInputs(
        members=members,
        lines=lines,
        last_orders=last_orders,
        nps=nps,
        category_names=category_names,
        lifetime=lifetime,
    )
    return inputs, lines


def _chat_messages(*, start: dt.datetime, end: dt.datetime, keywords: list[str]) -> Iterator:
    if not keywords:
        return iter(())
    contains_any = reduce(or_, (Q(text__icontains=keyword) for keyword in keywords))
    rows = (
        CommunityMessage.objects.filter(
            contains_any,
            sent_at__gte=start,
            sent_at__lt=end,
            member__isnull=False,
            member__is_erased=False,
        )
        .order_by()
        .values_list("pk", "member_id", "text", "sent_at")
        .iterator(chunk_size=5_000)
    )
    return (
        tagging.ChatMessage(message_id=pk, member_id=member_id, text=text, sent_at=sent_at)
        for pk, member_id, text, sent_at in rows
    )


# --- computing the automatic tags ------------------------------------------------------------


def _tag_suggestions(
    *, lines: pd.DataFrame, member_ids: set[int], as_of: dt.datetime
) -> tuple[list[tagging.TagSuggestion], list[tagging.TagSuggestion]]:
    start = profile_math.window_start(as_of)
    local_zone = ZoneInfo(settings.TIME_ZONE)

    tags_by_keyword: dict[str, set[int]] = {}
    for keyword, tag_id in TagKeyword.objects.values_list("keyword", "tag_id"):
        normalised = tagging.keyword_normalise(keyword)
        if normalised:
            tags_by_keyword.setdefault(normalised, set()).add(tag_id)
    chat = tagging.chat_tags(
        messages=_chat_messages(start=start, end=as_of, keywords=sorted(tags_by_keyword)),
        tags_by_keyword=tags_by_keyword,
        local_date=lambda moment: moment.astimezone(local_zone).date(),
    )

    categories = list(Category.objects.values_list("pk", "name", "parent_id"))
    names = {pk: name for pk, name, _parent in categories}
    rules = [
        tagging.CategoryRule(
            tag_id=tag_id,
            category_id=category_id,
            category_name=names.get(category_id, ""),
            min_purchases=min_purchases,
        )
        for tag_id, category_id, min_purchases in TagCategoryRule.objects.order_by(
            "pk"
        ).values_list("tag_id", "category_id", "min_purchases")
    ]
    purchases = tagging.purchase_tags(
        lines=lines[["member_id", "order_id", "category_id"]],
        rules=rules,
        parents={pk: parent for pk, _name, parent in categories},
    )
    chat = [suggestion for suggestion in chat if suggestion.member_id in member_ids]
    purchases = [suggestion for suggestion in purchases if suggestion.member_id in member_ids]
    return chat, purchases


# --- writing ---------------------------------------------------------------------------------


PROFILE_FIELDS = [
    "recency_days",
    "frequency_90d",
    "spend_90d",
    "average_basket",
    "top_categories",
    "price_sensitivity",
    "usual_hours",
    "monthly_repurchase_rate",
    "first_purchase_at",
    "last_purchase_at",
    "orders_lifetime",
    "spend_lifetime",
    "trust_score",
    "trust_level",
    "computed_at",
]


def _decimal_text(units: np.ndarray, places: int) -> list[str]:
    """Exact decimal strings for non-negative integers in 1/10**places (12345, 2 → "123.45")."""
    scale = 10**places
    return [f"{value // scale}.{value % scale:0{places}d}" for value in units.tolist()]


def _iso_or_none(values: pd.Series) -> list[str | None]:
    """ISO 8601 text of UTC timestamps; None for NaT (written as NULL)."""
    return [None if pd.isna(value) else value.isoformat() for value in values.tolist()]


def _profile_rows(*, computed: pd.DataFrame, as_of: dt.datetime) -> pd.DataFrame:
    """The profile table's columns as text/JSON, ready for COPY or for model instances."""
    repurchase_bp = profile_math.round_half_up_div(
        computed["repurchase_windows"].to_numpy(dtype=np.int64) * 10_000,
        np.full(len(computed), profile_math.REPURCHASE_WINDOWS, dtype=np.int64),
    )
    recency = computed["recency_days"].to_numpy()
    return pd.DataFrame(
        {
            "member_id": computed.index.to_numpy(dtype=np.int64),
            "recency_days": pd.Series(recency, dtype="float64").astype("Int64"),
            "frequency_90d": computed["frequency_90d"].to_numpy(dtype=np.int64),
            "spend_90d": _decimal_text(computed["spend_cents"].to_numpy(dtype=np.int64), 2),
            "average_basket": _decimal_text(
                computed["average_basket_cents"].to_numpy(dtype=np.int64), 2
            ),
            "top_categories": [
                json.dumps(value, ensure_ascii=False) for value in computed["top_categories"]
            ],
            "price_sensitivity": _decimal_text(
                computed["price_sensitivity_bp"].to_numpy(dtype=np.int64), 4
            ),
            "usual_hours": [json.dumps(value) for value in computed["usual_hours"]],
            "monthly_repurchase_rate": _decimal_text(repurchase_bp, 4),
            "first_purchase_at": _iso_or_none(computed["first_purchase_at"]),
            "last_purchase_at": _iso_or_none(computed["last_purchase_at"]),
            "orders_lifetime": computed["lifetime_orders"].to_numpy(dtype=np.int64),
            "spend_lifetime": _decimal_text(
                computed["lifetime_spend_cents"].to_numpy(dtype=np.int64), 2
            ),
            "trust_score": _decimal_text(computed["trust_hundredths"].to_numpy(dtype=np.int64), 2),
            "trust_level": computed["trust_level"].to_numpy(dtype=np.int64),
            "computed_at": as_of.isoformat(),
        }
    )


def _profiles_upsert_postgres(*, rows: pd.DataFrame, connection: object) -> None:
    """COPY into a temporary staging table, then one INSERT … ON CONFLICT DO UPDATE that skips
    rows whose values did not change (a same-day rerun rewrites nothing)."""
    quote = connection.ops.quote_name
    meta = MemberProfile._meta
    columns = ["member_id", *PROFILE_FIELDS]
    db_columns = [meta.get_field(name).column for name in columns]
    stage = "customers_profile_stage"
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {quote(stage)} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {', '.join(quote(column) for column in db_columns)} "
            f"FROM {quote(meta.db_table)} WITH NO DATA"
        )
        buffer = io.StringIO()
        rows[columns].to_csv(buffer, index=False, header=False, na_rep="\\N")
        column_list = ", ".join(quote(column) for column in db_columns)
        with cursor.cursor.copy(
            f"COPY {quote(stage)} ({column_list}) FROM STDIN WITH (FORMAT csv, NULL '\\N')"
        ) as copy:
            copy.write(buffer.getvalue())
        updated = db_columns[1:]
        target = quote(meta.db_table)
        cursor.execute(
            f"INSERT INTO {target} ({column_list}) "  # noqa: S608
            f"SELECT {column_list} FROM {quote(stage)} "
            f"ON CONFLICT ({quote(db_columns[0])}) DO UPDATE SET "
            + ", ".join(f"{quote(column)} = EXCLUDED.{quote(column)}" for column in updated)
            + f" WHERE ({', '.join(f'{target}.{quote(column)}' for column in updated)})"
            f" IS DISTINCT FROM ({', '.join(f'EXCLUDED.{quote(column)}' for column in updated)})"
        )
        cursor.execute(f"DROP TABLE {quote(stage)}")


def _profiles_write(*, computed: pd.DataFrame, as_of: dt.datetime) -> int:
    """Upsert one profile per computed member: COPY + INSERT … ON CONFLICT on PostgreSQL,
    `bulk_create(update_conflicts=True)` in batches elsewhere. Call inside a transaction."""
    rows = _profile_rows(computed=computed, as_of=as_of)
    connection = connections[MemberProfile.objects.db]
    if connection.vendor == "postgresql":
        _profiles_upsert_postgres(rows=rows, connection=connection)
        return len(rows)
    recency = rows["recency_days"].tolist()
    profiles = [
        MemberProfile(
            member_id=member_id,
            recency_days=None if recency_days is pd.NA else int(recency_days),
            frequency_90d=frequency,
            spend_90d=Decimal(spend),
            average_basket=Decimal(basket),
            top_categories=json.loads(top_categories),
            price_sensitivity=Decimal(sensitivity),
            usual_hours=json.loads(usual_hours),
            monthly_repurchase_rate=Decimal(repurchase),
            first_purchase_at=None if pd.isna(first) else dt.datetime.fromisoformat(first),
            last_purchase_at=None if pd.isna(last) else dt.datetime.fromisoformat(last),
            orders_lifetime=orders_lifetime,
            spend_lifetime=Decimal(spend_lifetime),
            trust_score=Decimal(trust),
            trust_level=level,
            computed_at=as_of,
        )
        for (
            member_id,
            recency_days,
            frequency,
            spend,
            basket,
            top_categories,
            sensitivity,
            usual_hours,
            repurchase,
            first,
            last,
            orders_lifetime,
            spend_lifetime,
            trust,
            level,
        ) in zip(
            rows["member_id"].tolist(),
            recency,
            rows["frequency_90d"].tolist(),
            rows["spend_90d"],
            rows["average_basket"],
            rows["top_categories"],
            rows["price_sensitivity"],
            rows["usual_hours"],
            rows["monthly_repurchase_rate"],
            rows["first_purchase_at"],
            rows["last_purchase_at"],
            rows["orders_lifetime"].tolist(),
            rows["spend_lifetime"],
            rows["trust_score"],
            rows["trust_level"].tolist(),
            strict=True,
        )
    ]
    MemberProfile.objects.bulk_create(
        profiles,
        batch_size=WRITE_BATCH,
        update_conflicts=True,
        unique_fields=["member"],
        update_fields=PROFILE_FIELDS,
    )
    return len(profiles)


@dataclass(frozen=True)
class _TagChanges:
    created: int
    replaced: int
    removed: int


# The sentences the recompute wrote as a tag's evidence before facts were stored, in the
# shapes migration customers.0008 reads them (frozen there; kept in step with it).
_OLD_SENTENCES = [
    re.compile(r"^聊天[：:]\s*[“\"](?P<text>.*)[”\"]\s*[（(](?P<day>\d{4}-\d\d-\d\d)[）)]$"),
    re.compile(r"^Chat:\s*\"(?P<text>.*)\"\s*\((?P<day>\d{4}-\d\d-\d\d)\)$"),
    re.compile(r"^购买[：:]\s*(?P<category>.+?)\s*×\s*(?P<count>\d+)$"),
    re.compile(r"^Purchases:\s*(?P<category>.+?)\s*×\s*(?P<count>\d+)$"),
]
# How each of them begins: what is left of one cut off at the evidence's length limit.
_OLD_SENTENCE_START = re.compile(r"^(?:聊天[：:]\s*[“\"]|Chat:\s*\"|购买[：:]|Purchases:)")


def _old_sentences_removed(text: str) -> str:
    """`text`, an automatic tag's evidence from before facts, without the recompute's own
    sentences of the time; what is left is a note (typed by staff, or merged in from another
    tag), kept as written.

    As migration customers.0008 reads it: a merge joined texts with "; " (a quote may contain
    "; " too), so the text is cut at "; " into the shortest pieces that each read as an old
    sentence. Unlike the migration, a piece that does not read is kept rather than the whole
    text, except a last one that begins like a sentence in a text cut at the length limit
    (ending in "…", or 255 characters long): the cut-off end of a sentence."""
    pieces = (text or "").split("; ")
    cut_off = text.endswith("…") or len(text) >= MemberTag._meta.get_field("evidence").max_length
    kept: list[str] = []
    start = 0
    while start < len(pieces):
        for end in range(start + 1, len(pieces) + 1):
            sentence = "; ".join(pieces[start:end]).strip()
            if any(pattern.match(sentence) for pattern in _OLD_SENTENCES):
                start = end
                break
        else:
            rest = "; ".join(pieces[start:]).strip()
            if cut_off and _OLD_SENTENCE_START.match(rest):
                break
            if pieces[start].strip():
                kept.append(pieces[start].strip())
            start += 1
    return "; ".join(kept)


def _auto_tags_write(
    *,
    chat: list[tagging.TagSuggestion],
    purchases: list[tagging.TagSuggestion],
    now: dt.datetime,
) -> _TagChanges:
    """Make the automatic tags (source chat/purchase) equal to the suggestions.

    Manual and imported tags are never touched: a suggestion for a pair that already carries a
    manual/import tag is dropped, deletes are conditioned on the source, and inserts ignore
    conflicts (a tag added by staff meanwhile wins). Unchanged rows are left alone, so a rerun
    writes nothing. The evidence is stored as facts (`evidence_facts`), worded when shown, and
    only the facts (and source) are compared: a changed row is updated in place, so it keeps
    its created_at and its `evidence` text (a note staff added in the admin). An automatic
    row without facts keeps its text too, less the recompute's own sentences of before facts
    that migration customers.0008 could not read back into facts (`_old_sentences_removed`):
    the facts replace those rather than being shown beside them, as each recompute of the time
    replaced its own sentence; a note typed on the row, or merged into it, stays.
    """
    desired: dict[tuple[int, int], tuple[str, list[dict]]] = {}
    for suggestion in purchases:
        desired[(suggestion.member_id, suggestion.tag_id)] = (
            MemberTag.Source.PURCHASE,
            [suggestion.facts],
        )
    for suggestion in chat:
        desired.setdefault(
            (suggestion.member_id, suggestion.tag_id),
            (MemberTag.Source.CHAT, [suggestion.facts]),
        )

    rows = (
        MemberTag.objects.order_by()
        .values_list("pk", "member_id", "tag_id", "source", "evidence_facts")
        .iterator(chunk_size=20_000)
    )
    existing = {
        (member_id, tag_id): (pk, source, facts) for pk, member_id, tag_id, source, facts in rows
    }
    to_create: list[MemberTag] = []
    to_update: list[MemberTag] = []
    # Rows from before facts: their old sentence goes with the first facts (see above).
    to_update_with_text: list[MemberTag] = []
    for (member_id, tag_id), (source, facts) in desired.items():
        current = existing.get((member_id, tag_id))
        if current is None:
            to_create.append(
                MemberTag(
                    member_id=member_id,
                    tag_id=tag_id,
                    source=source,
                    evidence_facts=facts,
                    created_at=now,
                )
            )
        elif current[1] in AUTO_SOURCES and not current[2]:
            to_update_with_text.append(
                MemberTag(pk=current[0], source=source, evidence_facts=facts)
            )
        elif current[1] in AUTO_SOURCES and (current[1], current[2]) != (source, facts):
            to_update.append(MemberTag(pk=current[0], source=source, evidence_facts=facts))
    for offset in range(0, len(to_update_with_text), WRITE_BATCH):
        batch = to_update_with_text[offset : offset + WRITE_BATCH]
        texts = dict(
            MemberTag.objects.filter(pk__in=[row.pk for row in batch]).values_list("pk", "evidence")
        )
        for row in batch:
            row.evidence = _old_sentences_removed(texts.get(row.pk, ""))
    stale = [
        current[0]
        for key, current in existing.items()
        if current[1] in AUTO_SOURCES and key not in desired
    ]
    for offset in range(0, len(stale), 5_000):
        MemberTag.objects.filter(
            pk__in=stale[offset : offset + 5_000], source__in=AUTO_SOURCES
        ).delete()
    # Conditioned on the source like the deletes: a row staff made manual meanwhile is kept.
    automatic = MemberTag.objects.filter(source__in=AUTO_SOURCES)
    replaced = automatic.bulk_update(
        to_update, ["source", "evidence_facts"], batch_size=WRITE_BATCH
    ) + automatic.bulk_update(
        to_update_with_text, ["source", "evidence_facts", "evidence"], batch_size=WRITE_BATCH
    )
    MemberTag.objects.bulk_create(to_create, batch_size=WRITE_BATCH, ignore_conflicts=True)
    return _TagChanges(created=len(to_create), replaced=replaced, removed=len(stale))


def member_profiles_recompute(*, as_of: dt.datetime | None = None) -> ProfileRecomputeStats:
    """Recompute every (non-erased) member's profile and automatic tags as of `as_of`.

    `as_of` defaults to local midnight today (see `profile_as_of_default`); the window is the
    90 days before it. Idempotent: the result depends only on the data and `as_of` (profiles
    store `as_of` as computed_at), so a rerun, a second beat or a redelivered task leaves
    identical rows. All writes happen in one transaction; readers see the old or new set.
    Erased members get no profile and no automatic tags (existing ones are removed).
    """
    started = time.perf_counter()
    as_of = as_of or profile_as_of_default()
    if timezone.is_naive(as_of):
        raise ValueError("as_of must be timezone-aware")

    inputs, lines = _profile_inputs(as_of=as_of)
    computed = profile_math.profiles_compute(inputs=inputs, as_of=as_of)
    window_lines = lines.loc[lines["member_id"].isin(computed.index)]
    chat, purchases = _tag_suggestions(
        lines=window_lines, member_ids=set(computed.index.tolist()), as_of=as_of
    )

    with transaction.atomic():
        written = _profiles_write(computed=computed, as_of=as_of)
        removed, _detail = MemberProfile.objects.filter(member__is_erased=True).delete()
        changes = _auto_tags_write(chat=chat, purchases=purchases, now=as_of)

    stats = ProfileRecomputeStats(
        as_of=as_of.isoformat(),
        members=len(computed),
        order_lines=len(lines),
        profiles_written=written,
        profiles_removed=removed,
        chat_tags=len(chat),
        purchase_tags=len(purchases),
        tags_created=changes.created,
        tags_replaced=changes.replaced,
        tags_removed=changes.removed,
        seconds=round(time.perf_counter() - started, 3),
    )
    logger.info("member profiles recomputed: %s", stats)
    return stats
